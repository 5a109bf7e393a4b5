"""Familiarity: how close a track is to what a model was trained on, and "none of these" when it is far.

The score is the mean Euclidean distance to the ``k`` nearest training rows in the model's standardised
input space, the table's columns weighted by 0.5, the taggram means by 1 and the taggram spreads by 0.5.
It is turned into a familiarity in [0, 1]: the share of the training data's own *held-out* distances (each
training track against the folds it was not in) that are at least as large. A track less familiar than
the floor (0.05: farther than 95% of held-out known tracks) is answered ``unknown``.

Chosen by measurement (``benchmarks/open_set.py``; leave one GTZAN genre out of the 443 fault-filtered
training tracks, blocked 5-fold CV, fold seeds 0-2): AUROC for "the track's genre is not one of the nine"
of the maximum probability 0.689, the energy score 0.606, the Mahalanobis distance to the nearest class
mean 0.838, the 5-NN distance unweighted 0.848, weighted as above 0.872.
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


@dataclass
class Familiarity:
    """The reference rows ``(m, d)`` (standardised, weighted), the held-out distances ``(r,)`` sorted,
    ``k`` and the floor under which an answer is unknown."""

    rows: np.ndarray
    reference: np.ndarray
    k: int = K
    floor: float = FLOOR

    def distance(self, weighted: np.ndarray) -> np.ndarray:
        return knn_distance(self.rows, weighted, k=self.k)

    def of_distance(self, distance: float | np.ndarray) -> np.ndarray:
        """The share of held-out reference distances at least ``distance``: 1 close, 0 beyond all."""
        ref = self.reference
        return 1.0 - np.searchsorted(ref, np.asarray(distance, np.float64), side="left") / max(len(ref), 1)

    def of_rows(self, weighted: np.ndarray) -> float:
        """A track's familiarity from its windows' weighted rows ``(n_windows, d)`` (their mean distance)."""
        return float(self.of_distance(self.distance(weighted).mean()))

    def config(self) -> dict:
        return {"k": self.k, "floor": self.floor, "weights": WEIGHTS, "reference": [round(float(x), 5) for x in self.reference],
                "method": f"mean distance to the {self.k} nearest training rows (standardised, weighted), as a share of the "
                          "training data's held-out distances"}


def unknown_rate(familiarity: np.ndarray, floor: float = FLOOR) -> float:
    return float(np.mean(np.asarray(familiarity) < floor)) if len(familiarity) else 0.0
