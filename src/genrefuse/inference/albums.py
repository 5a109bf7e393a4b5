"""One genre per album: the tracks of an album pooled into one answer, as beets' own genre plugins give.

Tracks belong to one album when their files' tags name the same album and album artist (or artist); a
file whose tags name no album is a single (a folder is not taken for an album: a downloads folder is not one). The album's probabilities are the mean of its tracks'; its
answer is judged by the model's own rules (:class:`~genrefuse.models.verdict.Rules`: the pooled
probabilities, the tracks' median familiarity and mean tagger evidence), so "sure", "unsure" and "unknown"
mean what they mean for a track; a track **far** from that answer (its own probability of the album's genre
under :data:`FAR`) is left out of the pool and pooled again without it. An album is **coherent** when its answer is sure and at least
:data:`COHERENT` of its tracks' own answers agree with it; then its genre is each track's, except for a
far track, which keeps its own and is listed for a person.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.verdict import Verdict
from ..tagging import FileMetadata

COHERENT = 0.5       # the share of an album's tracks whose own answer must be the album's
FAR = 0.1            # a track whose probability of the album's genre is under this keeps its own


def album_key(meta: FileMetadata) -> str | None:
    """The album a file belongs to: ``album artist (or artist), album`` from its tags, case-folded and with
    spaces collapsed; None for a file whose tags name no album."""
    if not meta.album:
        return None
    fold = lambda s: " ".join((s or "").casefold().split())  # noqa: E731
    return f"{fold(meta.album_artist or meta.artist)}\x1f{fold(meta.album)}"[:512]


def album_name(meta: FileMetadata) -> str | None:
    """How people name a file's album: ``album artist (or artist) - album``; None for a single."""
    if not meta.album:
        return None
    who = meta.album_artist or meta.artist
    return f"{who} - {meta.album}" if who else meta.album


@dataclass(frozen=True)
class AlbumVerdict:
    """An album's answer: its ``verdict`` (on the pooled probabilities), whether it is ``coherent``, the
    positions of its tracks that take the album's genre (``members``) and of those far from it (``far``)."""

    verdict: Verdict
    probabilities: dict[str, float]
    heard: dict[str, float]
    coherent: bool
    agree: int
    members: tuple[int, ...]
    far: tuple[int, ...]

    @property
    def genre(self) -> str:
        return self.verdict.genre


def _pool(rules, predictions: Sequence) -> tuple[Verdict, dict[str, float], dict[str, float]]:
    genres = list(predictions[0].probabilities)
    pooled = {g: float(np.mean([p.probabilities.get(g, 0.0) for p in predictions])) for g in genres}
    fams = [p.familiarity for p in predictions if p.familiarity is not None]
    heard_keys = {k for p in predictions for k in p.evidence}
    heard = {k: float(np.mean([p.evidence.get(k, 0.0) for p in predictions])) for k in heard_keys}
    return rules.of(pooled, float(np.median(fams)) if fams else None, heard=heard), pooled, heard


def within_album(rules, genre: str, album_confidence: float, probabilities: Mapping[str, float],
                 familiarity: float | None, heard: Mapping[str, float] | None) -> Verdict:
    """The verdict on a track filed under its album's ``genre``, judged by ``rules`` on the track's own evidence:
    its own probability of that genre (never more than the album's confidence), its own familiarity and taggers'
    evidence. Sure only where the track alone would be sure of that genre."""
    return rules.judge(genre, min(float(album_confidence), float(probabilities.get(genre, 0.0))), familiarity,
                       heard=heard)


def album_verdict(rules, predictions: Sequence) -> AlbumVerdict:
    """The album verdict of the tracks' :class:`~genrefuse.inference.predict.Prediction` objects, by ``rules``:
    pooled once, then again without the tracks far from that answer (so that one stray track does not drag
    the album's confidence down)."""
    v, pooled, heard = _pool(rules, predictions)
    far = tuple(i for i, p in enumerate(predictions)
                if p.answer != v.answer and p.probabilities.get(v.genre, 0.0) < FAR and v.known_by != "tagger")
    near = [p for i, p in enumerate(predictions) if i not in far]
    if far and near:
        v, pooled, heard = _pool(rules, near)
    agree = sum(p.answer == v.answer for p in predictions)
    coherent = v.sure and agree >= COHERENT * len(predictions)
    members = tuple(i for i in range(len(predictions)) if coherent and i not in far)
    return AlbumVerdict(v, pooled, heard, coherent, agree, members, far)


def group(paths: Iterable[Path], metas: dict[Path, FileMetadata]) -> list[list[Path]]:
    """Files by album (:func:`album_key`), each single on its own, in the order first met."""
    out: dict[object, list[Path]] = {}
    for p in paths:
        out.setdefault(album_key(metas[p]) or ("single", p), []).append(p)
    return list(out.values())
