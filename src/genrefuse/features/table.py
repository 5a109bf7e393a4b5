"""The 57 features of the public GTZAN table (``features_30_sec.csv``), reference path.

Each feature is computed from the whole clip exactly as that table's recipe does with librosa's
defaults, so our rows agree with the published ones (``tests/test_features.py`` checks the five real clips).
"""
from __future__ import annotations

import numpy as np
import librosa

from .columns import FEATURE_COLUMNS, N_FEATURES, TABLE_COLUMNS  # noqa: F401  (re-exported)
from .params import DEFAULT_PARAMS, FeatureParams


def _stats(out: dict, name: str, x: np.ndarray) -> None:
    out[f"{name}_mean"] = float(np.mean(x))
    out[f"{name}_var"] = float(np.var(x))


def table_features(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS) -> dict[str, float]:
    """The 57 table features of a clip, keyed by column name in the table's order.

    ``y``: mono waveform, shape (n_samples,), at ``params.sr``.
    """
    sr, n_fft, hop = params.sr, params.n_fft, params.hop_length
    out: dict[str, float] = {}
    _stats(out, "chroma_stft", librosa.feature.chroma_stft(y=y, sr=sr, n_fft=n_fft, hop_length=hop))
    _stats(out, "rms", librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop))
    _stats(out, "spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr, n_fft=n_fft, hop_length=hop))
    _stats(out, "spectral_bandwidth", librosa.feature.spectral_bandwidth(y=y, sr=sr, n_fft=n_fft, hop_length=hop))
    _stats(out, "rolloff", librosa.feature.spectral_rolloff(y=y, sr=sr, n_fft=n_fft, hop_length=hop))
    _stats(out, "zero_crossing_rate", librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop))
    harmonic, percussive = librosa.effects.hpss(y)
    _stats(out, "harmony", harmonic)
    _stats(out, "perceptr", percussive)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop)
    out["tempo"] = float(np.atleast_1d(tempo)[0])
    mfccs = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=params.n_mfcc, n_fft=n_fft, hop_length=hop)
    for i, row in enumerate(mfccs, start=1):
        _stats(out, f"mfcc{i}", row)
    return {k: out[k] for k in FEATURE_COLUMNS}


def table_vector(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """:func:`table_features` as an array, shape (57,), float64 (the table's precision)."""
    f = table_features(y, params=params)
    return np.array([f[k] for k in FEATURE_COLUMNS], dtype=np.float64)
