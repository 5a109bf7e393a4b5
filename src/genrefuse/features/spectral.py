"""Time-frequency matrices: the CNN's Mel input, MFCC and chroma.

Each accepts a waveform ``y`` or a precomputed power spectrogram ``S`` (``|STFT|**2``,
shape ``(1 + n_fft // 2, n_frames)``), so one STFT can serve every feature.
"""
from __future__ import annotations

import numpy as np
import librosa

from .dsp import fix_frames
from .params import DEFAULT_PARAMS, FeatureParams


def power_stft(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """``|STFT(y)|**2``, shape (1 + n_fft // 2, n_frames), float32 (centred, Hann, as librosa)."""
    D = librosa.stft(y, n_fft=params.n_fft, hop_length=params.hop_length)
    return (np.abs(D) ** 2).astype(np.float32, copy=False)


def mel_power(y: np.ndarray | None = None, *, S: np.ndarray | None = None,
              params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """Power Mel spectrogram, shape (n_mels, n_frames)."""
    if S is None:
        S = power_stft(y, params=params)
    return librosa.feature.melspectrogram(S=S, sr=params.sr, n_fft=params.n_fft, n_mels=params.n_mels)


def mel_input(y: np.ndarray | None = None, *, S: np.ndarray | None = None,
              params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """The CNN branch's input: Mel power in dB (ref = max), min-max scaled to [0, 1] per
    spectrogram, fixed to ``params.n_frames`` frames.

    Returns
    -------
    np.ndarray, shape (n_mels, n_frames), float32, values in [0, 1]
    """
    db = librosa.power_to_db(mel_power(y, S=S, params=params), ref=np.max)
    lo, hi = float(db.min()), float(db.max())
    scaled = (db - lo) / (hi - lo) if hi > lo else np.zeros_like(db)
    return fix_frames(scaled, params.n_frames).astype(np.float32)


def mfcc(y: np.ndarray | None = None, *, S: np.ndarray | None = None,
         params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """MFCC matrix, shape (n_mfcc, n_frames), from the dB Mel spectrogram (librosa's recipe)."""
    db = librosa.power_to_db(mel_power(y, S=S, params=params))
    return librosa.feature.mfcc(S=db, n_mfcc=params.n_mfcc).astype(np.float32)


def chroma(y: np.ndarray | None = None, *, S: np.ndarray | None = None,
           params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """Chromagram, shape (12, n_frames), from the power spectrogram (tuning estimated as librosa does)."""
    if S is None:
        S = power_stft(y, params=params)
    return librosa.feature.chroma_stft(S=S, sr=params.sr, n_fft=params.n_fft,
                                       hop_length=params.hop_length).astype(np.float32)
