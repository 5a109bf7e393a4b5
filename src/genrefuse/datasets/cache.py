"""The feature cache: both model inputs of every clip, keyed by content hash, feature parameters and the
recipes' versions (``features.params.RECIPE_VERSIONS``).

Layout: ``CACHE/<params-key>/params.json`` and ``CACHE/<params-key>/<hh>/<sha256>.safetensors`` (the one
input cache, :mod:`genrefuse.preprocess.cache`); a readable
``CACHE/manifest.csv`` lists the dataset (path, label, track, hash). Writes are atomic; reads check the
arrays' shapes against the parameters.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..features.params import DEFAULT_PARAMS, FeatureParams, RECIPE_VERSIONS
from ..io import atomic_path, write_text_atomic
from ..preprocess.cache import ArrayCache
from .layouts import Item


@dataclass(frozen=True)
class FeatureCache:
    """Both model inputs of every clip for training, in the one input cache
    (:class:`~genrefuse.preprocess.cache.ArrayCache`) under the parameters' key as its recipe."""

    root: Path
    params: FeatureParams = DEFAULT_PARAMS

    @property
    def store(self) -> ArrayCache:
        return ArrayCache(self.root)

    @property
    def folder(self) -> Path:
        return Path(self.root) / self.params.key()

    def path_for(self, digest: str) -> Path:
        return self.store.path(digest, self.params.key())

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put(self, digest: str, *, mel: np.ndarray, table: np.ndarray, length: int) -> None:
        params_file = self.folder / "params.json"
        if not params_file.exists():
            write_text_atomic(params_file, json.dumps({**self.params.to_dict(), "recipes": {
                k: RECIPE_VERSIONS[k] for k in ("table", "mel")}}, indent=2))
        self.store.put(digest, self.params.key(), mel=mel.astype(np.float32), table=table.astype(np.float64),
                       length=np.array([length], np.int64))

    def get(self, digest: str) -> dict[str, np.ndarray]:
        """The entry's arrays: ``mel`` ``(..., n_mels, n_frames)``, ``table`` ``(..., 57)`` (one clip, or a
        stack of its segments), ``length``; an entry of other shapes is a :class:`DataError` naming it."""
        out = self.store.get(digest, self.params.key()) or {}
        mel, table = out.get("mel"), out.get("table")
        p = self.params
        if (mel is None or table is None or mel.shape[-2:] != (p.n_mels, p.n_frames) or table.shape[-1] != 57
                or mel.shape[:-2] != table.shape[:-1]):
            raise DataError(f"{self.path_for(digest)}: a feature-cache entry of other shapes than its parameters give "
                            f"(mel {None if mel is None else mel.shape}, table {None if table is None else table.shape}); "
                            f"delete it and run again")
        return out


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
