"""Styles: the genre-like tags among musicnn's 50 MSD tags (electronic, house, punk, folk, soul, ...), a
second level beside a model's genres. Scores are the tagger's sigmoid outputs averaged over a track's
3 s patches; a style is shown from ``FLOOR`` up.

Where a style names a GTZAN genre, ``benchmarks/styles.py`` measures it on the published taggrams of
GTZAN's 443 fault-filtered training tracks (at 0.2: hip-hop precision 0.97 / recall 0.83, country
0.92 / 0.80, blues 0.82 / 0.39, pop 0.51 / 0.85, jazz 0.53 / 0.98, rock 0.39 / 0.95, metal 1.00 / 0.07).
The other styles' only figures are the tagger's own published results on the Million Song Dataset.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from .weights import MSD_TAGS, MTT_TAGS

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


# Mood-like tags among the MSD tags (as named there; chillout is read as chill). The tagger scores them low
# (on GTZAN's tracks their 99th percentile is 0.01-0.1), so a mood is judged against a reference: the share of
# GTZAN's 443 fault-filtered training tracks (published taggrams) that score lower (``mood_reference.json``,
# the quantiles of each tag's track means, rebuilt by ``python -m genrefuse.pretrained.styles SHARED_DATA``).
# A mood is heard from MOOD_FLOOR up. Nothing in genrefuse was trained or measured on moods: these are the
# tagger's own outputs, ranked against GTZAN's.
MOOD_TAGS = ("happy", "sad", "Mellow", "chill", "chillout", "party", "beautiful", "sexy", "catchy", "easy listening")
MOODS = ("happy", "sad", "mellow", "chill", "party", "beautiful", "sexy", "catchy", "easy listening")
MOOD_FLOOR = 0.9
_MOOD_INDEX = [MSD_TAGS.index(t) for t in MOOD_TAGS]
REFERENCE = Path(__file__).with_name("mood_reference.json")


@functools.lru_cache(maxsize=1)
def _reference() -> dict[str, np.ndarray]:
    data = json.loads(REFERENCE.read_text())
    return {t: np.asarray(q, np.float64) for t, q in data["quantiles"].items()}


def mood_rank(tag: str, score: float) -> float:
    """The share of the reference tracks whose mean ``tag`` score is below ``score``, 0..1."""
    q = _reference()[tag]                       # 101 quantiles, 0% .. 100%
    return float(np.interp(score, q, np.linspace(0.0, 1.0, len(q)), left=0.0, right=1.0))


def moods_of(tag_means: np.ndarray, *, floor: float = MOOD_FLOOR) -> list[tuple[str, float]]:
    """``(mood, rank)`` pairs, best first: each of :data:`MOODS` whose score in a track's mean MSD tags
    ``(50,)`` ranks at or above ``floor`` among GTZAN's reference tracks (chill: the better of chill and
    chillout)."""
    ranks: dict[str, float] = {}
    for tag, i in zip(MOOD_TAGS, _MOOD_INDEX):
        name = "chill" if tag == "chillout" else style_name(tag)
        ranks[name] = max(ranks.get(name, 0.0), mood_rank(tag, float(tag_means[i])))
    return sorted(((n, round(v, 3)) for n, v in ranks.items() if v >= floor), key=lambda nv: -nv[1])


# Energy: how loud and fast a recording sounds to the MTT tagger, whose tags include the listeners' words for
# it (MagnaTagATune's "loud", "fast" against "quiet", "soft", "slow"). The share of the first pair in the mean
# scores of all five, 0..1. Like the moods it is the tagger's own word, not measured against labels (none
# exist in the shared data); ``benchmarks/real_world.py`` lists it per real-dev folder as a sanity check.
ENERGY_UP = ("loud", "fast")
ENERGY_DOWN = ("quiet", "soft", "slow")
_UP_INDEX = [MTT_TAGS.index(t) for t in ENERGY_UP]
_DOWN_INDEX = [MTT_TAGS.index(t) for t in ENERGY_DOWN]
CALM, LIVELY = 0.35, 0.65     # a calm track's energy is under CALM, a lively one's LIVELY or more (fixed a priori)


def energy_of(mtt_means: np.ndarray) -> float:
    """A track's energy, 0..1, from its mean MTT tag scores ``(50,)``: (loud + fast) / (loud + fast + quiet +
    soft + slow); 0.5 where the tagger says none of them."""
    up = float(np.sum(mtt_means[_UP_INDEX]))
    down = float(np.sum(mtt_means[_DOWN_INDEX]))
    return round(up / (up + down), 3) if up + down > 1e-6 else 0.5


def build_reference(shared: Path, out: Path = REFERENCE) -> Path:
    """Write ``mood_reference.json`` from the published MSD taggrams of GTZAN's fault-filtered training tracks."""
    z = np.load(Path(shared) / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    tracks = sorted(set(ids))
    means = np.stack([z["X"][ids == t].mean(axis=0) for t in tracks])
    quantiles = {t: [round(float(x), 6) for x in np.quantile(means[:, MSD_TAGS.index(t)], np.linspace(0, 1, 101))]
                 for t in MOOD_TAGS}
    out.write_text(json.dumps({"source": "published MSD_musicnn taggrams of GTZAN's fault-filtered training tracks",
                               "tracks": len(tracks), "quantiles": quantiles}, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Rebuild mood_reference.json from the shared GTZAN taggrams.")
    ap.add_argument("shared", nargs="?", type=Path, default=Path("../shared/data"), help="the shared data folder")
    print(build_reference(ap.parse_args(argv).shared))


if __name__ == "__main__":
    main()
