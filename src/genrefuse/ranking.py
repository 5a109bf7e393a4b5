"""Top-k recommendation metrics: precision@k, recall@k and NDCG@k (binary relevance)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp


def top_k(scores: np.ndarray, k: int, *, exclude: np.ndarray) -> np.ndarray:
    """Indices of the ``k`` best scores, best first, never one in ``exclude`` (already known)."""
    s = scores.astype(np.float64, copy=True)
    s[exclude] = -np.inf
    k = min(k, int(np.isfinite(s).sum()))
    if k <= 0:
        return np.zeros(0, int)
    top = np.argpartition(-s, k - 1)[:k]
    return top[np.argsort(-s[top], kind="stable")]


def positions_in(sorted_ids: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``ids``: its position in ``sorted_ids`` (ascending) and whether it is there (a binary search
    each: no set over all ids)."""
    ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64)
    if not len(sorted_ids):
        return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == ids


def evaluate(score_user: Callable[[int], np.ndarray], train: sp.csr_matrix, test: sp.csr_matrix, *,
             k: int = 10) -> dict:
    """Mean precision, recall and NDCG at ``k`` over users with held-out items; ``score_user(u)`` gives
    user ``u``'s scores of every item, and items in ``train`` are never recommended."""
    p, r, n = [], [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for u in range(train.shape[0]):
        truth = test.indices[test.indptr[u]:test.indptr[u + 1]]
        if not len(truth):
            continue
        rec = top_k(score_user(u), k, exclude=train.indices[train.indptr[u]:train.indptr[u + 1]])
        hit = np.isin(rec, truth).astype(float)
        p.append(hit.sum() / k)
        r.append(hit.sum() / len(truth))
        n.append((hit * discounts[:len(hit)]).sum() / discounts[:min(k, len(truth))].sum())
    return {f"precision_at_{k}": float(np.mean(p)), f"recall_at_{k}": float(np.mean(r)),
            f"ndcg_at_{k}": float(np.mean(n)), "users": len(p)}
