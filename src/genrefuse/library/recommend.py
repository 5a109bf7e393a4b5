"""Recommendation: a hybrid of the genre a listener likes and what listeners like them liked.

- genre score: the listener's genre weights . each track's genre evidence: its genre, and any other genre
  the model gave at least ``GENRE_FLOOR`` (a 0.001 probability is no evidence; a confirmed track counts
  as all its confirmed genre);
- collaborative score: likes of all listeners, through :mod:`genrefuse.collab` (ALS blended with item
  neighbours), refitted on demand (``recommend --refit``) or in the background of ``serve``;
- audio score: how much a track sounds like the ones the listener liked (:mod:`.similar`: the best cosine
  similarity of its embedding to theirs, above the library's median, on 0..1), so that a track nobody has
  played yet reaches the listeners who liked tracks like it, not only those who like its genre.

Both are on a 0..1 scale where 0 means no evidence (the genre score divided by the listener's total
weight), blended with the collaborative share
``likes / (likes + COLLAB_PRIOR)`` of the listener's own likes: a new listener is served by genre alone,
an established one mostly by listeners like them; a new track, which no one has liked yet, is reached
through its genre and its sound: the audio score takes ``AUDIO_SHARE`` of the blend for a listener who liked
tracks with embeddings. Tracks the listener already liked or skipped are never offered, nor the tracks she
added herself (unless asked), nor tracks with nothing to recommend them (no genre the listener likes, no
liked track as a neighbour, nothing of the sound of her likes) or a blended score under ``MIN_SCORE``.
Each pick says why: ``because`` (the genres giving at least 20% of its genre score), ``liked_with`` (the
listener's liked track it goes with) and ``sounds_like`` (the liked track it sounds most like, where the
audio score counted).

Scoring is vectorised over a :class:`TrackIndex` kept in memory and topped up from the database, so
one request over a million tracks costs a matrix-vector product and a partial sort.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import collab
from ..ranking import positions_in
from ..errors import DataError, NotFoundError
from .approximate import Approximate
from .db import Feedback, Track, User, UserGenre, removed_since
from .similar import Rows, SimilarIndex

FEEDBACK_RATE = 0.5      # how far one like or skip moves the weights
ACTIONS = ("like", "skip")
COLLAB_PRIOR = 5.0       # likes at which the collaborative part weighs as much as the genre part
MIN_LIKES, MIN_LISTENERS = 10, 2   # less feedback than this: no collaborative model (genre alone)
CF_FOLDER = "cf"
GENRE_FLOOR = 0.2        # a genre other than the track's own counts as evidence from this probability on
MIN_SCORE = 0.02         # blended scores below this are not recommendations
AUDIO_SHARE = 0.25       # the audio part's share of the blend, for a listener with liked tracks that have an
                         # embedding: the best of 0.25, 0.5, 0.75 on seed 0 of benchmarks/recommend_audio.py
                         # (reported on seeds 1-3)
MAX_LIKES_HEARD = 100    # the listener's most recent likes whose sound counts (a request costs one product
                         # of the embeddings with these)
HEARD_PER_LIKE = 50      # with the similar-track graph (large libraries): candidates taken per liked track
FLOOR_SAMPLE = 10_000    # ... and the tracks (a fixed random sample) whose best similarity sets the floor


@dataclass(frozen=True)
class Tracks:
    """The indexed tracks at one moment: ids ``(n,)`` (ascending, newest last), genre evidence ``(n, k)`` and the
    ``k`` genres of its columns. A :class:`TrackIndex` publishes a new one whole on every change (a row's values
    may be rewritten in place, never its shape), so a request that takes :attr:`TrackIndex.rows` once sees parts
    that fit together while others store tracks or add genres."""

    ids: np.ndarray
    probs: np.ndarray
    genres: tuple[str, ...]

    def positions(self, ids) -> np.ndarray:
        """Positions of the given track ids (ids not indexed are dropped)."""
        pos, found = self.lookup(ids)
        return pos[found]

    def lookup(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """For each id: its position and whether it is indexed (a binary search each: no set over all ids)."""
        return positions_in(self.ids, ids)


class TrackIndex:
    """Every track's id and genre-probability vector, in memory, in id order (newest last): :attr:`rows`."""

    PAGE = 5000              # rows read at a time

    def __init__(self, genres: list[str]):
        genres = tuple(dict.fromkeys(genres))
        self.rows = Tracks(np.zeros(0, np.int64), np.zeros((0, len(genres)), np.float32), genres)
        self._removal = 0                    # the last removal (db.Removal) seen
        self._lock = threading.Lock()

    @property
    def ids(self) -> np.ndarray:
        return self.rows.ids

    @property
    def probs(self) -> np.ndarray:
        return self.rows.probs

    @property
    def genres(self) -> list[str]:
        return list(self.rows.genres)

    @staticmethod
    def _vector(probabilities: dict, genre: str, confirmed: bool, col: dict[str, int], heard: dict | None = None
                ) -> np.ndarray:
        v = np.zeros(len(col), np.float32)
        if confirmed and genre in col:
            v[col[genre]] = 1.0
            return v
        for g, p in evidence(probabilities, genre, heard).items():
            if g in col:
                v[col[g]] = p
        return v

    def _grown(self, genres) -> Tracks:
        """The rows with columns for genres not seen yet (a library's new genre, added while serving)."""
        old = self.rows
        new = tuple(g for g in dict.fromkeys(genres) if g not in old.genres)
        if not new:
            return old
        return Tracks(old.ids, np.hstack([old.probs, np.zeros((len(old.ids), len(new)), np.float32)]),
                      old.genres + new)

    def refresh(self, session: Session) -> "TrackIndex":
        """Add the tracks stored since the last refresh (one indexed query when there are none), read
        :attr:`PAGE` rows at a time (a library of a million tracks is never held as rows at once)."""
        with self._lock:
            self._removal, gone = removed_since(session, self._removal)    # before the rows: none is missed
            self._zero(gone)
            old = self.rows
            last = int(old.ids[-1]) if len(old.ids) else 0
            ids, vectors, known = [], [], dict.fromkeys(old.genres)      # the genres, in column order
            while True:
                rows = session.execute(select(Track.id, Track.probabilities, Track.genre, Track.confirmed,
                                              Track.evidence)
                                       .where(Track.id > last).order_by(Track.id).limit(self.PAGE)).all()
                if not rows:
                    break
                last = int(rows[-1][0])
                known.update(dict.fromkeys(g for r in rows for g in (r[2], *r[1])))
                col = {g: i for i, g in enumerate(known)}
                ids.append(np.array([r[0] for r in rows], np.int64))
                vectors.append(np.stack([self._vector(r[1], r[2], r[3], col, r[4]) for r in rows]))
                if len(rows) < self.PAGE:
                    break
            if ids:
                grown = self._grown(known)
                probs = np.zeros((sum(map(len, ids)), len(grown.genres)), np.float32)
                at = 0
                for page in vectors:                       # a page is as wide as the genres seen by then
                    probs[at:at + len(page), :page.shape[1]] = page
                    at += len(page)
                self.rows = Tracks(np.concatenate([grown.ids, *ids]), np.concatenate([grown.probs, probs]),
                                   grown.genres)
        return self

    def update(self, track: Track) -> None:
        """A stored track's row changed (its genre corrected)."""
        with self._lock:
            self.rows = rows = self._grown([track.genre, *track.probabilities])
            i = np.searchsorted(rows.ids, track.id)
            if i < len(rows.ids) and rows.ids[i] == track.id:
                col = {g: j for j, g in enumerate(rows.genres)}
                rows.probs[i] = self._vector(track.probabilities, track.genre, bool(track.confirmed), col,
                                             getattr(track, "evidence", None))

    def remove(self, track_id: int) -> None:
        """A track was removed: it scores nothing from now on (and, gone from the database, is never offered)."""
        with self._lock:
            self._zero([track_id])

    def _zero(self, track_ids) -> None:
        """Removed tracks score nothing (called under the lock; removed here or by another process)."""
        rows = self.rows
        at, found = positions_in(rows.ids, track_ids)
        rows.probs[at[found]] = 0.0

    def positions(self, ids) -> np.ndarray:
        """Index positions of the given track ids, now (ids not indexed are dropped)."""
        return self.rows.positions(ids)

    def lookup(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """For each id: its position now and whether it is indexed."""
        return self.rows.lookup(ids)


def evidence(probabilities: dict[str, float], genre: str, heard: dict[str, float] | None = None) -> dict[str, float]:
    """The genres a track's probabilities are evidence for: its own ``genre`` and any at ``GENRE_FLOOR`` or more.
    A genre the head has no output for (one named by the taggers: electronic, folk, soul, punk) counts with the
    taggers' evidence for it (``heard``, the track's stored evidence), as its verdict's confidence does."""
    out = {g: p for g, p in probabilities.items() if p >= GENRE_FLOOR or g == genre}
    if genre not in probabilities:
        out[genre] = float((heard or {}).get(genre, max(probabilities.values(), default=1.0)))
    return out


def genre_because(weights: dict[str, float], probabilities: dict[str, float], genre: str | None = None,
                  heard: dict[str, float] | None = None) -> list[dict]:
    """The genres that drove a track's genre score (contribution >= 20% of it, at most 3)."""
    if genre is not None:
        probabilities = evidence(probabilities, genre, heard)
    parts = sorted(((weights.get(g, 0.0) * p, g) for g, p in probabilities.items()), reverse=True)
    total = sum(c for c, _ in parts)
    return [{"genre": g, "contribution": round(c, 4)} for c, g in parts[:3] if total > 0 and c >= 0.2 * total]


def _history(session: Session, user: User) -> tuple[list[int], list[int]]:
    rows = session.execute(select(Feedback.track_id, Feedback.action).where(Feedback.user_id == user.id)
                           .order_by(Feedback.created_at, Feedback.id)).all()          # the latest last
    return [t for t, _ in rows], [t for t, a in rows if a == "like"]


def recommend(session: Session, user: User, *, limit: int = 10, index: TrackIndex | None = None,
              cf: collab.CFModel | None = None, describe=None, collab_share: float | None = None,
              include_own: bool = False, audio: SimilarIndex | None = None,
              audio_share: float = AUDIO_SHARE) -> list[dict]:
    """Up to ``limit`` picks for ``user``, best first: ``{"track", "score", "genre_score", "because",
    "liked_with"}`` (``score``: the blend, 0..1, at least ``MIN_SCORE``; ``genre_score``: weights .
    genre evidence). ``include_own``: also the tracks the listener added herself.
    ``index``: a kept :class:`TrackIndex` (refreshed here); ``cf``: the fitted collaborative model;
    ``collab_share``: fixes the collaborative part's share (0: genre alone, 1: listeners alone; for
    evaluation) instead of deriving it from the listener's likes; ``audio``: the tracks' embeddings (a kept
    :class:`~genrefuse.library.similar.SimilarIndex`, refreshed here; None: no audio part), ``audio_share``
    its share of the blend (0: none)."""
    weights = user.weights()
    if index is None:
        index = TrackIndex(sorted({*weights, *(g for (g,) in session.execute(select(Track.genre).distinct()))}))
    view = index.refresh(session).rows       # one consistent view, whatever other requests store meanwhile
    n = len(view.ids)
    if not n:
        return []
    w = np.array([weights.get(g, 0.0) for g in view.genres], np.float32)
    genre_score = view.probs @ w
    rated, liked = _history(session, user)
    eligible = genre_score > 1e-9
    score = genre_score / max(float(w.sum()), 1e-9)             # 0..1: the share of the listener's taste
    if collab_share == 1.0:
        score, eligible = np.zeros(n, np.float32), np.zeros(n, bool)
    cf_items = np.zeros(0, int)
    if cf is not None and len(liked):
        cf_items = np.array([i for i in map(cf.item_index, liked) if i is not None], int)
    if len(cf_items):
        share = len(liked) / (len(liked) + COLLAB_PRIOR) if collab_share is None else collab_share
        cf_all = cf.scores(cf_items, np.ones(len(cf_items), np.float32))      # 0..1, 0: no evidence
        cf_pos, known = view.lookup(cf.item_keys_array)
        cf_scores = np.zeros(n, np.float32)
        cf_scores[cf_pos[known]] = cf_all[known]
        neighbours = np.zeros(n, bool)
        neighbours[view.positions(cf.item_keys_array[_neighbour_items(cf, cf_items)])] = True
        eligible |= neighbours
        score = (1 - share) * score + share * cf_scores
    sounds, nearest_liked = _audio(session, audio, view, liked) if audio is not None and audio_share > 0 \
        else (None, None)
    if sounds is not None:
        eligible |= sounds > 0
        score = (1 - audio_share) * score + audio_share * sounds
    score = np.where(eligible & (score >= MIN_SCORE), score, -np.inf)
    score[view.positions(rated)] = -np.inf
    if not include_own:
        score[view.positions(session.scalars(select(Track.id).where(Track.added_by == user.id)).all())] = -np.inf
    k = min(limit, int(np.isfinite(score).sum()))
    if k <= 0:
        return []
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.lexsort((-view.ids[top], -score[top]))]       # ties: the newest first
    ids = [int(i) for i in view.ids[top]]
    tracks = {t.id: t for t in session.scalars(select(Track).where(Track.id.in_(ids)))}
    liked_with: set[int] = set()
    out = []
    for pos, tid in zip(top, ids):
        t = tracks.get(tid)
        if t is None:
            continue
        with_ = None
        if len(cf_items) and cf.item_index(tid) is not None:
            j = cf.because(cf.item_index(tid), cf_items)
            if j is not None:
                with_ = int(cf.item_keys[j])
                liked_with.add(with_)
        sounds_like = int(nearest_liked[pos]) if sounds is not None and sounds[pos] > 0 else None
        out.append({"track": describe(t) if describe else t.to_json(), "score": round(float(score[pos]), 6),
                    "genre_score": round(float(genre_score[pos]), 6),
                    "because": genre_because(weights, t.probabilities, t.genre, t.evidence) if genre_score[pos] > 1e-9 else [],
                    "liked_with": with_, "sounds_like": sounds_like})
    named = liked_with | {r["sounds_like"] for r in out if r["sounds_like"] is not None}
    if named:
        rows = {t.id: t.display_name for t in session.scalars(select(Track).where(Track.id.in_(named)))}
        for r in out:
            for key in ("liked_with", "sounds_like"):
                if r[key] is not None:
                    r[key] = {"id": r[key], "name": rows.get(r[key], "?")}
    return out


