"""The performance suite: ``python -m bench`` (see docs/performance.md).

Every row times opsbooks and a baseline (what a user would run instead, or the least
the work itself costs) in the same run, interleaved, and reports the ratio of medians:
absolute times on a shared 2-core machine drift by tens of percent from one minute to
the next, ratios of interleaved runs much less.
"""
