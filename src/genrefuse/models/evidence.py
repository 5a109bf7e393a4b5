"""The musicnn tagger's own word on a genre, as a second expert beside a model's head, and the genres it
knows that a GTZAN-trained head does not.

The tagger (musicnn, trained on about 200,000 tracks of the Million Song Dataset with Last.fm tags) scores
genre-like tags for every track: a model's ``styles`` (:mod:`genrefuse.pretrained.styles`, the tags scored
``styles.FLOOR`` or more). A genre's **evidence** is the best score among the tags that name it
(:data:`EVIDENCE`, fixed from the tags' names). When the head's answer is contradicted, another genre the
model knows having evidence of at least :data:`DISPUTE` and more than the answer's own, the experts
disagree: the verdict calls the answer unsure (:mod:`.verdict`). Both thresholds here were chosen on GTZAN, so only a
model of GTZAN's genres hears the tagger (:func:`heard_on_gtzan`): a library's own model, which knows genres
the tagger cannot name, keeps its own calibration.

**Genres from the tagger** (:data:`TAGGER_GENRES`: electronic, folk, soul, punk). A track the head finds
unlike everything it knows ("unknown") is named one of these when the tagger's evidence for it is at least
:data:`NEW_GENRE` and more than for any of the head's genres; its confidence is that evidence.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..genres import GTZAN_GENRES

# genre -> the tagger's tags that name it (as styles names them: lower case)
EVIDENCE: dict[str, tuple[str, ...]] = {
    "blues": ("blues",), "country": ("country",), "hiphop": ("hip-hop",), "jazz": ("jazz",),
    "metal": ("metal", "heavy metal"), "pop": ("pop", "indie pop"),
    "rock": ("rock", "classic rock", "hard rock", "alternative rock", "indie rock", "progressive rock"),
}

# The lowest evidence that disputes an answer: chosen by `benchmarks/tagger_blend.py` on the published
# taggrams of GTZAN's 443 fault-filtered training tracks alone, as the lowest at which at most 5% of them
# would have their true genre disputed (4.7% at 0.44). On the shared real-dev recordings (not used to choose
# it; `benchmarks/real_world.py`) it turned 4 of the packaged model's 18 sure answers unsure, all 4 wrong.
DISPUTE = 0.44

# genres a GTZAN head lacks and the tagger names, with the tags that name them
TAGGER_GENRES: dict[str, tuple[str, ...]] = {
    "electronic": ("electronic", "electronica", "electro", "house"), "folk": ("folk",), "soul": ("soul", "rnb"),
    "punk": ("punk",),
}

# The least evidence that names a genre from the tagger: the strength at which the tagger already overrules
# the head (DISPUTE). Checked on GTZAN alone: of the 443 fault-filtered training tracks, none that the head
# finds unknown (held-out familiarity) gets a tagger genre at it (at 0.35 a blues track became folk and a
# disco track electronic; the shared hiphop.00000 clip, electronic 0.40, stays unknown). On the shared
# real-dev recordings (`benchmarks/real_world.py`; not used to choose it) it named the 2 dubstep recordings
# electronic and nothing else.
NEW_GENRE = DISPUTE


def _scores(styles: Iterable[tuple[str, float]]) -> dict[str, float]:
    return {name: float(score) for name, score in styles}


def _best(scores: dict[str, float], tags: tuple[str, ...]) -> float:
    """A genre's evidence: the best score among the tags that name it (0 where none reached the styles' floor)."""
    return max((scores.get(t, 0.0) for t in tags), default=0.0)


def evidence(styles: Iterable[tuple[str, float]], genres: Iterable[str]) -> dict[str, float]:
    """Each of ``genres`` that the tagger can name: its evidence among ``styles``."""
    scores = _scores(styles)
    return {g: _best(scores, EVIDENCE[g]) for g in genres if g in EVIDENCE}


def rival(genre: str, styles: Iterable[tuple[str, float]], genres: Iterable[str], *,
          threshold: float = DISPUTE) -> str | None:
    """The genre (of ``genres``) the tagger names instead of ``genre`` (evidence of at least ``threshold`` and
    more than ``genre``'s own), or None when it does not contradict it."""
    ev = evidence(styles, genres)
    others = [(v, g) for g, v in ev.items() if g != genre]
    if not others:
        return None
    best, name = max(others)
    return name if best >= threshold and best > ev.get(genre, 0.0) else None


def tagger_genre(styles: Iterable[tuple[str, float]], *, exclude: Iterable[str] = (),
                 threshold: float = NEW_GENRE) -> tuple[str, float] | None:
    """``(genre, evidence)`` of the tagger's genre (:data:`TAGGER_GENRES`, less ``exclude``: those a model
    knows itself) when its evidence is at least ``threshold`` and more than any :data:`EVIDENCE` genre's;
    else None."""
    scores, exclude = _scores(styles), set(exclude)
    candidates = [(_best(scores, tags), g) for g, tags in TAGGER_GENRES.items() if g not in exclude]
    if not candidates:
        return None
    score, genre = max(candidates)
    if score < threshold or score <= max(_best(scores, tags) for tags in EVIDENCE.values()):
        return None
    return genre, score


def tagger_evidence(genre: str, styles: Iterable[tuple[str, float]]) -> float:
    """The tagger's evidence for one of :data:`TAGGER_GENRES`."""
    return _best(_scores(styles), TAGGER_GENRES[genre])


def heard_on_gtzan(genres: Iterable[str]) -> bool:
    """Whether a model's genres are among GTZAN's ten, on which the tagger's thresholds were chosen: only
    such a model hears the tagger's word (a library's own model is judged by its own calibration)."""
    return set(genres) <= set(GTZAN_GENRES)
