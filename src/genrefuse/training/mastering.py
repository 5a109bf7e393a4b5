"""Loud masters, and how they move a model's inputs: an augmentation for models trained from feature rows.

GTZAN's recordings (around 2000 and earlier) are quieter and duller than today's masters, and the default
model is trained from GTZAN's published feature rows, without their audio, so it cannot be trained on
re-mastered audio. Instead, :func:`input_shifts` measures on real clips how a loud master moves the model's
inputs (the 57 table features and the musicnn summary), and training adds each training row moved by each
shift, as further rows of the same genre with a smaller weight (``training.fit``).

:func:`loud_master` is the chain the shifts are measured with: a brighter top (the band above 6 kHz mixed in
again at 0.6) and heavy limiting (``tanh`` of the peak-normalised signal at a ``drive``; 2 is firm, 4 is
loud, 8 is clipped flat). ``research/head_choices.py`` measures what it buys on recordings mastered by
another chain (a bass boost and hard clipping) that training never saw.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..audio import WindowPolicy, load
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..preprocess import track_inputs

DRIVES = (2.0, 4.0)        # the loud masters whose shifts the default model trains with
BRIGHT_HZ = 6000.0


def loud_master(y: np.ndarray, *, sr: int, drive: float) -> np.ndarray:
    """``y`` ``(n,)`` as a loud, bright master: the band above 6 kHz boosted, then limited by ``tanh`` at
    ``drive`` (peak 0.98). Returns float32 ``(n,)``."""
    from scipy.signal import butter, sosfilt

    y = np.asarray(y, np.float64)
    y = y + 0.6 * sosfilt(butter(2, BRIGHT_HZ, "highpass", fs=sr, output="sos"), y)
    y = y / max(float(np.max(np.abs(y))), 1e-9)
    return (0.98 * np.tanh(drive * y) / np.tanh(drive)).astype(np.float32)


def summary_row(y: np.ndarray, *, sr: int, params: FeatureParams = DEFAULT_PARAMS,
                policy: WindowPolicy | None = None) -> np.ndarray:
    """A waveform's model inputs as one training row ``(57 + 100,)``: the table's mean over the analysed
    windows, then the musicnn summary."""
    inputs = track_inputs(y, sr=sr, params=params, policy=policy, mel=False, tags=True)
    return np.concatenate([inputs.table.mean(axis=0), inputs.tags.mean(axis=0)])


def input_shifts(clips: Iterable[str | Path], *, drives: Iterable[float] = DRIVES,
                 params: FeatureParams = DEFAULT_PARAMS, policy: WindowPolicy | None = None) -> np.ndarray:
    """How a loud master moves a training row: for each of ``drives``, the mean over ``clips`` of (the
    master's row - the clip's row), raw (not standardised). Returns ``(len(drives), 157)``."""
    rows = []
    for clip in clips:
        y = load(clip, sr=params.sr)
        plain = summary_row(y, sr=params.sr, params=params, policy=policy)
        rows.append([summary_row(loud_master(y, sr=params.sr, drive=d), sr=params.sr, params=params, policy=policy)
                     - plain for d in drives])
    if not rows:
        raise ValueError("input_shifts needs at least one clip")
    return np.mean(np.asarray(rows, np.float64), axis=0)