def _audio(session: Session, audio: SimilarIndex, index: Tracks, liked: list[int]
           ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per track of ``index`` (a :class:`TrackIndex`'s rows): how much it sounds like the listener's liked
    tracks (0..1: its best cosine similarity to them, above the library's median, scaled to the best), and the
    liked track it is nearest; (None, None) when none of her likes has an embedding.

    Every indexed track is compared, except where the index has its approximate graph (a large library):
    then the :data:`HEARD_PER_LIKE` nearest of each liked track are (the rest score 0, as tracks under the
    median do), and the median is that of a fixed random sample of :data:`FLOOR_SAMPLE` tracks."""
    audio.refresh(session)
    heard = audio.rows            # one consistent view of the index, whatever another request adds meanwhile
    at = heard.positions(liked[-MAX_LIKES_HEARD:])               # those of her likes that have an embedding
    if not len(at):
        return None, None
    mine_ids, mine = heard.ids[at], heard.vectors[at]
    rows, sample = _compared(heard, audio.graph, mine)
    sims = (heard.vectors if rows is None else heard.vectors[rows]) @ mine.T      # (compared tracks, liked)
    best, which = sims.max(axis=1), sims.argmax(axis=1)
    floor = float(np.median(best if sample is None else best[sample]))
    top = float(best.max())
    scaled = np.clip((best - floor) / max(top - floor, 1e-9), 0.0, 1.0)
    pos, found = index.lookup(heard.ids if rows is None else heard.ids[rows])
    sounds, nearest = np.zeros(len(index.ids), np.float32), np.full(len(index.ids), -1, np.int64)
    sounds[pos[found]] = scaled[found]
    nearest[pos[found]] = mine_ids[which[found]]
    return sounds, nearest


def _compared(heard: Rows, graph: Approximate | None, mine: np.ndarray
              ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Which of the indexed tracks ``heard`` to compare with the liked ones: all (None, None), or with the
    index's ``graph`` the positions of the candidates and the floor's sample, and where the sample lies among
    them."""
    if graph is None or len(heard) <= FLOOR_SAMPLE:
        return None, None
    candidates = graph.search_many(mine, HEARD_PER_LIKE)
    if candidates is None:
        return None, None
    sample = _sample(len(heard))
    rows = np.union1d(heard.positions(sorted(candidates)), sample)
    return rows, np.searchsorted(rows, sample)


@functools.lru_cache(maxsize=4)
def _sample(n: int) -> np.ndarray:
    """:data:`FLOOR_SAMPLE` positions of ``n``, sorted, the same each time for a library of that size."""
    return np.sort(np.random.default_rng(0).choice(n, FLOOR_SAMPLE, replace=False))


def _neighbour_items(cf: collab.CFModel, items: np.ndarray) -> np.ndarray:
    """Items that are a neighbour of at least one of ``items``."""
    return np.unique(cf.similarity[items].indices)


def give_feedback(session: Session, user: User, track_id: int, action: str) -> dict[str, float]:
    """Record a like or skip (the latest one counts) and move the user's weights; returns the weights."""
    if action not in ACTIONS:
        raise DataError(f"unknown action {action!r}; use 'like' or 'skip'")
    track = session.get(Track, track_id)
    if track is None:
        raise NotFoundError(f"no track {track_id}")
    fb = session.scalar(select(Feedback).where(Feedback.user_id == user.id, Feedback.track_id == track_id))
    if fb is None:
        session.add(Feedback(user_id=user.id, track_id=track_id, action=action))
    else:
        fb.action = action
    _move_weights(user, track.probabilities, 1.0 if action == "like" else -1.0)
    session.commit()
    return user.weights()


def _move_weights(user: User, probabilities: dict[str, float], sign: float) -> None:
    """Move ``user``'s genre weights by ``sign * FEEDBACK_RATE`` x a track's probabilities (floored at 0)."""
    rows = {g.genre: g for g in user.genres}
    for genre, p in probabilities.items():
        row = rows.get(genre)
        if row is None:
            row = UserGenre(genre=genre, weight=0.0)
            user.genres.append(row)
        row.weight = max(0.0, row.weight + sign * FEEDBACK_RATE * p)


def withdraw_feedback(session: Session, user: User, track_id: int) -> dict[str, float]:
    """Take back a like or skip (unlike): the row goes and the weights move back as far as it moved them."""
    fb = session.scalar(select(Feedback).where(Feedback.user_id == user.id, Feedback.track_id == track_id))
    if fb is None:
        raise NotFoundError(f"{user.name} has neither liked nor skipped track {track_id}")
    track = session.get(Track, track_id)
    _move_weights(user, track.probabilities if track else {}, -1.0 if fb.action == "like" else 1.0)
    session.delete(fb)
    session.commit()
    return user.weights()


# ----------------------------------------------------------------------------- the collaborative model
def feedback_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Feedback)) or 0)


