"""The engine: composes the network, the sampler, tiling and image I/O.

The engine never prints; it returns dataclasses and reports progress through
callbacks that the CLI renders.
"""
