"""The engine: composes the network, the sampler, tiling and image I/O.

The engine never prints; it returns dataclasses and reports progress as typed
events (:mod:`.events`) through one callback that the CLI renders.
"""
