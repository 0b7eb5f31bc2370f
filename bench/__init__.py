"""Benchmarks: `make bench` (python -m bench.run). Report in bench/README.md."""
