"""Familiarity: how close a track is to what a model was trained on, and "none of these" when it is far.

The score is the mean Euclidean distance to the ``k`` nearest training rows in the model's standardised
input space, the table's columns weighted by 0.5, the taggram means by 1 and the taggram spreads by 0.5.
It is turned into a familiarity in [0, 1] from the training data's own *held-out* distances (each training
track against the folds it was not in): the mean of the share of all of them at least as large and the
share of those of the predicted genre at least as large. The second half keeps a genre taught by a few
spread-out examples (a library's new genre) from calling its own tracks unknown; on the benchmark below it
cost 0.006 of AUROC. A track less familiar than the floor (0.05) is answered ``unknown``.

Chosen by measurement (``benchmarks/open_set.py``; leave one GTZAN genre out of the 443 fault-filtered
training tracks, blocked 5-fold CV, fold seeds 0-2): AUROC for "the track's genre is not one of the nine"
of the maximum probability 0.689, the energy score 0.606, the Mahalanobis distance to the nearest class
mean 0.838, the 5-NN distance unweighted 0.848, weighted as above 0.872 (pooled reference only; 0.868
with the per-genre half, fold seed 3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

K = 5
FLOOR = 0.05
# weights of the standardised inputs' parts (the table, the 50 taggram means, the 50 taggram spreads)
WEIGHTS = {"table": 0.5, "tag_mean": 1.0, "tag_std": 0.5}
N_TAGS = 50


def input_weights(*, table: int, tags: int) -> np.ndarray:
    """Per-column weights ``(table + tags,)`` of the standardised inputs a model reads."""
    w = [np.full(table, WEIGHTS["table"])]
    if tags:
        w += [np.full(N_TAGS, WEIGHTS["tag_mean"]), np.full(tags - N_TAGS, WEIGHTS["tag_std"])]
    return np.concatenate(w)


def knn_distance(rows: np.ndarray, queries: np.ndarray, *, k: int = K, exclude_self: bool = False,
                 block: int = 2048) -> np.ndarray:
    """Mean distance ``(n_queries,)`` from each of ``queries`` ``(n, d)`` to its ``k`` nearest ``rows``
    ``(m, d)``; ``exclude_self`` when ``queries`` are ``rows`` (leave-one-out)."""
    rows = np.asarray(rows, np.float64)
    queries = np.asarray(queries, np.float64)
    k = max(1, min(k, len(rows) - int(exclude_self)))
    sq = (rows * rows).sum(1)
    out = np.empty(len(queries))
    for s in range(0, len(queries), block):
        q = queries[s:s + block]
        d2 = (q * q).sum(1)[:, None] + sq[None] - 2 * q @ rows.T
        if exclude_self:
            d2[np.arange(len(q)), np.arange(s, s + len(q))] = np.inf
        part = np.partition(d2, k - 1, axis=1)[:, :k]
        out[s:s + block] = np.sqrt(np.maximum(part, 0)).mean(1)
    return out


def held_out_distances(rows: np.ndarray, folds: list[np.ndarray], *, k: int = K) -> np.ndarray:
    """Each row's k-NN distance to the rows outside its fold ``(n,)``; ``folds``: the test indices of
    each fold (rows in no fold get their leave-one-out distance)."""
    out = knn_distance(rows, rows, k=k, exclude_self=True)
    for test in folds:
        rest = np.setdiff1d(np.arange(len(rows)), test)
        if len(rest):
            out[test] = knn_distance(rows[rest], rows[test], k=k)
    return out


def _share_at_least(sorted_ref: np.ndarray, distance) -> np.ndarray:
    return 1.0 - np.searchsorted(sorted_ref, np.asarray(distance, np.float64), side="left") / max(len(sorted_ref), 1)


@dataclass
class Familiarity:
    """The reference rows ``(m, d)`` (standardised, weighted), each row's held-out distance ``(m,)`` and
    genre, ``k`` and the floor under which an answer is unknown."""

    rows: np.ndarray
    held_out: np.ndarray
    labels: list[str] | None = None
    k: int = K
    floor: float = FLOOR

    def __post_init__(self):
        self.reference = np.sort(np.asarray(self.held_out, np.float64))
        labels = np.asarray(self.labels if self.labels is not None else [], dtype=object)
        self.by_genre = {g: np.sort(self.held_out[labels == g]) for g in set(labels.tolist())} if len(labels) else {}

    def distance(self, weighted: np.ndarray) -> np.ndarray:
        return knn_distance(self.rows, weighted, k=self.k)

    def of_distance(self, distance: float | np.ndarray, genre: str | None = None) -> np.ndarray:
        """Familiarity of a distance: the share of all held-out distances at least as large, averaged with
        the share of ``genre``'s (when given and known); 1 close, 0 beyond all."""
        pooled = _share_at_least(self.reference, distance)
        own = self.by_genre.get(genre) if genre is not None else None
        return pooled if own is None or not len(own) else (pooled + _share_at_least(own, distance)) / 2

    def of_rows(self, weighted: np.ndarray, genre: str | None = None) -> float:
        """A track's familiarity from its weighted rows ``(n, d)`` (their mean distance; one row, the mean of
        its windows, in a bundle) and the genre it is predicted to be."""
        return float(self.of_distance(self.distance(weighted).mean(), genre))

    def config(self) -> dict:
        return familiarity_config(self.held_out, k=self.k, floor=self.floor)


def familiarity_config(held_out: np.ndarray, *, k: int = K, floor: float = FLOOR) -> dict:
    """What a model's ``config.json`` keeps of its familiarity: ``k``, the floor, the weights and each
    training row's held-out distance (the rows themselves are in ``training_rows.safetensors``)."""
    return {"k": k, "floor": floor, "weights": WEIGHTS, "held_out": [round(float(x), 5) for x in held_out],
            "method": f"mean distance to the {k} nearest training rows (standardised, weighted), as the mean of its "
                      "share among all training rows' held-out distances and among those of the predicted genre"}


def unknown_rate(familiarity: np.ndarray, floor: float = FLOOR) -> float:
    return float(np.mean(np.asarray(familiarity) < floor)) if len(familiarity) else 0.0
