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

Scoring is vectorised over a :class:`TrackIndex` kept in memory and topped up from the database. A large
library is not scored whole: the index keeps each genre's tracks ranked (:class:`Postings`), and a request scores
the top of the listener's genres and of her collaborative scores, deeper until no track left out could rank among
its picks, with every track the audio part heard: the same picks as scoring every track, at a few thousand
tracks' cost.
"""
from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import collab
from ..ranking import positions_in
from ..errors import DataError, NotFoundError
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
GRAPH_LIKES = 20         # ... of her most recent likes (each a graph query; every like still counts in the score)
FLOOR_SAMPLE = 10_000    # ... and the tracks (a fixed random sample) whose best similarity sets the floor
WARM_LISTENERS = 500     # listeners whose sound a service works out at start (:func:`warm`): their graph queries
                         # (GRAPH_LIKES each) fill half of what the graph remembers, their floors half of _FLOORS
DENSE_UP_TO = 50_000     # libraries up to this many tracks are scored whole; larger ones from the postings
CANDIDATE_DEPTH = 1024   # tracks taken first from the top of each of the listener's genres (then 4x deeper)


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


class Postings:
    """Per genre column of a :class:`Tracks` view, the positions of the tracks with evidence for it, most first
    (ties: the newest first), and their values then: what lets a request score a few thousand tracks of a million
    and know that no other can rank higher (:func:`recommend`). Built for the first :attr:`built` rows; rows
    appended since, and rows rewritten in place since (:attr:`dirty`: corrected or removed tracks), are not in
    it, and every request scores them."""

    def __init__(self, rows: Tracks):
        self.built, self.width = len(rows.ids), rows.probs.shape[1]
        self.order, self.values = [], []
        for g in range(self.width):
            col = rows.probs[:, g]
            nz = np.flatnonzero(col > 0)
            order = nz[np.lexsort((-nz, -col[nz]))]
            self.order.append(order)
            self.values.append(col[order])
        self.dirty: frozenset[int] = frozenset()


class TrackIndex:
    """Every track's id and genre-probability vector, in memory, in id order (newest last): :attr:`rows`, and
    per genre the tracks ranked by it (:class:`Postings`, built when a request first needs them)."""

    PAGE = 5000              # rows read at a time
    REBUILD = 20_000         # rows appended or rewritten since the postings were built that make them rebuilt

    def __init__(self, genres: list[str]):
        genres = tuple(dict.fromkeys(genres))
        self.rows = Tracks(np.zeros(0, np.int64), np.zeros((0, len(genres)), np.float32), genres)
        self._postings: Postings | None = None
        self._building: set[int] | None = None  # rows rewritten while postings are being built
        self._removal = 0                    # the last removal (db.Removal) seen
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def postings(self, rows: Tracks) -> tuple[Postings, np.ndarray]:
        """Postings that fit ``rows`` (a view this index published; built, or rebuilt when too much changed since)
        and the positions of ``rows`` that every request must score besides them (appended or rewritten since)."""
        def stale(post: Postings | None) -> bool:
            return post is None or post.width != rows.probs.shape[1] or post.built > len(rows.ids) \
                or len(rows.ids) - post.built + len(post.dirty) > self.REBUILD

        post = self._postings
        if stale(post):
            with self._build_lock:           # one build at a time; the others wait for it, then use it
                post = self._postings
                if stale(post):
                    with self._lock:
                        self._building = set()
                    post = Postings(rows)    # outside the lock: requests on the current postings go on
                    with self._lock:
                        post.dirty = frozenset(self._building or ())     # rewritten while it was being built
                        self._building = None
                        self._postings = post
        extra = np.union1d(np.fromiter(post.dirty, np.int64, len(post.dirty)), np.arange(post.built, len(rows.ids)))
        return post, extra[extra < len(rows.ids)]

    def _touched(self, positions) -> None:
        """Rows rewritten in place (under the lock): every request scores them whatever the postings say."""
        changed = {int(p) for p in positions}
        if self._postings is not None and changed:
            self._postings.dirty = self._postings.dirty | changed
        if self._building is not None:
            self._building |= changed

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
                self._touched([i])

    def remove(self, track_id: int) -> None:
        """A track was removed: it scores nothing from now on (and, gone from the database, is never offered)."""
        with self._lock:
            self._zero([track_id])

    def _zero(self, track_ids) -> None:
        """Removed tracks score nothing (called under the lock; removed here or by another process)."""
        rows = self.rows
        at, found = positions_in(rows.ids, track_ids)
        rows.probs[at[found]] = 0.0
        self._touched(at[found])

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


def warm(session: Session, *, index: TrackIndex, audio: SimilarIndex | None = None, cf: collab.CFModel | None = None,
         listeners: int = WARM_LISTENERS, stop: threading.Event | None = None) -> int:
    """Work out the recommendations of the ``listeners`` who gave feedback last, as their requests would (the
    same arguments), so that what a request remembers between calls (her audio floor, the graph's answers for
    her likes, the views' positions) is there before her first request; returns how many were warmed. A service
    calls it once its indexes are read (a listener's first request at a million tracks cost twice her later
    ones, `benchmarks/recommend_scale.py`). Stops early when ``stop`` is set."""
    latest = func.max(Feedback.id).label("latest")
    ids = session.execute(select(Feedback.user_id, latest).group_by(Feedback.user_id)
                          .order_by(latest.desc()).limit(listeners)).scalars().all()
    done = 0
    for user_id in ids:
        if stop is not None and stop.is_set():
            break
        user = session.get(User, user_id)
        if user is not None:
            recommend(session, user, index=index, cf=cf, audio=audio)
            done += 1
    return done


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
    genre evidence; equal scores: the newest track first). ``include_own``: also the tracks the listener added
    herself. ``index``: a kept :class:`TrackIndex` (refreshed here); ``cf``: the fitted collaborative model;
    ``collab_share``: fixes the collaborative part's share (0: genre alone, 1: listeners alone; for
    evaluation) instead of deriving it from the listener's likes; ``audio``: the tracks' embeddings (a kept
    :class:`~genrefuse.library.similar.SimilarIndex`, refreshed here; None: no audio part), ``audio_share``
    its share of the blend (0: none).

    A library of up to :data:`DENSE_UP_TO` tracks is scored whole. A larger one is scored from its
    :class:`Postings`: the tracks ranked highest in the listener's genres and by her collaborative scores, deeper
    until no track left out could rank among the picks (:func:`_candidates`), with every track the audio part
    heard: the same picks as scoring every track, at a few thousand tracks' cost."""
    weights = user.weights()
    if index is None:
        index = TrackIndex(sorted({*weights, *(g for (g,) in session.execute(select(Track.genre).distinct()))}))
    view = index.refresh(session).rows       # one consistent view, whatever other requests store meanwhile
    n = len(view.ids)
    if not n:
        return []
    w = np.array([weights.get(g, 0.0) for g in view.genres], np.float32)
    rated, liked = _history(session, user)
    blocked = view.positions(rated)
    if not include_own:
        blocked = np.union1d(blocked, view.positions(
            session.scalars(select(Track.id).where(Track.added_by == user.id)).all()))
    part = _Parts(view=view, w=w, blocked=blocked, genre=0.0 if collab_share == 1.0 else 1.0)
    cf_items = np.zeros(0, int)
    if cf is not None and len(liked):
        cf_items = np.array([i for i in map(cf.item_index, liked) if i is not None], int)
    if len(cf_items):
        share = len(liked) / (len(liked) + COLLAB_PRIOR) if collab_share is None else collab_share
        cf_all = cf.scores(cf_items, np.ones(len(cf_items), np.float32))      # 0..1, 0: no evidence
        cf_pos, known = _CF_POSITIONS.get((view, cf), None, lambda: view.lookup(cf.item_keys_array))
        scored = known & (cf_all > 0)
        order = np.argsort(cf_pos[scored])
        part.cf_pos, part.cf_val = cf_pos[scored][order], cf_all[scored][order].astype(np.float32)
        part.neighbours = np.unique(view.positions(cf.item_keys_array[_neighbour_items(cf, cf_items)]))
        part.genre *= 1 - share
        part.cf = share
    part.sound = _Sound.of(session, audio, view, liked) if audio is not None and audio_share > 0 else None
    if part.sound is not None:
        part.genre, part.cf, part.audio = part.genre * (1 - audio_share), part.cf * (1 - audio_share), audio_share
    if n <= DENSE_UP_TO or (part.sound is not None and part.sound.everywhere):
        pos, (score, sounds_like) = None, part.scores(None)
    else:
        pos, score, sounds_like = _candidates(index, part, limit)
    at = np.arange(n) if pos is None else pos
    k = min(limit, int(np.isfinite(score).sum()))
    if k <= 0:
        return []
    kth = -np.partition(-score, k - 1)[k - 1]
    above = np.flatnonzero(score > kth)
    tied = np.flatnonzero(score == kth)          # ties at the k-th score: the newest (the last positions) first
    chosen = np.concatenate([above, tied[-(k - len(above)):]])
    top = chosen[np.lexsort((-view.ids[at[chosen]], -score[chosen]))]
    ids = [int(i) for i in view.ids[at[top]]]
    genre_score = view.probs[at[top]] @ w
    tracks = {t.id: t for t in session.scalars(select(Track).where(Track.id.in_(ids)))}
    liked_with: set[int] = set()
    because: dict[int, int | None] = {}
    if len(cf_items):
        known = [(tid, cf.item_index(tid)) for tid in ids if cf.item_index(tid) is not None]
        because = dict(zip([tid for tid, _ in known], cf.because_many(np.array([i for _, i in known]), cf_items)))
    out = []
    for j, (i, tid) in enumerate(zip(top, ids)):
        t = tracks.get(tid)
        if t is None:
            continue
        with_ = None
        if because.get(tid) is not None:
            with_ = int(cf.item_keys[because[tid]])
            liked_with.add(with_)
        like = int(sounds_like[i]) if sounds_like is not None and sounds_like[i] >= 0 else None
        out.append({"track": describe(t) if describe else t.to_json(), "score": round(float(score[i]), 6),
                    "genre_score": round(float(genre_score[j]), 6),
                    "because": genre_because(weights, t.probabilities, t.genre, t.evidence) if genre_score[j] > 1e-9 else [],
                    "liked_with": with_, "sounds_like": like})
    named = liked_with | {r["sounds_like"] for r in out if r["sounds_like"] is not None}
    if named:
        rows = {t.id: t.display_name for t in session.scalars(select(Track).where(Track.id.in_(named)))}
        for r in out:
            for key in ("liked_with", "sounds_like"):
                if r[key] is not None:
                    r[key] = {"id": r[key], "name": rows.get(r[key], "?")}
    return out


@dataclass
class _Parts:
    """One request's blend, scored at any positions of ``view``: ``genre`` times the genre score (the listener's
    weights ``w`` . each track's evidence, over their total), ``cf`` times the collaborative score (at the
    positions ``cf_pos``, ascending: ``cf_val``; a neighbour of her likes is eligible), ``audio`` times the
    sound (:class:`_Sound`); ``blocked`` positions are never offered."""

    view: Tracks
    w: np.ndarray
    blocked: np.ndarray
    genre: float = 1.0
    cf: float = 0.0
    audio: float = 0.0
    cf_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cf_val: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    neighbours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sound: "_Sound | None" = None

    def scores(self, pos: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The blended score at ``pos`` (None: every track), -inf where there is nothing to recommend a track
        (or it is blocked, or under ``MIN_SCORE``), and the liked track each sounds most like (-1: none)."""
        probs = self.view.probs if pos is None else self.view.probs[pos]
        m = len(probs)
        g = probs @ self.w
        eligible = (g > 1e-9) if self.genre > 0 else np.zeros(m, bool)
        score = (self.genre / max(float(self.w.sum()), 1e-9)) * g
        if pos is None:                          # every track: the parts' positions are the rows themselves
            score[self.cf_pos] += self.cf * self.cf_val
            eligible[self.neighbours] = True
        elif len(self.cf_pos):
            i = np.minimum(np.searchsorted(self.cf_pos, pos), len(self.cf_pos) - 1)
            hit = self.cf_pos[i] == pos
            score[hit] += self.cf * self.cf_val[i[hit]]
            if len(self.neighbours):
                j = np.minimum(np.searchsorted(self.neighbours, pos), len(self.neighbours) - 1)
                eligible |= self.neighbours[j] == pos
        nearest = None
        if self.sound is not None:
            sounds, nearest = self.sound.at(self.view, pos)
            eligible |= sounds > 0
            score += self.audio * sounds
        score = np.where(eligible & (score >= MIN_SCORE), score, -np.inf)
        if pos is None:
            score[self.blocked] = -np.inf
        elif len(self.blocked):
            i = np.minimum(np.searchsorted(self.blocked, pos), len(self.blocked) - 1)
            score[self.blocked[i] == pos] = -np.inf
        return score, nearest


def _candidates(index: TrackIndex, part: _Parts, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The positions to score so that the ``limit`` best of them are the ``limit`` best of all (ascending), with
    their :meth:`_Parts.scores`: the top of each of the listener's genres' postings and of her collaborative
    scores, ever deeper, with every track the audio part heard and every track rewritten since the postings were
    built, until the ``limit``-th best score beats what any track left out could reach (its genre score is at
    most the weights . the values where each genre was cut, its collaborative score the value where that was cut,
    and the audio part scores only what it heard)."""
    post, extra = index.postings(part.view)
    weighted = [g for g in np.flatnonzero(part.w > 0) if g < post.width and len(post.order[g])]
    heard = part.sound.candidates if part.sound is not None and part.sound.candidates is not None \
        else np.zeros(0, np.int64)
    fixed = np.union1d(extra, heard)
    by_cf = np.argsort(-part.cf_val, kind="stable")
    cf_order, cf_values = part.cf_pos[by_cf], part.cf_val[by_cf]
    depth = CANDIDATE_DEPTH
    total = max(float(part.w.sum()), 1e-9)
    while True:
        lists = [*(post.order[g][:depth] for g in weighted if part.genre > 0), cf_order[:depth]]
        pos = np.unique(np.concatenate([fixed, *lists])).astype(np.int64)
        score, nearest = part.scores(pos)
        left = [g for g in weighted if depth < len(post.order[g])] if part.genre > 0 else []
        bound = part.genre * sum(float(part.w[g]) * float(post.values[g][depth]) for g in left) / total
        if depth < len(cf_values):
            bound += part.cf * float(cf_values[depth])
        if (not left and depth >= len(cf_values)) or bound < MIN_SCORE:
            return pos, score, nearest               # every track that could be offered is in
        finite = score[np.isfinite(score)]
        if len(finite) >= limit and -np.partition(-finite, limit - 1)[limit - 1] > bound:
            return pos, score, nearest
        depth *= 4


@dataclass
class _Sound:
    """How much tracks sound like the listener's liked tracks (0..1: the best cosine similarity of a track's
    embedding to theirs, above the library's median ``floor``, scaled to the ``top``), and the liked track each is
    nearest. ``everywhere``: every indexed track is compared (a library without the similar-track graph);
    else the graph's :data:`HEARD_PER_LIKE` nearest of each of her :data:`GRAPH_LIKES` latest likes
    (``candidates``, positions of the track view) and any track a request scores besides, the median being that
    of a fixed random sample of :data:`FLOOR_SAMPLE` tracks. Compared everywhere, each embedded track's best
    similarity and its nearest like (``best``, ``which``, per row of ``heard``) are kept from the one product
    that set the floor."""

    heard: Rows
    mine_ids: np.ndarray
    mine: np.ndarray
    floor: float
    top: float
    everywhere: bool
    candidates: np.ndarray | None = None
    best: np.ndarray | None = None
    which: np.ndarray | None = None

    @classmethod
    def of(cls, session: Session, audio: SimilarIndex, view: Tracks, liked: list[int]) -> "_Sound | None":
        """The sound of ``liked`` (None when none of them has an embedding)."""
        audio.refresh(session)
        heard = audio.rows        # one consistent view of the index, whatever another request adds meanwhile
        at = heard.positions(liked[-MAX_LIKES_HEARD:])               # those of her likes that have an embedding
        if not len(at):
            return None
        mine_ids, mine = heard.ids[at], heard.vectors[at]
        graph = audio.graph if len(heard) > FLOOR_SAMPLE else None
        candidates = None if graph is None else graph.search_many(mine[-GRAPH_LIKES:], HEARD_PER_LIKE)
        if candidates is None:                               # every track compared, once
            sims = heard.vectors @ mine.T
            best = sims.max(axis=1)
            return cls(heard, mine_ids, mine, float(np.median(best)), float(best.max()), True, best=best,
                       which=sims.argmax(axis=1))
        floor = _floor(heard, mine_ids, mine)
        near = heard.positions(candidates)
        top = float(max((heard.vectors[near] @ mine.T).max(), floor))
        return cls(heard, mine_ids, mine, floor, top, False, near if _aligned(heard, view) else view.positions(heard.ids[near]))

    def at(self, view: Tracks, pos: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The sound score and the nearest liked track's id (-1: none) at ``pos`` of ``view`` (None: every track;
        without the graph's every-track comparison, the graph's candidates there and 0 elsewhere)."""
        if pos is None and not self.everywhere:
            pos_c = self.candidates
            s, near = self.at(view, pos_c)
            sounds, nearest = np.zeros(len(view.ids), np.float32), np.full(len(view.ids), -1, np.int64)
            sounds[pos_c], nearest[pos_c] = s, near
            return sounds, nearest
        ids = view.ids if pos is None else view.ids[pos]
        if pos is not None and _aligned(self.heard, view):     # every track has its embedding: rows match
            hp, found = pos, np.ones(len(pos), bool)
        else:
            hp, found = positions_in(self.heard.ids, ids)
        if self.best is not None:                    # compared everywhere already
            best, which = self.best[hp[found]], self.which[hp[found]]
        else:
            sims = self.heard.vectors[hp[found]] @ self.mine.T          # (compared tracks, liked)
            best, which = sims.max(axis=1), sims.argmax(axis=1)
        scaled = np.clip((best - self.floor) / max(self.top - self.floor, 1e-9), 0.0, 1.0)
        sounds, nearest = np.zeros(len(ids), np.float32), np.full(len(ids), -1, np.int64)
        sounds[found] = scaled
        nearest[found] = np.where(scaled > 0, self.mine_ids[which], -1)
        return sounds, nearest


class _Memo:
    """Values computed from index views, which are replaced whole when they change: remembered while the very
    views asked about are the ones they were computed from (at most ``size`` at a time). The views are held
    weakly: a view replaced by the next one (a million tracks' rows, hundreds of MB) is never kept alive here."""

    def __init__(self, size: int):
        self.size, self._values, self._lock = size, {}, threading.Lock()

    def get(self, views: tuple, key, compute):
        at = (*map(id, views), key)
        with self._lock:
            hit = self._values.get(at)
        if hit is not None and all(ref() is v for ref, v in zip(hit[0], views)):
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._values) >= self.size:
                self._values.clear()
            self._values[at] = (tuple(weakref.ref(v) for v in views), value)
        return value


_ALIGNED, _FLOORS = _Memo(64), _Memo(1024)
_CF_POSITIONS = _Memo(16)         # where the collaborative model's items sit in a view (the same for every listener)
_SAMPLED = _Memo(4)


def _aligned(heard: Rows, view: Tracks) -> bool:
    """Whether the embedded tracks are exactly the indexed ones, row for row (then a track's position in one is
    its position in the other)."""
    return _ALIGNED.get((heard, view), None, lambda: len(heard.ids) == len(view.ids)
                        and bool(np.array_equal(heard.ids, view.ids)))


def _floor(heard: Rows, mine_ids: np.ndarray, mine: np.ndarray) -> float:
    """The median, over the fixed sample of ``heard``, of each track's best similarity to the liked ``mine``
    (remembered for these rows and these likes: a listener's next request, until she likes another track or the
    index changes, skips the sample's product)."""
    return _FLOORS.get((heard,), np.asarray(mine_ids, np.int64).tobytes(),
                       lambda: float(np.median((_sampled(heard) @ mine.T).max(axis=1))))


def _sampled(heard: Rows) -> np.ndarray:
    """The embeddings of the fixed sample of ``heard`` ``(FLOOR_SAMPLE, d)``, gathered once per view (a gather of
    scattered rows of a million cost about as much as the product itself)."""
    return _SAMPLED.get((heard,), None, lambda: np.ascontiguousarray(heard.vectors[_sample(len(heard))]))


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
