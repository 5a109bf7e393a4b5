"""Models: the paper's CNN and MLP branches, their fusion, and the classic baselines."""
