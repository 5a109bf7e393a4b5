"""A library's albums filed under one genre: the tracks whose tags name the same album
(:func:`~genrefuse.inference.albums.album_key`) pooled into one answer by the model's own rules
(:func:`~genrefuse.inference.albums.album_verdict`, as ``genrefuse tag`` does).

After each batch (``ingest``, ``library scan``, an upload) and each change of a track (removed, corrected, its
album tags changed on disk and found by ``library scan``), every album touched is pooled again with all its
tracks in the library; an album left with one track leaves it to its own answer. When the album is **coherent**, each of its tracks not confirmed by a
person is filed under the album's genre (the file moves to that folder; the track keeps its own
probabilities and is judged on its own evidence for that genre, see :meth:`Library.verdict`: a track unsure
on its own stays flagged for a person), except a track **far**
from it, which keeps its own genre and goes on the list of tracks for a person. A track the album no longer
carries (the album became incoherent, or the track far) goes back to its own genre. Confirmed tracks are
never moved; they are pooled as the genre the person gave.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from ..errors import GenrefuseError
from ..inference.albums import album_verdict
from .db import Track


@dataclass(frozen=True)
class _Heard:
    """A stored track as :func:`album_verdict` reads a prediction: its own answer, probabilities, familiarity
    and evidence."""

    answer: str
    probabilities: dict
    familiarity: float | None
    evidence: dict


@dataclass
class AlbumsFiled:
    """What :func:`file_albums` did: per album pooled, a line (its name, genre, how many agree); the tracks
    refiled; those far from their album (for a person); the failures (a track whose file is gone)."""

    albums: list[str] = field(default_factory=list)
    refiled: int = 0
    far: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def file_albums(lib, keys: Iterable[str | None]) -> AlbumsFiled:
    """Pool the albums ``keys`` (their tracks in the library, two or more) and file their tracks as the
    module says. Each track is refiled on its own (one track's failure leaves the others filed)."""
    out = AlbumsFiled()
    for key in sorted({k for k in keys if k}):
        with lib.Session() as s:
            tracks = list(s.scalars(select(Track).where(Track.album_key == key).order_by(Track.id)))
        if not tracks:
            continue
        own = [lib.own_verdict(t) for t in tracks]
        name = (tracks[0].album or {}).get("name") or key
        if len(tracks) < 2:                 # what is left of an album is one track: judged by itself again
            whole = None
        else:                               # a person's genre counts as said for sure
            whole = album_verdict(lib.handle.rules, [
                _Heard(t.genre, {**dict.fromkeys(t.probabilities, 0.0), t.genre: 1.0}, t.familiarity, t.heard)
                if t.confirmed else
                _Heard(v.answer, dict(t.probabilities), t.familiarity, t.heard) for t, v in zip(tracks, own)])
        v = whole.verdict if whole else None
        if whole and whole.coherent:
            out.albums.append(f"{name}: {v.genre} ({whole.agree} of {len(tracks)} tracks say so)")
        for i, (track, mine) in enumerate(zip(tracks, own)):
            if track.confirmed:                       # a person's word stands
                continue
            record, genre = {"name": name}, track.genre
            if whole and i in whole.members:
                record.update(genre=v.genre, confidence=round(v.confidence, 6), familiarity=v.familiarity,
                              evidence={k: round(x, 6) for k, x in whole.heard.items()})
                genre = v.genre
            else:
                if (track.album or {}).get("genre") == track.genre:
                    genre = mine.genre                # filed by its album before: back to its own
                if whole and whole.coherent and i in whole.far:
                    record["far"] = v.genre
                    out.far.append(f"track {track.id} ({track.original_name}): {mine.genre}, far from its album's "
                                   f"genre ({v.genre}, {name})")
            if genre == track.genre and record == (track.album or {}):
                continue
            try:
                lib.refile(track, genre, album=record)
                out.refiled += genre != track.genre
            except GenrefuseError as exc:
                out.failures.append(f"track {track.id}: {exc}")
    return out
