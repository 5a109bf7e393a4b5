"""Labelled model inputs of a whole dataset, row-aligned, ready to split: from audio (through the
feature cache) or from a feature table, with the musicnn summaries when asked."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..io import cache_dir as default_cache_dir
from ..preprocess.track import ModelInputs
from .extract import extract_dataset, load_cached
from .layouts import discover, is_feature_table
from .splits import SPLITS, fault_filtered_split, kfold_splits, random_split
from .table_csv import read_feature_table
from .tags import audio_summaries, join_embeddings

log = logging.getLogger(__name__)



def feature_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``$GENREFUSE_CACHE``, else ``~/.cache/genrefuse/features``."""
    return Path(cache_dir or os.environ.get("GENREFUSE_CACHE") or default_cache_dir("features"))


@dataclass
class LabelledData:
    """Model inputs of a labelled dataset, one row per track."""

    table: np.ndarray                 # (n, 57) float64, raw (not standardised)
    mel: np.ndarray | None            # (n, n_mels, n_frames) float32, or None
    labels: list[str]
    tracks: list[str]                 # the recording's id (``blues/blues.00029``): splits group by it
    names: list[str]                  # what a person reads: the file name
    paths: list[Path] | None          # the audio files, or None for a feature table
    hashes: list[str] | None          # their content hashes (feature-cache keys), or None
    source: str
    tags: np.ndarray | None = None    # (n, 100) musicnn taggram summaries, or None
    segment: np.ndarray | None = None  # (n,) each row's segment of its track when rows are segments, or None
    deep: np.ndarray | None = None    # (n, 400) the penultimate features' summary (NaN rows: absent), or None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def inputs(self) -> ModelInputs:
        return ModelInputs(self.table, self.mel, self.tags, deep=self.deep)

    def subset(self, idx: np.ndarray) -> "LabelledData":
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        items = lambda xs: None if xs is None else [xs[i] for i in idx]  # noqa: E731
        return LabelledData(self.table[idx], pick(self.mel), items(self.labels), items(self.tracks),
                            items(self.names), items(self.paths), items(self.hashes), self.source, pick(self.tags),
                            pick(self.segment), pick(self.deep))


def load_labelled(data: str | Path | list[str | Path], *, with_mel: bool, with_tags: bool = False,
                  embeddings: str | Path | None = None, cache_dir: str | Path | None = None,
                  params: FeatureParams = DEFAULT_PARAMS, jobs: int | None = None, progress: bool = True) -> LabelledData:
    """Both inputs of a labelled audio dataset (through the feature cache: a clip's middle
    ``params.window_seconds``), or the rows of a feature table; with ``with_tags`` also the musicnn
    inputs (see :func:`with_tag_inputs`).

    Several datasets (a list) are loaded one by one and joined; then ``embeddings`` serve the feature
    tables among them, and the audio ones get their musicnn inputs from their audio."""
    sources = [Path(d) for d in data] if isinstance(data, (list, tuple)) else [Path(data)]
    cache = feature_cache_dir(cache_dir)
    parts = []
    for src in sources:
        ld = _load(src, with_mel=with_mel, cache_dir=cache, params=params, jobs=jobs, progress=progress)
        if with_tags:
            use = embeddings if len(sources) == 1 or ld.paths is None else None
            ld = with_tag_inputs(ld, embeddings=use, cache_dir=cache, jobs=jobs, progress=progress)
        parts.append(ld)
    return parts[0] if len(parts) == 1 else concat_labelled(parts)


def concat_labelled(parts: list[LabelledData]) -> LabelledData:
    """The rows of several datasets, in order (a track id that appears in two is kept apart by its source)."""
    def cat(a):
        return None if any(x is None for x in a) else np.concatenate(a)

    def join(a):
        return None if any(x is None for x in a) else [v for x in a for v in x]

    tracks = [t if i == 0 else f"{p.source}:{t}" for i, p in enumerate(parts) for t in p.tracks]
    return LabelledData(np.concatenate([p.table for p in parts]), cat([p.mel for p in parts]),
                        join([p.labels for p in parts]), tracks, join([p.names for p in parts]),
                        join([p.paths for p in parts]), join([p.hashes for p in parts]),
                        " + ".join(p.source for p in parts), cat([p.tags for p in parts]))


