"""The musicnn tagger's own word on a genre, as a second expert beside a model's head.

The tagger (musicnn, trained on about 200,000 tracks of the Million Song Dataset with Last.fm tags) scores
genre-like tags for every track: a model's ``styles`` (:mod:`genrefuse.pretrained.styles`, the tags scored
``styles.FLOOR`` or more). A genre's **evidence** is the best score among the tags that name it
(:data:`EVIDENCE`, fixed from the tags' names). When the head's answer is contradicted, another genre the
model knows having evidence of at least :data:`DISPUTE` and more than the answer's own, the experts
disagree: the verdict calls the answer unsure (:mod:`.verdict`).
"""
from __future__ import annotations

from collections.abc import Iterable

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


def evidence(styles: Iterable[tuple[str, float]], genres: Iterable[str]) -> dict[str, float]:
    """Each of ``genres`` that the tagger can name: its best tag score among ``styles`` (0 where none of its
    tags reached the styles' floor)."""
    scores = {name: float(score) for name, score in styles}
    return {g: max((scores.get(t, 0.0) for t in EVIDENCE[g]), default=0.0) for g in genres if g in EVIDENCE}


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
