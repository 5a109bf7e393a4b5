"""One interface for every fitted model: ``probabilities(mel=, table=, tags=) -> (n, n_genres)``.

Inputs are standardised already (the bundle does that); a model ignores the ones it does not read.
A single net, an ensemble (through :class:`TorchPredictor`), kNN/SVM and an ONNX Runtime session all
answer it, so callers never ask which kind they hold.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np


class Predictor(Protocol):
    def probabilities(self, *, mel: np.ndarray | None = None, table: np.ndarray | None = None,
                      tags: np.ndarray | None = None) -> np.ndarray:
        """Softmax probabilities ``(n, n_genres)``, float64, of ``mel`` ``(n, n_mels, n_frames)``,
        ``table`` ``(n, 57)`` and ``tags`` ``(n, 100)`` (each standardised, or None when unused)."""


def resolve_device(name: str):
    """``auto`` -> CUDA when present, else CPU; otherwise the named torch device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def as_tensor(a: np.ndarray | None):
    import torch

    return None if a is None else torch.from_numpy(np.ascontiguousarray(a, np.float32))


class TorchPredictor:
    """A GenreNet or GenreEnsemble in PyTorch, in batches of ``batch_size``."""

    def __init__(self, model, *, device: str = "auto", batch_size: int = 64):
        self.model, self.device, self.batch_size = model, resolve_device(device), batch_size

    def probabilities(self, *, mel=None, table=None, tags=None) -> np.ndarray:
        import torch

        model = self.model.to(self.device).eval()
        arrays = [a if branch is not None else None for a, branch in zip((mel, table, tags), (model.cnn, model.mlp, model.tags))]
        n = len(next(a for a in arrays if a is not None))
        out = []
        with torch.no_grad():
            for s in range(0, n, self.batch_size):
                batch = [None if a is None else as_tensor(a[s:s + self.batch_size]).to(self.device) for a in arrays]
                out.append(torch.softmax(model(*batch).float(), dim=1).cpu().numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, model.arch.n_classes))
