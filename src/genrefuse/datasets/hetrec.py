"""HetRec 2011 Last.fm 2K (GroupLens): 1,892 users' play counts of 17,632 artists, and the usual
offline protocol: a seeded share of each user's artists held out.

Tab-separated files with a header and CRLF line ends (``user_artists.dat``: userID, artistID, weight).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import DataError

PLAYS = "user_artists.dat"


@dataclass
class Plays:
    users: np.ndarray        # (n,) row index of each (user, artist) pair
    items: np.ndarray        # (n,) column index
    counts: np.ndarray       # (n,) play counts
    user_ids: np.ndarray     # row index -> HetRec userID
    item_ids: np.ndarray     # column index -> HetRec artistID

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)

    def matrix(self, mask: np.ndarray) -> sp.csr_matrix:
        """Users x artists of log(1 + plays) over the pairs in ``mask`` (play counts are heavy-tailed)."""
        return sp.csr_matrix((np.log1p(self.counts[mask]).astype(np.float32), (self.users[mask], self.items[mask])),
                             shape=self.shape)


def load_plays(folder: str | Path) -> Plays:
    path = Path(folder) / PLAYS
    if not path.is_file():
        raise DataError(f"{folder}: no {PLAYS} here (the HetRec 2011 Last.fm 2K folder is expected)")
    raw = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.int64, ndmin=2)
    if raw.shape[1] != 3:
        raise DataError(f"{path}: expected 3 tab-separated columns (userID, artistID, weight)")
    user_ids, users = np.unique(raw[:, 0], return_inverse=True)
    item_ids, items = np.unique(raw[:, 1], return_inverse=True)
    return Plays(users, items, raw[:, 2].astype(np.float64), user_ids, item_ids)


def hold_out(users: np.ndarray, *, fraction: float = 0.2, seed: int = 0, within: np.ndarray | None = None) -> np.ndarray:
    """A mask of pairs held out: ``fraction`` of each user's pairs (among ``within``), rounded, seeded."""
    rng = np.random.default_rng(seed)
    within = np.ones(len(users), bool) if within is None else within
    held = np.zeros(len(users), bool)
    order = np.argsort(users, kind="stable")
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    for group in np.split(order, bounds):
        group = group[within[group]]
        k = int(round(fraction * len(group)))
        if k:
            held[rng.choice(group, k, replace=False)] = True
    return held
