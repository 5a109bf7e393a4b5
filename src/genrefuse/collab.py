"""Collaborative filtering: what listeners' likes (or plays) say about which items go together.

Two views of one user x item matrix of confidences, blended: implicit's alternating least squares
(latent factors) and item-item cosine similarity (neighbours). Each view is put on a 0..1 scale where
0 means no evidence, so that the blend, and its blend with the genre score, compare like with like. Stored without pickle: arrays in safetensors,
the rest in JSON.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .io import atomic_path

FORMAT = "genrefuse-cf"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CFParams:
    """Chosen on a validation split carved from HetRec's training part (benchmarks/recommend.py)."""

    factors: int = 32
    regularization: float = 0.05
    alpha: float = 2.0              # confidence = 1 + alpha * value
    iterations: int = 15
    knn_weight: float = 0.5         # weight of the neighbour view beside the factor view
    neighbours: int = 100           # similarities kept per item
    seed: int = 0


@dataclass
class CFModel:
    """Factors and neighbours of the items (and the users) seen at fitting time."""

    user_keys: list[int]
    item_keys: list[int]
    user_factors: np.ndarray            # (n_users, factors) float32
    item_factors: np.ndarray            # (n_items, factors) float32
    similarity: sp.csr_matrix           # (n_items, n_items) float32, the top neighbours of each item
    params: CFParams = field(default_factory=CFParams)

    def __post_init__(self):
        self._user_index = {k: i for i, k in enumerate(self.user_keys)}
        self._item_index = {k: i for i, k in enumerate(self.item_keys)}
        self.item_keys_array = np.asarray(self.item_keys, np.int64)

    def item_index(self, key: int) -> int | None:
        return self._item_index.get(key)

    def user_vector(self, user_key: int | None, items: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The user's factors: as fitted (``user_key`` given and known), else folded in from their items
        (a new user, or one whose likes changed since): the least-squares step ALS itself takes."""
        i = self._user_index.get(user_key) if user_key is not None else None
        if i is not None:
            return self.user_factors[i]
        V = self.item_factors
        conf = 1.0 + self.params.alpha * values
        Vi = V[items]
        A = V.T @ V + (Vi.T * (conf - 1.0)) @ Vi + self.params.regularization * np.eye(V.shape[1], dtype=V.dtype)
        return np.linalg.solve(A, (Vi.T * conf).sum(axis=1)).astype(np.float32)

    def scores(self, items: np.ndarray, values: np.ndarray, *, user_key: int | None = None) -> np.ndarray:
        """How strongly the listeners' behaviour recommends each item to a user who has ``items``
        (indices) with ``values``: the factor view's predicted preference (clipped to 0..1) and the
        neighbour view (scaled to 0..1 by its best item), blended; shape (n_items,), 0 = no evidence.
        An empty history gives zeros."""
        if not len(items):
            return np.zeros(len(self.item_keys), np.float32)
        factors = np.clip(self.item_factors @ self.user_vector(user_key, items, values), 0.0, 1.0)
        row = sp.csr_matrix((values.astype(np.float32), (np.zeros(len(items), int), items)),
                            shape=(1, len(self.item_keys)))
        neighbours = np.asarray((row @ self.similarity).todense()).ravel()
        top = float(neighbours.max())
        if top > 0:
            neighbours = neighbours / top
        w = self.params.knn_weight
        return ((factors + w * neighbours) / (1.0 + w)).astype(np.float32)

    def because(self, item: int, items: np.ndarray) -> int | None:
        """Of the user's ``items``, the one most similar to ``item`` (None when none is a neighbour)."""
        return self.because_many(np.array([item]), items)[0]

    def because_many(self, targets: np.ndarray, items: np.ndarray) -> list[int | None]:
        """:meth:`because` for each of ``targets`` (item indices), in one slice of the similarities."""
        if not len(items) or not len(targets):
            return [None] * len(targets)
        sims = self.similarity[items][:, np.asarray(targets, int)].toarray()        # (items, targets)
        best = sims.argmax(axis=0)
        return [int(items[b]) if sims[b, j] > 0 else None for j, b in enumerate(best)]


def item_similarity(matrix: sp.csr_matrix, *, neighbours: int) -> sp.csr_matrix:
    """Cosine similarity between the items (columns) of ``matrix``, keeping each item's top neighbours."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    unit = (matrix @ sp.diags(1.0 / norms)).tocsc().astype(np.float32)
    sim = (unit.T @ unit).tocsr()
    sim.setdiag(0)
    sim.eliminate_zeros()
    return _top_per_row(sim, neighbours)


def _top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        a, b = m.indptr[r], m.indptr[r + 1]
        if b - a > k:
            keep = a + np.argpartition(-m.data[a:b], k)[:k]
        else:
            keep = np.arange(a, b)
        rows.append(np.full(len(keep), r))
        cols.append(m.indices[keep])
        vals.append(m.data[keep])
    cat = (lambda xs, t: np.concatenate(xs).astype(t)) if rows else (lambda xs, t: np.zeros(0, t))
    return sp.csr_matrix((cat(vals, np.float32), (cat(rows, np.int64), cat(cols, np.int64))), shape=m.shape)


def fit(matrix: sp.csr_matrix, *, user_keys: list[int], item_keys: list[int],
        params: CFParams = CFParams()) -> CFModel:
    """Fit both views on a users x items matrix of values (likes: 1; plays: log(1 + count))."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # implicit warns that threaded BLAS slows ALS
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    model = AlternatingLeastSquares(factors=params.factors, regularization=params.regularization,
                                    alpha=params.alpha, iterations=params.iterations, random_state=params.seed,
                                    calculate_training_loss=False)
    import warnings

    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        # implicit checks OpenBLAS's configured threads, not the limit set here for the fit
        warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
        model.fit(matrix, show_progress=False)
    return CFModel(list(user_keys), list(item_keys), np.asarray(model.user_factors, np.float32),
                   np.asarray(model.item_factors, np.float32),
                   item_similarity(matrix, neighbours=params.neighbours), params)


def save(model: CFModel, folder: str | Path) -> Path:
    """``folder/cf.safetensors`` and ``folder/cf.json``, written as one atomic folder swap."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        s = model.similarity
        save_file({"user_factors": model.user_factors, "item_factors": model.item_factors,
                   "sim_data": s.data.astype(np.float32), "sim_indices": s.indices.astype(np.int64),
                   "sim_indptr": s.indptr.astype(np.int64)}, str(tmp / "cf.safetensors"))
        (tmp / "cf.json").write_text(json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION,
                                                 "params": asdict(model.params), "user_keys": model.user_keys,
                                                 "item_keys": model.item_keys}))
    return folder


def load(folder: str | Path) -> CFModel | None:
    """The model saved in ``folder``, or None when there is none (or it is of another format)."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    try:
        meta = json.loads((folder / "cf.json").read_text())
        arrays = load_file(str(folder / "cf.safetensors"))
    except (OSError, ValueError):
        return None
    if meta.get("format") != FORMAT or meta.get("format_version", 0) > FORMAT_VERSION:
        return None
    n = len(meta["item_keys"])
    sim = sp.csr_matrix((arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n))
    return CFModel(meta["user_keys"], meta["item_keys"], arrays["user_factors"], arrays["item_factors"], sim,
                   CFParams(**meta["params"]))
