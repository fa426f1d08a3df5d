"""Onset's benchmark: ingest throughput against a parse-only ceiling, and engine tick time.

Run it with `python -m bench` (or `make bench`); see bench/README.md for what each figure means.
This is a measurement, not a test: nothing here asserts a time.
"""
