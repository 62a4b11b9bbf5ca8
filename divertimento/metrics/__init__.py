"""Measure musicality, diversity and novelty of sets of windows; see docs/metrics.md."""
