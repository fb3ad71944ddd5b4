"""Benchmarks for `make bench`: each module's run() prints ratios measured in the same run."""
