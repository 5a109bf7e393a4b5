"""Datasets: layouts on disk, splits, the synthetic-genre generator, the feature cache."""