def refit_collaborative(session: Session, library_dir: str | Path) -> tuple[collab.CFModel | None, str]:
    """Fit the collaborative model on every listener's likes and store it in ``LIBRARY/cf``; with too
    little feedback, remove any old model and say why (recommendations then use genre alone)."""
    import scipy.sparse as sp

    import importlib.util

    likes = session.execute(select(Feedback.user_id, Feedback.track_id).where(Feedback.action == "like")).all()
    listeners = {u for u, _ in likes}
    folder = Path(library_dir) / CF_FOLDER
    if importlib.util.find_spec("implicit") is None:      # a light install: genre alone, said once per refit
        return None, ("collaborative filtering needs the [recommend] extra (pip install 'genrefuse[recommend]'): "
                      "recommending by genre alone")
    if len(likes) < MIN_LIKES or len(listeners) < MIN_LISTENERS:
        if folder.exists():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        return None, (f"too little feedback for collaborative filtering ({len(likes)} likes from {len(listeners)} "
                      f"listeners; {MIN_LIKES} likes from {MIN_LISTENERS} needed): recommending by genre alone")
    users = sorted(listeners)
    items = sorted({t for _, t in likes})
    ui = {u: i for i, u in enumerate(users)}
    ti = {t: i for i, t in enumerate(items)}
    m = sp.csr_matrix((np.ones(len(likes), np.float32), ([ui[u] for u, _ in likes], [ti[t] for _, t in likes])),
                      shape=(len(users), len(items)))
    params = collab.CFParams(factors=min(collab.CFParams.factors, max(2, min(m.shape) - 1)))
    model = collab.fit(m, user_keys=users, item_keys=items, params=params)
    collab.save(model, folder)
    return model, f"collaborative model fitted on {len(likes)} likes of {len(items)} tracks by {len(users)} listeners"


def load_collaborative(library_dir: str | Path) -> collab.CFModel | None:
    return collab.load(Path(library_dir) / CF_FOLDER)
