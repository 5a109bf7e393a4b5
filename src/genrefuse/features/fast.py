"""The fast path: both model inputs from one STFT, with an exact fast median filter for HPSS, without librosa.

Same numbers as the librosa reference path (``table.py``, ``spectral.py``): every feature is the same
formula on the same spectrogram (in numpy: ``dsp.py``); only the work is shared and the slow pieces are replaced:

- one STFT serves the spectral features, chroma, the Mel spectrogram (Mel input, MFCC, onset envelope
  for tempo) and HPSS (librosa's ``effects.hpss`` computes the same STFT again);
- HPSS's two median filters (width 31, ``mode='reflect'``) use ``bottleneck.move_median`` over a
  ``numpy.pad(mode='symmetric')`` copy, which reproduces ``scipy.ndimage.median_filter`` exactly, and
  run in two threads (outside a worker pool);
- the soft masks, centroid, bandwidth and rolloff are fused numpy expressions.

``tests/test_fast_features.py`` checks the parity on synthetic and real clips.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import bottleneck
import numpy as np

from ..parallel import beside
from . import dsp
from .params import DEFAULT_PARAMS, FeatureParams
from .columns import FEATURE_COLUMNS
from .dsp import fix_frames

HPSS_KERNEL = 31          # librosa.effects.hpss's default kernel size
# Two pools: an HPSS task waits on a median task, so they must never queue in the same pool
# (with concurrent callers, e.g. the web service, one shared pool deadlocked).
_HPSS_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="genrefuse-hpss")
_MEDIAN_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="genrefuse-median")


def median_filter_exact(X: np.ndarray, *, width: int, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(X, size=width along axis, mode='reflect')``, exactly.

    scipy's 'reflect' repeats the edge sample (d c b a | a b c d), which is numpy's 'symmetric'. The filter runs
    along a contiguous copy's last axis (``bottleneck.move_median`` along a strided axis took a quarter
    longer); the result has ``X``'s shape, as a view of that copy with the axis moved back.
    """
    half = width // 2
    rows = np.ascontiguousarray(np.moveaxis(X, axis, -1))
    padded = np.pad(rows, [(0, 0)] * (X.ndim - 1) + [(half, half)], mode="symmetric")
    out = bottleneck.move_median(padded, window=width, axis=-1)[..., width - 1:]
    return np.moveaxis(out.astype(X.dtype, copy=False), -1, axis)


