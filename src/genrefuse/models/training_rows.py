"""The rows a model was trained on, kept beside it (``training_rows.safetensors``): raw table rows, taggram
summaries, the penultimate features' summaries (where the model reads them; NaN for rows whose source lacks
them, GTZAN's published data), their genres and track ids. They are what familiarity measures against, and what a library
model learns on top of (``learn --base``). Derived data, a few hundred kB for the packaged model."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError

FILE = "training_rows.safetensors"
DEEP_COLUMNS = 400          # the penultimate features' summary: 200 means, then 200 spreads


@dataclass
class TrainingRows:
    """``table`` ``(n, 57)``, ``tags`` ``(n, 100)`` or None, ``labels`` (n genre names), ``tracks`` (n ids;
    rows of one track share its id, so that held-out folds keep them together), ``deep`` ``(n, 400)`` or None
    (a row without them NaN)."""

    table: np.ndarray
    tags: np.ndarray | None
    labels: list[str]
    tracks: list[str]
    deep: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.table)

    def subset(self, idx) -> "TrainingRows":
        idx = np.asarray(idx, int)
        return TrainingRows(self.table[idx], None if self.tags is None else self.tags[idx],
                            [self.labels[i] for i in idx], [self.tracks[i] for i in idx],
                            None if self.deep is None else self.deep[idx])

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        genres = sorted(set(self.labels))
        arrays = {"table": np.ascontiguousarray(self.table, np.float32),
                  "labels": np.array([genres.index(g) for g in self.labels], np.int32)}
        if self.tags is not None:
            arrays["tags"] = np.ascontiguousarray(self.tags, np.float32)
        if self.deep is not None:          # only the rows that have them (GTZAN's published rows do not)
            has = np.flatnonzero(~np.isnan(self.deep).all(axis=1))
            arrays["deep"] = np.ascontiguousarray(self.deep[has], np.float32)
            arrays["deep_rows"] = has.astype(np.int32)
        save_file(arrays, str(folder / FILE), metadata={"genres": json.dumps(genres), "tracks": json.dumps(self.tracks)})


def join(parts: list[TrainingRows]) -> TrainingRows:
    """Rows of several sources one after another (all with taggrams, or the table only); the penultimate
    features' summaries where any part has them (NaN for the rows of a part without)."""
    tags = None if any(p.tags is None for p in parts) else np.concatenate([p.tags for p in parts])
    deep = None
    if any(p.deep is not None for p in parts):
        deep = np.concatenate([p.deep if p.deep is not None else np.full((len(p), DEEP_COLUMNS), np.nan, np.float32)
                               for p in parts])
    return TrainingRows(np.concatenate([p.table for p in parts]), tags, [g for p in parts for g in p.labels],
                        [t for p in parts for t in p.tracks], deep)


def load_training_rows(folder: str | Path) -> TrainingRows | None:
    """A model folder's training rows, or None when it keeps none."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
        genres, tracks = json.loads(meta["genres"]), json.loads(meta["tracks"])
        labels = [genres[i] for i in arrays["labels"]]
        deep = None
        if "deep" in arrays:
            deep = np.full((len(labels), arrays["deep"].shape[1]), np.nan, np.float32)
            deep[arrays["deep_rows"]] = arrays["deep"]
    except (KeyError, ValueError, IndexError, OSError) as exc:
        raise ModelError(f"{path}: unreadable training rows ({str(exc).splitlines()[0][:160]})") from None
    if len(tracks) != len(labels) or len(arrays["table"]) != len(labels):
        raise ModelError(f"{path}: training rows of unequal lengths")
    return TrainingRows(arrays["table"].astype(np.float64), arrays.get("tags"), labels, tracks, deep)
