"""Benchmarks run as scripts (`python -m bench.<name>`), not as tests: they print figures for docs/."""
