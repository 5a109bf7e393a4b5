"""Real labelled recordings from outside GTZAN (``shared/data/real-train`` and ``real-dev``): their genre as a
model names it, their artist group (what cross-validation keeps together) and how much their label is trusted.

A folder's ``SOURCES.tsv`` gives per file its genre and, where known, its artist, source and label strength
(``real-dev``'s has no artist: its recordings are grouped by source repository). Genre names go through one
mapping, :func:`genre_of`: the electronic styles (``techno``, ``dubstep``, ...) are electronic, ``hip-hop`` is
hiphop, and the other names stay as they are.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..genres import GTZAN_GENRES, Vocabulary

SOURCES = "SOURCES.tsv"
# the electronic styles of the real folders, read as electronic
ELECTRONIC_STYLES = ("techno", "trance", "dubstep", "house", "breaks", "electronica-downtempo", "edm", "electronica")
WEAK_WEIGHT = 0.5           # a weak label (inferred, not the source's own category) counts this much in training


def genre_of(folder_genre: str) -> str:
    """The genre a real folder's name means: an electronic style is electronic, a GTZAN genre's other spelling is
    that genre (``hip-hop``), anything else its own name."""
    name = folder_genre.strip().lower()
    if name in ELECTRONIC_STYLES:
        return "electronic"
    return _GTZAN.get(name) or name


_GTZAN = Vocabulary(GTZAN_GENRES)


# What kind of material a recording is, from its SOURCES.tsv row (file name and note), so that figures can be given
# per kind: the rule was fixed from the notes before any figure per kind was seen. The first kind whose words the
# row holds; else a full production (a released track: an album's, a dance record, a streamed or downloaded song).
MATERIALS: dict[str, tuple[str, ...]] = {
    "traditional or art-music recording": ("saraga", "ragadataset", "cante100", "tonas", "brid_", "vietnamese",
                                           "hat xam", "carnatic", "hindustani", "tibetan"),
    "solo instrument or bare beat": ("solo piano", "drum-kit beat", "a-cappella", "percussion-only", "irmas_"),
    "loop, sample pack or library cue": ("loop", "sample-pack", "essentia_", "bensound-", "uriopass_jazz",
                                         "game-music"),
}
FULL_PRODUCTION = "full production"


def material_of(row: dict[str, str]) -> str:
    """The kind of material (:data:`MATERIALS`, else :data:`FULL_PRODUCTION`) a SOURCES.tsv row describes."""
    text = " ".join(row.get(k) or "" for k in ("file", "note", "repo", "source_repo")).casefold()
    return next((kind for kind, words in MATERIALS.items() if any(w in text for w in words)), FULL_PRODUCTION)


@dataclass(frozen=True)
class RealRecording:
    """One labelled recording: its file, its genre (:func:`genre_of`), the group cross-validation keeps
    together (its artist, else its source), whether its label is ``weak``, its SHA-256 (from SOURCES.tsv) and the
    kind of material it is (:func:`material_of`)."""

    path: Path
    genre: str
    group: str
    weak: bool
    sha256: str
    material: str = FULL_PRODUCTION     # :func:`material_of`

    @property
    def id(self) -> str:
        """``<folder>/<genre folder>/<file>``: unique across the real folders."""
        return "/".join(self.path.parts[-3:])

    @property
    def weight(self) -> float:
        return WEAK_WEIGHT if self.weak else 1.0


def read_real(folder: str | Path) -> list[RealRecording]:
    """The recordings listed in ``folder/SOURCES.tsv`` that are present, in its order."""
    folder = Path(folder)
    sources = folder / SOURCES
    if not sources.is_file():
        raise DataError(f"{sources}: no such file (a real-recordings folder lists its files in {SOURCES})")
    out = []
    with open(sources, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = folder / row["file"]
            if not path.is_file():
                continue
            group = (row.get("artist") or "").strip().casefold() or \
                (row.get("repo") or row.get("source_repo") or row["file"]).strip()
            out.append(RealRecording(path, genre_of(row["genre"]), f"{folder.name}:{group}",
                                     (row.get("label_strength") or "strong").strip() == "weak", row.get("sha256", ""),
                                     material_of(row)))
    return out


def learnable(recordings: list[RealRecording], *, min_examples: int, min_groups: int) -> dict[str, int]:
    """The genres with at least ``min_examples`` recordings from ``min_groups`` groups (artists), and their counts."""
    counts = Counter(r.genre for r in recordings)
    groups = Counter(g for g, _ in {(r.genre, r.group) for r in recordings})
    return {g: n for g, n in sorted(counts.items()) if n >= min_examples and groups[g] >= min_groups}
