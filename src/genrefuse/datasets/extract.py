"""Batch feature extraction: the public-style feature table, and the model-input cache of a dataset."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import load_clip
from ..errors import AudioError
from ..features.clip import clip_inputs
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..features.columns import FEATURE_COLUMNS
from ..parallel import map_items
from ..io import file_hash
from .cache import FeatureCache, read_manifest, write_manifest
from .layouts import Item
from .table_csv import write_feature_table


@dataclass
class BatchReport:
    ok: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return 1 if self.failures else 0


def table_row(item: Item, *, params: FeatureParams = DEFAULT_PARAMS) -> dict:
    """One row of the public table for a file (``filename`` takes a .wav suffix, as in that table)."""
    y = load_clip(item.path, sr=params.sr, window=params.window_seconds)
    _, values = clip_inputs(y, params=params)
    row = {"filename": f"{item.path.stem}.wav", "length": int(y.size)}
    row.update(zip(FEATURE_COLUMNS, map(float, values)))
    row["label"] = item.label or ""
    return row


def features_table(items: list[Item], out: str | Path, *, jobs: int | None = None,
                   params: FeatureParams = DEFAULT_PARAMS, progress: bool = True) -> BatchReport:
    """Compute the 57-feature table for ``items`` and write it to ``out`` in input order."""
    report = BatchReport()
    rows: dict[Path, dict] = {}
    for o in map_items(functools.partial(table_row, params=params), items, jobs=jobs, desc="features",
                       progress=progress):
        if o.ok:
            rows[o.item.path] = o.value
            report.ok += 1
        else:
            report.failures.append(o.error)
    write_feature_table(out, (rows[i.path] for i in items if i.path in rows))
    return report


def _extract_one(job: tuple[Item, str], *, cache: FeatureCache) -> str:
    item, digest = job
    y = load_clip(item.path, sr=cache.params.sr, window=cache.params.window_seconds)
    mel, table = clip_inputs(y, params=cache.params)
    cache.put(digest, mel=mel, table=table, length=y.size)
    return digest


def _hash_or_error(item: Item) -> str:
    if not item.path.is_file():
        raise AudioError(item.path, "no such file")
    return file_hash(item.path)


def extract_dataset(items: list[Item], cache_dir: str | Path, *, jobs: int | None = None,
                    params: FeatureParams = DEFAULT_PARAMS, progress: bool = True) -> tuple[list[tuple[Item, str]], BatchReport]:
    """Extract both model inputs of every item into the cache and write ``cache_dir/manifest.csv``.

    Files are hashed here; only clips missing from the cache are decoded, in worker processes, so a
    second run does no audio work and starts no pool. Returns the (item, hash) pairs that succeeded,
    in input order.
    """
    cache = FeatureCache(Path(cache_dir), params)
    report = BatchReport()
    digests: dict[Path, str] = {}
    todo: list[tuple[Item, str]] = []
    for o in map_items(_hash_or_error, items, jobs=1, desc="hash", progress=progress):
        if not o.ok:
            report.failures.append(o.error)
        elif cache.has(o.value):
            digests[o.item.path] = o.value
        else:
            todo.append((o.item, o.value))
    for o in map_items(functools.partial(_extract_one, cache=cache), todo, jobs=jobs, desc="extract",
                       progress=progress):
        if o.ok:
            digests[o.item[0].path] = o.value
        else:
            report.failures.append(o.error)
    report.ok = len(digests)
    rows = [(i, digests[i.path]) for i in items if i.path in digests]
    write_manifest(Path(cache_dir) / "manifest.csv", rows)
    return rows, report


@dataclass
class CachedDataset:
    """Model inputs of a dataset loaded from the cache, in manifest order."""

    mel: np.ndarray          # (n, n_mels, n_frames) float32
    table: np.ndarray        # (n, 57) float64
    labels: list[str | None]
    tracks: list[str]
    paths: list[Path]


def load_cached(rows: list[tuple[Item, str]], cache_dir: str | Path, *,
                params: FeatureParams = DEFAULT_PARAMS, with_mel: bool = True) -> CachedDataset:
    cache = FeatureCache(Path(cache_dir), params)
    n = len(rows)
    mel = np.empty((n, params.n_mels, params.n_frames), np.float32) if with_mel else np.empty((n, 0, 0), np.float32)
    table = np.empty((n, len(FEATURE_COLUMNS)), np.float64)
    for i, (_, digest) in enumerate(rows):
        z = cache.get(digest)
        if with_mel:
            mel[i] = z["mel"]
        table[i] = z["table"]
    return CachedDataset(mel, table, [r[0].label for r in rows], [r[0].track for r in rows], [r[0].path for r in rows])


def load_manifest_dataset(cache_dir: str | Path, *, params: FeatureParams = DEFAULT_PARAMS,
                          with_mel: bool = True) -> CachedDataset:
    return load_cached(read_manifest(Path(cache_dir) / "manifest.csv"), cache_dir, params=params, with_mel=with_mel)
