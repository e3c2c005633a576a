"""Benchmarking: which pairs (named sets, the synthetic set, folders), scored how, reported where.

- ``datasets``: the named test sets and how their files pair (folder listings only)
- ``selection``: ``--dataset`` / ``--input --target`` / ``--predictions`` to the work to do
- ``synthetic``: the synthetic set, built once from the shipped photos
- ``metrics``: PSNR and SSIM under a named protocol
- ``evaluate``: the run: restore, score, keep what the report needs; ``events``: what it reports (typed)
- ``report``: report.json, .csv, .md and .html; ``compare``: several reports in one table
"""
