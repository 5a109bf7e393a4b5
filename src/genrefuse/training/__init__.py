"""Training, evaluation and the written results of a run."""
