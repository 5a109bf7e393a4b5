"""The feature cache: both model inputs of every clip, keyed by content hash and feature parameters.

Layout: ``CACHE/<params-key>/params.json`` and ``CACHE/<params-key>/<hh>/<sha256>.npz``; a readable
``CACHE/manifest.csv`` lists the dataset (path, label, track, hash). Writes are atomic.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..io import atomic_path, write_text_atomic
from .layouts import Item


def atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


@dataclass(frozen=True)
class FeatureCache:
    root: Path
    params: FeatureParams = DEFAULT_PARAMS

    @property
    def folder(self) -> Path:
        return Path(self.root) / self.params.key()

    def path_for(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.npz"

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put(self, digest: str, *, mel: np.ndarray, table: np.ndarray, length: int) -> None:
        params_file = self.folder / "params.json"
        if not params_file.exists():
            write_text_atomic(params_file, json.dumps(self.params.to_dict(), indent=2))
        atomic_save_npz(self.path_for(digest), mel=mel.astype(np.float32), table=table.astype(np.float64),
                        length=np.int64(length))

    def get(self, digest: str) -> dict[str, np.ndarray]:
        with np.load(self.path_for(digest)) as z:
            return {k: z[k] for k in z.files}


MANIFEST_COLUMNS = ("path", "label", "track", "hash")


def write_manifest(path: Path, rows: list[tuple[Item, str]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(MANIFEST_COLUMNS)
        for item, digest in rows:
            w.writerow([str(item.path), item.label or "", item.track, digest])


def read_manifest(path: Path) -> list[tuple[Item, str]]:
    with Path(path).open(newline="") as f:
        return [(Item(Path(r["path"]), r["label"] or None, r["track"]), r["hash"]) for r in csv.DictReader(f)]
