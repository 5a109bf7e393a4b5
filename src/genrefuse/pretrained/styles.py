"""Styles: the genre-like tags among musicnn's 50 MSD tags (electronic, house, punk, folk, soul, ...), a
second level beside a model's genres. Scores are the tagger's sigmoid outputs averaged over a track's
3 s patches; a style is shown from ``FLOOR`` up.

Where a style names a GTZAN genre, ``benchmarks/styles.py`` measures it on the published taggrams of
GTZAN's 443 fault-filtered training tracks (at 0.2: hip-hop precision 0.97 / recall 0.83, country
0.92 / 0.80, blues 0.82 / 0.39, pop 0.51 / 0.85, jazz 0.53 / 0.98, rock 0.39 / 0.95, metal 1.00 / 0.07).
The other styles' only figures are the tagger's own published results on the Million Song Dataset.
"""
from __future__ import annotations

import numpy as np

from .weights import MSD_TAGS

STYLE_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz", "metal",
              "chillout", "classic rock", "soul", "indie rock", "electronica", "folk", "punk", "blues", "hard rock",
              "ambient", "acoustic", "experimental", "Hip-Hop", "country", "easy listening", "funk", "electro",
              "heavy metal", "Progressive rock", "rnb", "indie pop", "House")
FLOOR = 0.2
_INDEX = np.array([MSD_TAGS.index(t) for t in STYLE_TAGS])


def style_name(tag: str) -> str:
    """``Hip-Hop`` -> ``hip-hop``, ``House`` -> ``house``: lower case, as genre names are."""
    return tag.lower()


def styles_of(tag_means: np.ndarray, *, floor: float = FLOOR, limit: int | None = None) -> list[tuple[str, float]]:
    """``(style, score)`` pairs, best first, of a track's mean tag scores ``(50,)`` at or above ``floor``."""
    scores = np.asarray(tag_means, np.float64)[_INDEX]
    order = [i for i in np.argsort(-scores, kind="stable") if scores[i] >= floor]
    return [(style_name(STYLE_TAGS[i]), float(scores[i])) for i in order[:limit]]
