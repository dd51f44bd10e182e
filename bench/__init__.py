"""Benchmarks of a big Dangol instance: data generator, API measurements, one command for both.

See ``bench/README.md``. Run from the repository root: ``bench/run.sh --tickets 10000``.
"""
