"""Benchmarks, run by hand from the repository root: `.venv/bin/python -m bench.<name>`.

They are not tests; docs/benchmarks.md says what each measures and holds their results.
"""
