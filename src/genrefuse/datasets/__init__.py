"""Datasets: layouts on disk, splits, the synthetic-genre generator, the feature cache."""

SPLITS = ("random", "kfold", "fault-filtered")     # the split choices of training commands (splits.py)
