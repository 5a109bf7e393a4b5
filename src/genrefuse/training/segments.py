"""Training on short segments of each clip (the public ``features_3_sec.csv`` recipe): both model inputs
per segment, every segment a row that keeps its track's id, so that the segments of one track never
straddle splits; a track's prediction is the mean of its segments' probabilities (the window policy
stored with the model makes ``predict`` do the same).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..audio import WindowPolicy, load_clip
from ..datasets.cache import FeatureCache
from ..datasets.labelled import LabelledData
from ..errors import DataError
from ..features.clip import clip_inputs
from ..features.params import FeatureParams
from ..progress import progress_bar


MIN_CNN_FRAMES = 232      # the narrowest Mel input the paper's three conv + pool stages accept (about 5.4 s)


def segment_params(params: FeatureParams, seconds: float) -> FeatureParams:
    """The feature parameters of ``seconds``-long segments: the CNN input shrinks to match, down to the
    narrowest the CNN branch takes (shorter segments are padded to it)."""
    if not 1.0 <= seconds < params.window_seconds:
        raise DataError(f"--segments must be from 1 s to less than the {params.window_seconds:g} s window, not {seconds:g}")
    frames = int(math.ceil(seconds * params.sr / params.hop_length)) + 1
    return replace(params, window_seconds=float(seconds), n_frames=max(frames, MIN_CNN_FRAMES))


def segment_policy(seconds: float) -> WindowPolicy:
    """Predict as trained: consecutive segments, a short last one only from two thirds of a segment."""
    return WindowPolicy(window_seconds=float(seconds), min_tail_seconds=2.0 * seconds / 3.0)


def cut(y: np.ndarray, sr: int, seconds: float) -> list[np.ndarray]:
    """Consecutive ``seconds``-long pieces of ``y`` (a shorter last piece is dropped)."""
    n = int(round(seconds * sr))
    return [y[i:i + n] for i in range(0, len(y) - n + 1, n)] or [y]


def clip_rows(y: np.ndarray, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs of each segment of a clip: mel ``(S, n_mels, n_frames)``, table ``(S, 57)``."""
    parts = [clip_inputs(piece, params=params) for piece in cut(y, params.sr, params.window_seconds)]
    return np.stack([m for m, _ in parts]), np.stack([t for _, t in parts])


def segmented(data: LabelledData, params: FeatureParams, *, cache_dir: str | Path, clip_seconds: float = 30.0,
              progress: bool = True) -> LabelledData:
    """``data`` (audio, one row per track) as one row per segment, through the feature cache."""
    if data.paths is None:
        raise DataError(f"{data.source}: segments are cut from audio; a feature table has none")
    cache = FeatureCache(Path(cache_dir) / "segments", params)
    mels, tables, rows = [], [], []
    for i in progress_bar(range(len(data)), progress=progress, desc="segments", unit="clip"):
        key = data.hashes[i]
        if cache.has(key):
            got = cache.get(key)
            mel, table = got["mel"], got["table"]
        else:
            mel, table = clip_rows(load_clip(data.paths[i], sr=params.sr, window=clip_seconds), params)
            cache.put(key, mel=mel, table=table, length=len(table))
        mels.append(mel)
        tables.append(table)
        rows.extend((i, k) for k in range(len(table)))    # (track row, its segment)
    out = data.subset(np.array([i for i, _ in rows]))
    out.mel, out.table = np.concatenate(mels).astype(np.float32), np.concatenate(tables)
    out.names = [f"{data.names[i]}#{k}" for i, k in rows]
    out.segment = np.array([k for _, k in rows])
    return out


def by_track(tracks: list[str], proba: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean probabilities per track over its rows: (track ids in first-seen order, (T, G), the row of
    each track's first segment)."""
    order: dict[str, list[int]] = {}
    for r, t in enumerate(tracks):
        order.setdefault(t, []).append(r)
    keys = list(order)
    return keys, np.stack([proba[order[k]].mean(axis=0) for k in keys]), np.array([order[k][0] for k in keys])
