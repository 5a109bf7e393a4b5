"""Genre names: GTZAN's ten are the default order when a dataset has exactly that set."""
from __future__ import annotations

from collections.abc import Iterable

GTZAN_GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)


def genre_order(labels: Iterable[str]) -> list[str]:
    """The ordered genre list for a set of labels: GTZAN's order when it is GTZAN's set, else sorted."""
    found = set(labels)
    if found == set(GTZAN_GENRES):
        return list(GTZAN_GENRES)
    return sorted(found)
