"""Music like this: the tracks of a library nearest a seed by their audio embedding
(:mod:`genrefuse.preprocess.embedding`), and a radio that walks from a seed to similar tracks.

Each track keeps its embedding with its row (``Track.embedding``: the recipe and the unit vector), stored at
ingest; a track stored before, or under another recipe, gets one on demand (:func:`fill_embeddings`: from
the library's cached features where they hold both taggers, else by analysing its file once). Nearest
tracks come from a :class:`SimilarIndex` kept in memory: one matrix-vector product and a partial sort, exact;
a service's index, once its library holds :data:`~genrefuse.library.approximate.APPROXIMATE_FROM` tracks, also
builds an approximate graph in the background (:mod:`genrefuse.library.approximate`) and then takes its
candidates from it, ranked by their exact cosine.

The radio starts from the seed and each next track is the unplayed one most similar to both the seed and
the track before it (the mean of the two similarities: it moves on without drifting away), never by the
same artist as the track before it, never the same recording twice.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select

from ..errors import AudioError, DataError, GenrefuseError, GoneError, NotFoundError
from ..fingerprint import audio_hash
from ..preprocess.embedding import DIM, RECIPE, embedding
from ..ranking import positions_in, top_k
from . import approximate as ann
from .db import Track, removed_since
from .features import load_features, save_features

log = logging.getLogger(__name__)


def record(vector: np.ndarray) -> dict:
    """What a track's row keeps: ``{"recipe", "vector"}`` (5 decimals: a unit vector's cosines move < 1e-4)."""
    return {"recipe": RECIPE, "vector": [round(float(x), 5) for x in vector]}


def record_of(inputs) -> dict | None:
    """:func:`record` of a track's model inputs, or None where they hold no embedding (a model that reads no
    musicnn taggram)."""
    vector = embedding(inputs)
    return None if vector is None else record(vector)


def stored(track: Track) -> np.ndarray | None:
    """A track's embedding when it has one of the current recipe, else None."""
    e = track.embedding
    if not e or e.get("recipe") != RECIPE or len(e.get("vector") or ()) != DIM:
        return None
    return np.asarray(e["vector"], np.float32)


def _artist(track: Track) -> str | None:
    return " ".join(track.artist.lower().split()) if track.artist else None


_COLUMNS = (Track.id, Track.embedding, Track.artist, Track.audio_hash)     # what the index keeps of a row


def _arrays(tracks: list) -> tuple[tuple[np.ndarray, np.ndarray, list, list], set[int]]:
    """Of tracks (rows or :class:`Track` objects), each embedding read once: the ids, embeddings ``(n, 100)``,
    artists and recordings of those with an embedding of the current recipe, and the ids of those without."""
    vectors = [stored(t) for t in tracks]
    kept = [(t, v) for t, v in zip(tracks, vectors) if v is not None]
    return ((np.array([int(t.id) for t, _ in kept], np.int64),
             np.stack([v for _, v in kept]) if kept else np.zeros((0, DIM), np.float32),
             [_artist(t) for t, _ in kept], [t.audio_hash for t, _ in kept]),
            {int(t.id) for t, v in zip(tracks, vectors) if v is None})