def _softmask_split(X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """librosa.util.softmask(X, R, power=2, split_zeros=True), in fewer passes."""
    Z = np.maximum(X, R)
    bad = Z < np.finfo(X.dtype).tiny
    Z[bad] = 1
    m = X / Z
    m *= m
    r = R / Z
    r *= r
    r += m
    np.divide(m, r, out=m, where=~bad)
    m[bad] = 0.5
    return m


@functools.lru_cache(maxsize=8)
def _istft_tables(n_frames: int, n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    return dsp.hann(n_fft).astype(np.float32), dsp.window_sumsquare(n_frames=n_frames, n_fft=n_fft, hop=hop)


def istft(D: np.ndarray, *, length: int, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """librosa.istft (Hann, centred) for hop = n_fft / k: one batched inverse FFT, overlap-add as k
    shifted block sums, the same window-sum normalisation.

    ``D``: shape (1 + n_fft // 2, n_frames), complex. Returns shape (length,), float32.
    """
    n_fft, hop = params.n_fft, params.hop_length
    if n_fft % hop:
        import librosa

        return librosa.istft(D, hop_length=hop, n_fft=n_fft, dtype=np.float32, length=length)
    k = n_fft // hop
    n_frames = D.shape[1]
    window, wss = _istft_tables(n_frames, n_fft, hop)
    frames = np.fft.irfft(D, n=n_fft, axis=0).astype(np.float32, copy=False)
    frames *= window[:, None]
    blocks = frames.T.reshape(n_frames, k, hop)
    y = np.zeros((n_frames + k - 1, hop), dtype=np.float32)
    for j in range(k):
        y[j : j + n_frames] += blocks[:, j, :]
    y = y.reshape(-1)
    start = n_fft // 2
    y = y[start : start + length]
    norm = wss[start : start + length]
    good = norm > np.finfo(np.float32).tiny
    y[good] /= norm[good]
    if y.size < length:
        y = np.pad(y, (0, length - y.size))
    return y


def hpss_signals(D: np.ndarray, mag: np.ndarray, *, y: np.ndarray, params: FeatureParams = DEFAULT_PARAMS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive waveforms from the complex STFT ``D`` of ``y`` and its magnitude, as
    ``librosa.effects.hpss`` computes them (kernel 31, power 2, margin 1).

    The two soft masks sum to one and the inverse STFT is linear and inverts the STFT, so the
    percussive part is ``y`` minus the harmonic one: one inverse STFT instead of two (equal to float32
    rounding). The two median filters run in two threads outside a worker pool (``parallel.beside``)."""
    harm_f = beside(_MEDIAN_POOL, median_filter_exact, mag, width=HPSS_KERNEL, axis=1)
    perc = median_filter_exact(mag, width=HPSS_KERNEL, axis=0)
    # both filters' outputs in the STFT's layout (each frame contiguous: ``perc`` already is), so that the
    # mask, its product with D and the inverse FFT read frames contiguously (26 against 16 ms a clip)
    harm = np.asfortranarray(harm_f.result()) if D.flags.f_contiguous else harm_f.result()
    # librosa forms |D| * mask * (D / |D|); D * mask is the same up to rounding (and 0 where |D| = 0)
    harmonic = istft(D * _softmask_split(harm, perc), length=y.shape[-1], params=params)
    return harmonic, y - harmonic


def _spectral_shape(mag: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroid, bandwidth (p=2, normalised) and rolloff (85%) per frame, as librosa computes them."""
    total = mag.sum(axis=0, dtype=np.float64)
    safe = np.where(total < np.finfo(mag.dtype).tiny, 1.0, total)
    m0 = total / safe
    m1 = (freq @ mag) / safe
    m2 = ((freq * freq) @ mag) / safe
    centroid = m1
    # sum_f Sn (f - c)^2 = m2 - 2 c m1 + c^2 m0, in float64
    bandwidth = np.sqrt(np.maximum(m2 - 2 * centroid * m1 + centroid * centroid * m0, 0.0))
    cum = np.cumsum(mag, axis=0)
    rolloff = freq[np.argmax(cum >= 0.85 * cum[-1], axis=0)]
    return centroid, bandwidth, rolloff


_BLAS_LOCK = threading.Lock()
_BLAS_USERS = 0
_BLAS_RESTORE = None


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS held to one thread while any caller is inside; the first in limits, the last out restores
    (threadpoolctl's own limit is process-wide, so nested concurrent uses would restore out of order)."""
    global _BLAS_USERS, _BLAS_RESTORE
    with _BLAS_LOCK:
        if _BLAS_USERS == 0:
            from threadpoolctl import threadpool_limits

            _BLAS_RESTORE = threadpool_limits(limits=1, user_api="blas")
        _BLAS_USERS += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_USERS -= 1
            if _BLAS_USERS == 0:
                _BLAS_RESTORE.restore_original_limits()


def fast_clip_inputs(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS) -> tuple[np.ndarray, np.ndarray]:
    """The CNN input and the 57 table features of a clip from one STFT. Safe to call from many threads.

    Runs HPSS's median filters in two threads beside the other features (outside a worker pool), with
    BLAS held to one thread meanwhile (BLAS threads competing with these cost 30% here).

    Returns
    -------
    mel : np.ndarray, shape (n_mels, n_frames), float32 in [0, 1]
    table : np.ndarray, shape (57,), float64, in ``FEATURE_COLUMNS`` order
    """
    with _one_blas_thread():
        return _fast_clip_inputs(y, params)


def _fast_clip_inputs(y: np.ndarray, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    sr, n_fft, hop = params.sr, params.n_fft, params.hop_length
    D = dsp.stft(y, n_fft=n_fft, hop=hop)
    mag = np.abs(D)
    hpss_f = beside(_HPSS_POOL, hpss_signals, D, mag, y=y, params=params)
    power = mag ** 2
    out: dict[str, float] = {}

    def stats(name: str, x: np.ndarray) -> None:
        out[f"{name}_mean"] = float(np.mean(x))
        out[f"{name}_var"] = float(np.var(x))

    stats("chroma_stft", dsp.chroma_stft(power, sr=sr, n_fft=n_fft))
    stats("rms", dsp.rms(y, frame_length=n_fft, hop=hop))
    freq = dsp.fft_frequencies(sr=sr, n_fft=n_fft)
    centroid, bandwidth, rolloff = _spectral_shape(mag, freq)
    stats("spectral_centroid", centroid)
    stats("spectral_bandwidth", bandwidth)
    stats("rolloff", rolloff)
    stats("zero_crossing_rate", dsp.zero_crossing_rate(y, frame_length=n_fft, hop=hop))
    mel_pow = dsp.melspectrogram(power, sr=sr, n_fft=n_fft, n_mels=params.n_mels)
    mel_db = dsp.power_to_db(mel_pow)                           # ref 1: MFCC and the onset envelope
    onset = dsp.onset_strength(mel_db, n_fft=n_fft, hop=hop)   # as beat_track: the median over bands
    # beat_track's tempo without its beat positions (the table keeps only the tempo); 0 without onsets
    tempo = dsp.tempo(onset, sr=sr, hop=hop) if onset.any() else 0.0
    mfccs = dsp.mfcc(mel_db, n_mfcc=params.n_mfcc)
    harmonic, percussive = hpss_f.result()
    stats("harmony", harmonic)
    stats("perceptr", percussive)
    out["tempo"] = float(np.atleast_1d(tempo)[0])
    for i, row in enumerate(mfccs, start=1):
        stats(f"mfcc{i}", row)
    table = np.array([out[k] for k in FEATURE_COLUMNS], dtype=np.float64)

    # the Mel input: dB relative to the maximum, scaled to [0, 1]
    db = dsp.power_to_db(mel_pow, ref=None)
    lo, hi = float(db.min()), float(db.max())
    scaled = (db - lo) / (hi - lo) if hi > lo else np.zeros_like(db)
    mel = fix_frames(scaled, params.n_frames).astype(np.float32)
    return mel, table
