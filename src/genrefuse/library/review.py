"""Tracks that need a person, most useful first: files whose own genre tag the model and the taggers agree
against (likely mis-tagged), files whose tag the model contradicts without the taggers' agreement (model and
tag disagree: either may be wrong), tracks unlike every genre the model knows (unknown), tracks far from
their album's genre, tracks the newest model would file elsewhere, and unsure ones. Every track flagged for a
person anywhere (ingest, the page, the API, ``playlists/_unsure.m3u8``) is in it; confirmed tracks never are.

The model's opinion is the track's ``suggestion`` (from ``genrefuse learn``: held out for the tracks it
learned from), else what the model said when the track came in.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from ..models import evidence
from ..models.verdict import Verdict
from .db import Track
from .library import Library

REASONS = ("mis-tagged", "disagree", "unknown", "far", "refile", "unsure")   # the queue's order
WHY = {"mis-tagged": "the model and the musicnn taggers agree on another genre than the file's own genre tag",
       "unknown": "unlike every genre the model knows",
       "disagree": "the model and the file's own genre tag disagree, and the taggers do not settle which is right",
       "far": "far from its album's genre",
       "refile": "the newest model files it under another genre",
       "unsure": "the model is unsure"}


@dataclass
class ReviewItem:
    id: int
    reason: str
    why: str
    file: str
    genre: str                  # the track's genre now
    tagged: list[str]           # the genres its file's own tag named (mapped to the library's names)
    suggested: str              # the model's genre
    confidence: float
    familiarity: float | None
    added_by: int | None        # the listener who added it (None: the command line); they or an admin may change it

    def to_json(self) -> dict:
        return asdict(self)


def opinion(lib: Library, track: Track) -> Verdict:
    """The model's verdict on ``track``: its suggestion (judged when `learn` made it), or the library's
    model's verdict on the prediction made at ingest."""
    s = track.suggestion
    if s:
        return Verdict(s["genre"], float(s["confidence"]), bool(s["unsure"]), bool(s["unknown"]), s.get("familiarity"),
                       disputed_by=s.get("disputed_by"), support=s.get("support"))
    return lib.verdict(track)


def reason_of(track: Track, view: Verdict, tagged: list[str], known: list[str], *, flagged: Verdict | None = None
              ) -> str | None:
    """Why ``track`` needs a person, or None. A tag is contradicted only where it names a genre the model
    ``known``s (it cannot judge the others): **mis-tagged** where the model is sure of another genre and the
    taggers agree with it against the tag (:func:`~genrefuse.models.evidence.contradicts`), else the model and the
    tag **disagree** (either may be wrong). ``flagged``: the library's verdict on the track when it needs a look
    (:meth:`Library.needs_look`), so that every track flagged anywhere is in the queue."""
    named = [g for g in tagged if g in known]
    if named and view.sure and view.genre not in tagged:
        return "mis-tagged" if evidence.contradicts(view.genre, named, track.heard) else "disagree"
    if view.unknown:
        return "unknown"
    if not track.confirmed and (track.album or {}).get("far"):
        return "far"
    if view.sure and view.genre != track.genre and not tagged:
        return "refile"
    if view.unsure:
        return "unsure"
    if flagged is not None:
        return "unknown" if flagged.unknown else "unsure"
    return None


def review_queue(lib: Library, *, limit: int | None = None) -> list[ReviewItem]:
    items = []
    with lib.Session() as s:
        tracks = s.scalars(select(Track).where(Track.confirmed.is_(False)).order_by(Track.id)).all()
    for t in tracks:
        view = opinion(lib, t)
        tagged = list(dict.fromkeys(lib.vocabulary.get(g) or g.casefold() for g in (t.file_genres or [])))
        own = lib.verdict(t)
        flagged = own if lib.needs_look(t, verdict=own) else None
        reason = reason_of(t, view, tagged, lib.model_genres, flagged=flagged)
        if reason is None:
            continue
        if flagged is not None and reason in ("unknown", "unsure") and view.sure:
            view = flagged              # the newest model is sure, the library's verdict is not: the latter stands
        items.append(ReviewItem(t.id, reason, WHY[reason], t.stored_path, t.genre, tagged, view.genre,
                                view.confidence, view.familiarity, t.added_by))

    def key(item: ReviewItem):
        rank = REASONS.index(item.reason)
        if item.reason == "unknown":
            return rank, item.familiarity if item.familiarity is not None else 1.0
        if item.reason == "unsure":
            return rank, item.confidence
        return rank, -item.confidence
    items.sort(key=key)
    return items[:limit] if limit else items