@dataclass(frozen=True)
class Rows:
    """The indexed tracks at one moment: their ids ``(n,)`` (ascending), unit embeddings ``(n, 100)``, artists
    and recordings (audio hashes), position for position. An index replaces its rows whole on every change
    and never changes them in place, so a reader that takes :attr:`SimilarIndex.rows` once sees parts that
    belong together while another thread adds or removes tracks."""

    ids: np.ndarray
    vectors: np.ndarray
    artists: tuple = ()
    recordings: tuple = ()

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Iterable[int]) -> np.ndarray:
        """Positions of those of ``ids`` that are here, in their order (a binary search each)."""
        pos, found = positions_in(self.ids, list(ids))
        return pos[found]

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of every track here to ``vector`` ``(n,)``."""
        return self.vectors @ np.asarray(vector, np.float32)


_NO_ROWS = Rows(np.zeros(0, np.int64), np.zeros((0, DIM), np.float32))


class SimilarIndex:
    """Every embedded track's id, artist and embedding, in memory, in id order; topped up from the database.

    Tracks seen without an embedding (``pending``) are looked at again, at most every :attr:`RECHECK_SECONDS`,
    so that embeddings made elsewhere (`genrefuse similar` beside a running server) join the index.

    With ``approximate=True`` (the service's index), an index of at least :attr:`approximate_from` tracks builds an
    approximate graph in a background thread (when voyager is installed); until it is built, and wherever it
    cannot give enough candidates, :meth:`nearest` scans exactly."""

    RECHECK_SECONDS = 30.0
    RECHECK_BATCH = 2000     # pending tracks looked at again per recheck (a library of a million unembedded
                             # tracks must not be read whole every 30 s)
    PAGE = 5000              # rows read at a time

    def __init__(self, *, approximate: bool = False, approximate_from: int = ann.APPROXIMATE_FROM):
        self.approximate = approximate and ann.available()
        self.approximate_from = approximate_from
        self.graph: ann.Approximate | None = None      # built once the library is large enough
        self._changes: set[int] | None = None           # ids added or removed while the graph was being built
        self._builder: threading.Thread | None = None
        self.rows = _NO_ROWS                             # replaced whole, under the lock (see Rows)
        self._copies: dict[str, set[int]] = {}          # a recording's audio hash -> its tracks' ids
        self.pending: set[int] = set()                   # tracks seen without an embedding of this recipe
        self._checked = 0.0
        self._last = 0
        self._recheck_from = 0
        self._removal = 0                               # the last removal (db.Removal) seen
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> np.ndarray:
        """The indexed ids ``(n,)``, ascending (one part of :attr:`rows`: read ``rows`` once to use several)."""
        return self.rows.ids

    @classmethod
    def of(cls, ids: np.ndarray, vectors: np.ndarray, **options) -> "SimilarIndex":
        """An index of ``ids`` (ascending) and their unit ``vectors`` ``(n, 100)``, without a database (benchmarks)."""
        index = cls(**options)
        index.rows = Rows(np.asarray(ids, np.int64), np.asarray(vectors, np.float32), (None,) * len(ids),
                          (None,) * len(ids))
        index._last = int(index.rows.ids[-1]) if len(ids) else 0
        return index

    def positions(self, ids: Iterable[int]) -> np.ndarray:
        """Positions of those of ``ids`` that are indexed now, in their order."""
        return self.rows.positions(ids)

    def refresh(self, session) -> "SimilarIndex":
        """Add the tracks stored since the last refresh (read :attr:`PAGE` rows at a time, only the columns the
        index keeps), and (every :attr:`RECHECK_SECONDS` at most) up to :attr:`RECHECK_BATCH` of those that
        were pending, in turn, that have an embedding now."""
        with self._lock:
            self._removal, gone = removed_since(session, self._removal)    # before the rows: none is missed
            self._drop(set(gone))
            pages = []
            while True:
                rows = session.execute(select(*_COLUMNS).where(Track.id > self._last).order_by(Track.id)
                                       .limit(self.PAGE)).all()
                if not rows:
                    break
                self._last = int(rows[-1].id)
                page, missing = _arrays(rows)
                self.pending |= missing
                pages.append(page)
                if len(rows) < self.PAGE:
                    break
            if self.pending and time.monotonic() - self._checked >= self.RECHECK_SECONDS:
                self._checked = time.monotonic()
                pages.append(self._recheck(session))
            if pages:
                self._append(*(np.concatenate([p[0] for p in pages]), np.concatenate([p[1] for p in pages]),
                               [a for p in pages for a in p[2]], [r for p in pages for r in p[3]]))
        self._maybe_build()
        return self

    def _recheck(self, session) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Up to :attr:`RECHECK_BATCH` pending tracks, from where the last recheck stopped: those with an
        embedding now leave ``pending`` (returned as :func:`_arrays` gives them), and so do removed ones."""
        ids = sorted(self.pending)
        start = int(np.searchsorted(ids, self._recheck_from))
        batch = (ids[start:] + ids[:start])[:self.RECHECK_BATCH]
        rows = []
        for s in range(0, len(batch), 500):
            rows += session.execute(select(*_COLUMNS).where(Track.id.in_(batch[s:s + 500]))).all()
        found, still = _arrays(rows)
        self.pending -= set(batch) - still                  # embedded now, or removed
        self._recheck_from = batch[-1] + 1 if batch else 0
        return found

    def _maybe_build(self) -> None:
        if (self.approximate and self.graph is None and self._builder is None
                and len(self) >= self.approximate_from):
            self._builder = threading.Thread(target=self.build_graph, name="similar-graph", daemon=True)
            self._builder.start()

    def wait_for_graph(self, timeout: float | None = None) -> bool:
        """Wait until a graph being built in the background is in use (at most ``timeout`` seconds); returns
        whether the index answers through a graph."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self.graph is not None

    def build_graph(self, *, threads: int | None = None) -> None:
        """Build the approximate graph of the tracks indexed now, then bring it up to date with what changed
        meanwhile (tracks added, replaced or removed) and start using it. Blocking (the service runs it in a
        thread; the index answers exactly until it ends)."""
        ids, vectors = self.snapshot()
        log.info("building an approximate similar-track graph of %d tracks", len(ids))
        started = time.monotonic()
        try:
            graph = ann.Approximate(ids, vectors, threads=threads)
        except Exception as exc:                   # noqa: BLE001 - the exact scan keeps answering
            log.warning("no approximate similar-track graph (%s); exact search goes on", exc)
            with self._lock:
                self._changes = None
            return
        self.catch_up(graph)
        log.info("approximate similar-track graph of %d tracks built in %.0f s", len(graph),
                 time.monotonic() - started)

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids and vectors a graph is built from; changes from now on are recorded for :meth:`catch_up`."""
        with self._lock:
            self._changes = set()
            rows = self.rows                          # replaced, never changed in place: no copy needed
            return rows.ids, rows.vectors

    def catch_up(self, graph: ann.Approximate) -> None:
        """Bring a graph built from :meth:`snapshot` up to date with what changed since, and use it."""
        with self._lock:
            for track_id in sorted(self._changes or ()):
                graph.drop(track_id)
                at = self.rows.positions([track_id])
                if len(at):
                    graph.put([track_id], self.rows.vectors[at])
            self.graph, self._changes = graph, None

    def _changed(self, ids: Iterable[int], vectors: np.ndarray | None = None) -> None:
        """Keep the graph (or the record of changes while it is built) in step; called under the lock."""
        if self._changes is not None:
            self._changes.update(int(i) for i in ids)
        elif self.graph is not None:
            if vectors is None:
                for i in ids:
                    self.graph.drop(i)
            else:
                self.graph.put(ids, vectors)

    def _add(self, tracks: list) -> None:
        if tracks:
            self._append(*_arrays(tracks)[0])

    def _append(self, ids: np.ndarray, vectors: np.ndarray, artists: list, recordings: list) -> None:
        """Add tracks (called under the lock): the new :attr:`rows` are made whole, then put in place at once."""
        if not len(ids):
            return
        old = self.rows
        all_ids = np.concatenate([old.ids, ids])
        new = Rows(all_ids, np.vstack([old.vectors, vectors]), old.artists + tuple(artists),
                   old.recordings + tuple(recordings))
        if len(all_ids) > 1 and (np.diff(all_ids) < 0).any():      # an older track updated: keep ids ascending
            order = np.argsort(all_ids, kind="stable")
            new = Rows(new.ids[order], new.vectors[order], tuple(new.artists[i] for i in order),
                       tuple(new.recordings[i] for i in order))
        self.rows = new
        for i, r in zip(ids, recordings):
            if r:
                self._copies.setdefault(r, set()).add(int(i))
        self._changed([int(i) for i in ids], vectors)

    def update(self, track: Track) -> None:
        """Add or replace one track (a new embedding, a new artist)."""
        self.remove(track.id)
        self.pending.discard(int(track.id))
        if stored(track) is not None:
            with self._lock:
                self._add([track])
                self._last = max(self._last, int(track.id))

    def remove(self, track_id: int) -> None:
        with self._lock:
            self._drop({int(track_id)})

    def _drop(self, track_ids: set[int]) -> None:
        """Drop tracks (called under the lock): removed here, or by another process (seen in refresh)."""
        if not track_ids:
            return
        self.pending -= track_ids
        old = self.rows
        keep = ~np.isin(old.ids, np.fromiter(track_ids, np.int64, len(track_ids)))
        if keep.all():
            return
        self.rows = Rows(old.ids[keep], old.vectors[keep], tuple(a for a, k in zip(old.artists, keep) if k),
                         tuple(r for r, k in zip(old.recordings, keep) if k))
        for copies in self._copies.values():
            copies -= track_ids
        self._changed(sorted(int(i) for i in old.ids[~keep]))

    def vector(self, track_id: int) -> np.ndarray | None:
        rows = self.rows
        at = rows.positions([track_id])
        return rows.vectors[at[0]] if len(at) else None

    def nearest(self, vector: np.ndarray, *, n: int, exclude: Iterable[int] = (), recording: str | None = None
                ) -> list[tuple[int, float]]:
        """The ``n`` most similar tracks ``(id, similarity)``, best first, leaving out ``exclude`` and other
        copies of ``recording`` (the seed's audio)."""
        skip = {int(i) for i in exclude} | self._copies.get(recording or "", set())
        rows, graph = self.rows, self.graph
        if graph is not None:
            found = graph.search(vector, n + len(skip))
            if found is not None:
                at = rows.positions([i for i in found if i not in skip])
                if len(at) >= min(n, len(rows) - len(skip)):
                    s = rows.vectors[at] @ np.asarray(vector, np.float32)
                    order = np.argsort(-s, kind="stable")[:n]
                    return [(int(rows.ids[at[i]]), float(s[i])) for i in order]
        s = rows.scores(vector)
        top = top_k(s, n, exclude=rows.positions(skip))
        return [(int(rows.ids[i]), float(s[i])) for i in top]


@dataclass
class Filled:
    """What :func:`fill_embeddings` did: tracks embedded, from the feature cache or by analysing the file,
    and a line per track that could not be (the file gone or unreadable)."""

    from_cache: int = 0
    analysed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.from_cache + self.analysed


def missing(lib) -> list[int]:
    """Ids of the tracks without an embedding of the current recipe."""
    with lib.Session() as s:
        return [t.id for t in s.scalars(select(Track).order_by(Track.id)) if stored(t) is None]


def _needs_tags(lib) -> None:
    if not lib.handle.model.bundle.uses_tags:
        raise DataError(f"{lib.dir}: its model ({lib.model_dir}) reads no musicnn taggrams, which similar tracks "
                        "are found by (use a model that does, such as the packaged one)")


def embed_file(lib, path: str | Path) -> tuple[np.ndarray, str]:
    """The embedding of an audio file by the library's model's pass (its features cached by its audio), and
    the file's audio hash."""
    _needs_tags(lib)
    identity = audio_hash(path)
    inputs = load_features(lib.dir, identity, lib.recipe)
    if inputs is None or inputs.mtt is None:
        inputs = lib.handle.model.preprocess(path)
        save_features(lib.dir, identity, lib.recipe, inputs)
    vector = embedding(inputs)
    if vector is None:
        raise DataError(f"{path}: no embedding (its model hears no musicnn tagger)")
    return vector, identity


def fill_embeddings(lib, ids: Iterable[int] | None = None, *, each: Callable[[int], None] | None = None) -> Filled:
    """Give the tracks ``ids`` (default: all that lack one) an embedding of the current recipe, once: from the
    feature cache where it holds both taggers, else by analysing the stored file. Each track is committed on
    its own; a track that cannot be embedded is a line in ``failures`` and the rest go on. ``each(id)`` is
    called after every track (progress)."""
    _needs_tags(lib)
    out = Filled()
    for track_id in list(missing(lib) if ids is None else ids):
        with lib.Session() as s:
            t = s.get(Track, track_id)
            if t is None or stored(t) is not None:
                continue
            path = lib.audio_path(t)
            try:
                cached = load_features(lib.dir, t.audio_hash, lib.recipe) if t.audio_hash else None
                if cached is not None and cached.mtt is not None:
                    vector = embedding(cached)
                    out.from_cache += 1
                else:
                    if not path.is_file():
                        raise AudioError(str(path), "the file is missing from the library")
                    vector, identity = embed_file(lib, path)
                    t.audio_hash = t.audio_hash or identity
                    out.analysed += 1
                t.embedding = record(vector)
                s.commit()
            except GenrefuseError as exc:
                out.failures.append(f"track {track_id}: {exc}")
        if each is not None:
            each(track_id)
    return out


def _index(lib, index: SimilarIndex | None) -> SimilarIndex:
    with lib.Session() as s:
        return (index or SimilarIndex()).refresh(s)


def seed_of(lib, track_id: int, index: SimilarIndex) -> tuple[Track, np.ndarray]:
    """A library track and its embedding (made now, once, where it has none)."""
    with lib.Session() as s:
        track = s.get(Track, track_id)
    if track is None:
        raise NotFoundError(f"no track {track_id}")
    vector = stored(track)
    if vector is None:
        if not lib.audio_path(track).is_file():
            raise GoneError(f"the file of track {track_id} is missing from the library, so nothing is known of its sound")
        report = fill_embeddings(lib, [track_id])
        if report.failures:
            raise DataError(report.failures[0])
        with lib.Session() as s:
            track = s.get(Track, track_id)
        index.update(track)
        vector = stored(track)
    return track, vector


def tracks_by_id(lib, ids: list[int]) -> dict[int, Track]:
    with lib.Session() as s:
        return {t.id: t for t in s.scalars(select(Track).where(Track.id.in_(ids)))} if ids else {}


def similar_tracks(lib, *, track_id: int | None = None, path: str | Path | None = None, n: int = 10,
                   index: SimilarIndex | None = None) -> tuple[Track | None, list[tuple[Track, float]]]:
    """The seed (a library track, or None for an outside file) and its ``n`` most similar library tracks
    ``(track, similarity)``, best first."""
    index = _index(lib, index)
    if track_id is not None:
        seed, vector = seed_of(lib, track_id, index)
        exclude, recording = [seed.id], seed.audio_hash
    else:
        seed, (vector, recording) = None, embed_file(lib, path)
        exclude = []
    hits = index.nearest(vector, n=n, exclude=exclude, recording=recording)
    found = tracks_by_id(lib, [i for i, _ in hits])
    return seed, [(found[i], s) for i, s in hits if i in found]


def radio(lib, track_id: int, *, n: int = 20, index: SimilarIndex | None = None) -> list[Track]:
    """A playlist of up to ``n`` tracks from the seed ``track_id``: each next one the unplayed track most similar
    to both the seed and the one before it, not by the same artist as the one before it while another artist is
    left, never a second copy of a recording played."""
    index = _index(lib, index)
    seed, seed_vector = seed_of(lib, track_id, index)
    order, played = [seed.id], {seed.audio_hash} - {None}
    rows = index.rows                  # one consistent view, whatever the service adds meanwhile
    from_seed = rows.scores(seed_vector)
    current = seed_vector
    last_artist = _artist(seed)
    while len(order) < n:
        s = (from_seed + rows.scores(current)) / 2
        best = same_artist = None
        for k in np.argsort(-s, kind="stable"):
            i = int(rows.ids[k])
            if i in order or (rows.recordings[k] and rows.recordings[k] in played):
                continue
            if last_artist and rows.artists[k] == last_artist:
                same_artist = k if same_artist is None else same_artist
                continue
            best = k
            break
        if best is None:                 # only the same artist is left (a one-artist library): them, then
            best = same_artist
        if best is None:
            break
        order.append(int(rows.ids[best]))
        if rows.recordings[best]:
            played.add(rows.recordings[best])
        current, last_artist = rows.vectors[best], rows.artists[best]
    found = tracks_by_id(lib, order)
    return [found[i] for i in order if i in found]