def _load(data: Path, *, with_mel: bool, cache_dir: Path, params: FeatureParams, jobs: int | None,
          progress: bool) -> LabelledData:
    if data.is_file() and is_feature_table(data):
        if with_mel:
            raise DataError(f"{data}: a feature table has no Mel spectrograms; the cnn and fusion models need audio")
        t = read_feature_table(data)
        keep = [i for i, lab in enumerate(t.labels) if lab]
        if not keep:
            raise DataError(f"{data}: no row has a label")
        tracks = t.tracks                 # a list made on each access: made once, not once a row
        return LabelledData(t.X[keep], None, [t.labels[i] for i in keep], [tracks[i] for i in keep],
                            [t.filenames[i] for i in keep], None, None, str(data))
    items = [i for i in discover(data) if i.label is not None]
    if not items:
        raise DataError(f"{data}: no labelled audio found (expected genre folders, a GTZAN copy or a path,label manifest)")
    rows, report = extract_dataset(items, cache_dir, jobs=jobs, params=params, progress=progress)
    for f in report.failures:
        log.warning("skipped: %s", f)
    if not rows:
        raise DataError(f"{data}: no file could be read")
    ds = load_cached(rows, cache_dir, params=params, with_mel=with_mel)
    return LabelledData(ds.table, ds.mel if with_mel else None, [str(x) for x in ds.labels], ds.tracks,
                        [p.name for p in ds.paths], list(ds.paths), [d for _, d in rows], str(data))


def with_tag_inputs(data: LabelledData, *, embeddings: str | Path | None, cache_dir: Path, jobs: int | None = None,
                    progress: bool = True) -> LabelledData:
    """``data`` with its musicnn inputs: from ``embeddings`` (rows without one are left out, and said
    so) or, for audio, computed with the ported musicnn through the cache."""
    if embeddings is not None:
        keep, vectors = join_embeddings(data.tracks, embeddings, source=data.source)
        out = data.subset(keep)
        out.tags = vectors
        return out
    if data.paths is None:
        raise DataError(f"{data.source}: a feature table has no audio for the musicnn branch; give --embeddings")
    vectors, errors = audio_summaries(data.paths, data.hashes, cache_dir, jobs=jobs, progress=progress)
    for e in errors:
        log.warning("skipped: %s", e)
    keep = np.flatnonzero(np.isfinite(vectors).all(axis=1))
    out = data.subset(keep)
    out.tags = vectors[keep]
    return out


def make_splits(data: LabelledData, split: str, *, seed: int = 0, folds: int = 10,
                split_dir: str | Path | None = None) -> list[dict[str, np.ndarray]]:
    """One split (random, fault-filtered) or ``folds`` splits (kfold) over the rows of ``data``:
    dicts of row indices ``train``, ``valid``, ``test``."""
    if split == "random":
        s = random_split(data.labels, data.tracks, seed=seed)
        if not len(s["test"]) or not len(s["train"]):
            raise DataError(f"{data.source}: too few tracks for a train/validation/test split "
                            f"(at least 3 per genre are needed)")
        return [s]
    if split == "kfold":
        return kfold_splits(data.labels, data.tracks, k=folds, seed=seed)
    if split == "fault-filtered":
        if split_dir is None:
            raise DataError("the fault-filtered split needs --split-dir (the folder of train/valid/test_filtered.txt)")
        s, missing, unlisted = fault_filtered_split(data.tracks, split_dir)
        if missing:
            log.warning("fault-filtered split: %d listed tracks are not in the data (e.g. %s)", len(missing), missing[0])
        if unlisted:
            log.warning("fault-filtered split: %d tracks of the data are in no list and are left out", len(unlisted))
        if not len(s["train"]) or not len(s["test"]):
            raise DataError(f"{data.source}: the fault-filtered split leaves {len(s['train'])} training and "
                            f"{len(s['test'])} test tracks; both lists need tracks in the data (with --embeddings, "
                            f"only tracks that have embeddings)")
        return [s]
    raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
