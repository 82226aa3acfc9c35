"""Benchmarks: each script prints a table comparing the app with its raw-library baseline, measured in one run."""
