"""The model inputs of real labelled recordings (:mod:`genrefuse.datasets.real`), computed from their audio
as prediction computes them (the default model's window policy: the table, the MSD taggram summary and the MTT
tagger's mean tags and the summary of the MSD tagger's penultimate features), one row per recording (the mean of
its windows), cached by the file's content.

The cache is a folder of ``<sha256>.npz`` files (``table``, ``tags``, ``mtt``, ``deep``; no pickle), one per recording,
under ``~/.cache/genrefuse/real-rows/<recipe>``; a recording is analysed once, whatever reads it later.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import WindowPolicy
from ..datasets.real import RealRecording
from ..errors import DataError
from ..features.params import DEFAULT_PARAMS, recipe_key
from ..io import atomic_path, cache_dir, file_hash
from ..models import evidence
from ..parallel import map_items
from ..preprocess.track import ModelInputs, track_inputs


@dataclass
class RealRows:
    """One row per recording: ``table`` ``(n, 57)``, ``tags`` ``(n, 100)`` (MSD summary), ``mtt`` ``(n, 50)``,
    ``deep`` ``(n, 400)`` (the MSD tagger's penultimate features, summarised), and the recordings themselves
    (genre, group, weight)."""

    recordings: list[RealRecording]
    table: np.ndarray
    tags: np.ndarray
    mtt: np.ndarray
    deep: np.ndarray

    def __len__(self) -> int:
        return len(self.recordings)

    def heard(self, i: int) -> dict[str, float]:
        """Recording ``i``'s taggers' evidence per genre (:func:`~genrefuse.models.evidence.of_tags`), as
        prediction reads it from the same inputs."""
        return evidence.of_tags(msd=self.tags[i, :50], mtt=self.mtt[i])

    def subset(self, idx) -> "RealRows":
        idx = np.asarray(idx, int)
        return RealRows([self.recordings[i] for i in idx], self.table[idx], self.tags[idx], self.mtt[idx],
                        self.deep[idx])

    def inputs(self, idx=None) -> ModelInputs:
        """The rows ``idx`` (default all) as model inputs (one row per recording)."""
        idx = np.arange(len(self)) if idx is None else np.asarray(idx, int)
        return ModelInputs(self.table[idx].astype(np.float64), None, self.tags[idx], self.mtt[idx], self.deep[idx])


def recipe(policy: WindowPolicy) -> str:
    """What the cached rows depend on: the feature parameters, the window policy and the inputs' recipe versions
    (a hash of them)."""
    text = json.dumps({"params": DEFAULT_PARAMS.__dict__, "policy": policy.to_dict(), "rows": 2,
                       "recipe": recipe_key("table", "taggram", "mtt", "windows")}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _cached(recording: RealRecording, folder: Path) -> Path:
    return folder / f"{recording.sha256 or file_hash(recording.path)}.npz"


def _read(cached: Path) -> tuple[np.ndarray, ...] | None:
    if not cached.is_file():
        return None
    with np.load(cached, allow_pickle=False) as z:
        return z["table"], z["tags"], z["mtt"], z["deep"]


def _rows_of(recording: RealRecording, *, policy: WindowPolicy, folder: Path) -> tuple[np.ndarray, ...]:
    cached = _cached(recording, folder)
    rows = _read(cached)
    if rows is not None:
        return rows
    inputs = track_inputs(recording.path, params=DEFAULT_PARAMS, policy=policy, mel=False, tags=True, hear=True,
                          deep=True)
    rows = (inputs.table.mean(axis=0), inputs.tags.mean(axis=0), inputs.mtt.mean(axis=0), inputs.deep.mean(axis=0))
    with atomic_path(cached, suffix=".npz") as tmp:
        np.savez(tmp, table=rows[0], tags=rows[1], mtt=rows[2], deep=rows[3])
    return rows


def real_rows(recordings: list[RealRecording], *, policy: WindowPolicy, jobs: int | None = None,
              cache: str | Path | None = None, progress: bool = True) -> RealRows:
    """The rows of ``recordings`` (analysed once, then read from ``cache``); a recording that cannot be
    analysed is a :class:`DataError` naming it (the shared recordings all can)."""
    folder = Path(cache) if cache is not None else cache_dir("real-rows", recipe(policy))
    folder.mkdir(parents=True, exist_ok=True)
    found: dict[Path, tuple] = {r.path: rows for r in recordings if (rows := _read(_cached(r, folder))) is not None}
    todo = [r for r in recordings if r.path not in found]
    work = functools.partial(_rows_of, policy=policy, folder=folder)
    for out in map_items(work, todo, jobs=jobs, desc="real recordings", unit="file", progress=progress):
        if not out.ok:
            raise DataError(out.error)
        found[out.item.path] = out.value
    parts = [found[r.path] for r in recordings]
    return RealRows(list(recordings), *(np.stack([p[i] for p in parts]).astype(np.float32) for i in range(4)))
