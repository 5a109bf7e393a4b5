"""Approximate nearest tracks for large libraries: an HNSW graph (Spotify's voyager) over track embeddings.

Chosen by ``benchmarks/similar_scale.py`` among hnswlib, usearch, faiss-cpu and voyager: at a million tracks
all four answer in under a millisecond at recall@10 of about 0.97; voyager ships wheels (hnswlib builds from
source) and builds as fast as hnswlib. :class:`~genrefuse.library.similar.SimilarIndex` answers exactly until
its library reaches :data:`APPROXIMATE_FROM` tracks and this graph is built (in the background), then asks
the graph for candidates and ranks them by their exact cosine.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from ..errors import DataError

#: Tracks from which a service's similar-track index builds an approximate graph (below it, the exact scan
#: answers in a few ms: 41 ms p95 at a million tracks, measured).
APPROXIMATE_FROM = 100_000
M = 16                  #: graph degree
EF_CONSTRUCTION = 100   #: candidates kept while building
EF = 64                 #: candidates kept while searching (at least k)
REMEMBERED = 20_000     #: answers of :meth:`Approximate.search_many` kept per graph (a liked track's neighbours)


def available() -> bool:
    """Whether voyager is installed (the ``library`` extra brings it)."""
    try:
        import voyager  # noqa: F401
    except ImportError:
        return False
    return True


class Approximate:
    """An HNSW graph of unit vectors keyed by track id (inner product = cosine).

    ``put`` adds or replaces a track's vector, ``drop`` removes one, ``search`` gives up to ``k`` candidate ids,
    nearest first; its similarities are for ranking only (callers rank the candidates by the exact cosine).
    ``search_many`` remembers each vector's answer until the graph changes (a search of an unchanged graph gives
    the same answer again): a listener's likes are searched once, not on every request."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, *, threads: int | None = None):
        try:
            import voyager
        except ImportError as exc:
            raise DataError("approximate nearest tracks need voyager: pip install 'genrefuse[library]'") from exc
        self._voyager = voyager
        self.index = voyager.Index(voyager.Space.InnerProduct, num_dimensions=vectors.shape[1], M=M,
                                   ef_construction=EF_CONSTRUCTION, max_elements=max(len(ids), 1))
        self.live: set[int] = set()
        self._answers: OrderedDict[tuple[bytes, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0            # bumped by every change; an answer found before one is not kept
        self.put(ids, vectors, threads=threads)

    def __len__(self) -> int:
        return len(self.live)

    def put(self, ids: Iterable[int], vectors: np.ndarray, *, threads: int | None = None) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        self._changed()
        self.index.add_items(np.ascontiguousarray(vectors, np.float32), ids,
                             num_threads=threads or max(1, (os.cpu_count() or 2) - 1))
        self.live.update(ids)
        self._changed()

    def drop(self, track_id: int) -> None:
        if int(track_id) in self.live:
            self._changed()
            self.index.mark_deleted(int(track_id))
            self.live.discard(int(track_id))
            self._changed()

    def _changed(self) -> None:
        """Forget the remembered answers (before a change, and again after it: a search that ran meanwhile
        stores nothing)."""
        with self._lock:
            self._generation += 1
            self._answers.clear()

    def search(self, vector: np.ndarray, k: int) -> list[int] | None:
        """Up to ``k`` ids nearest ``vector``, nearest first; None where the graph cannot give ``k``."""
        ids = self._query(np.asarray(vector, np.float32), k)
        return None if ids is None else [int(i) for i in ids]

    def search_many(self, vectors: np.ndarray, k: int) -> np.ndarray | None:
        """The ids ``(n,)`` int64, ascending, among the ``k`` nearest of any of ``vectors`` ``(m, d)`` (one batched
        query); None where the graph cannot give ``k`` for each."""
        if not len(vectors):
            return np.zeros(0, np.int64)
        vectors = np.ascontiguousarray(vectors, np.float32)
        keys = [(v.tobytes(), k) for v in vectors]
        with self._lock:
            generation = self._generation
            known = {key: self._answers.get(key) for key in keys}
            for key in keys:
                if known[key] is not None:
                    self._answers.move_to_end(key)          # the least recently asked go first
        missing = [i for i, key in enumerate(keys) if known[key] is None]
        if missing:
            found = self._query(vectors[missing], k)
            if found is None:
                return None
            with self._lock:
                for i, row in zip(missing, found.reshape(len(missing), -1)):
                    known[keys[i]] = row
                    if generation == self._generation:
                        self._answers[keys[i]] = row
                        if len(self._answers) > REMEMBERED:
                            self._answers.popitem(last=False)
        return np.unique(np.concatenate([known[key] for key in keys])).astype(np.int64)

    def _query(self, vectors: np.ndarray, k: int) -> np.ndarray | None:
        """voyager's ids of the ``min(k, live)`` nearest of ``vectors`` (one or many), or None where it finds
        fewer."""
        k = min(k, len(self.live))
        if k <= 0:
            return np.zeros(0, np.uint64)
        try:
            return self.index.query(vectors, k=k, query_ef=max(EF, k))[0]
        except self._voyager.RecallError:
            return None
