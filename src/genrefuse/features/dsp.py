"""The signal processing of both model inputs in plain numpy: librosa's formulas, without librosa.

Prediction needs only these: importing librosa costs about 2 s (scipy.signal, numba) and its first use
after installing compiles for about 40 s. Each function computes what the named librosa function does
with the arguments our recipes pass (same windows, padding, filter banks, dtypes and order of
operations where rounding could move a discrete choice such as the tuning or the tempo);
``tests/test_fast_features.py`` holds the table and the Mel input to the librosa reference path, and
``tests/test_dsp.py`` each function to its librosa counterpart. numpy.fft stands in for scipy.fft
(the same pocketfft algorithm; scipy.fft alone takes 0.25 s to import).
"""
from __future__ import annotations

import functools

import numpy as np

STFT_BLOCK = 256          # frames transformed at a time: bounds the float64 temporaries (as librosa's blocks)


def hann(n: int) -> np.ndarray:
    """``scipy.signal.get_window('hann', n, fftbins=True)``: the periodic Hann window, float64."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    w += 0.5
    w += 0.5 * np.cos(fac)
    return w[:n]


def frame(x: np.ndarray, *, length: int, hop: int) -> np.ndarray:
    """``librosa.util.frame``: a strided view, shape (length, n_frames)."""
    return np.lib.stride_tricks.sliding_window_view(x, length)[::hop].T


def stft(y: np.ndarray, *, n_fft: int, hop: int, pad_mode: str = "constant") -> np.ndarray:
    """``librosa.stft(y, n_fft=, hop_length=, pad_mode=)`` (Hann, centred), complex64 for float32 ``y``.

    Returns shape (1 + n_fft // 2, 1 + len(y) // hop).
    """
    y = np.asarray(y, dtype=np.float32)
    window = hann(n_fft)[:, None]
    frames = frame(np.pad(y, n_fft // 2, mode=pad_mode), length=n_fft, hop=hop)
    out = np.empty((1 + n_fft // 2, frames.shape[1]), dtype=np.complex64, order="F")
    for s in range(0, frames.shape[1], STFT_BLOCK):
        out[:, s:s + STFT_BLOCK] = np.fft.rfft(window * frames[:, s:s + STFT_BLOCK], axis=0)
    return out


def fix_frames(M: np.ndarray, n_frames: int) -> np.ndarray:
    """Crop or pad (with the matrix's minimum) the last axis to ``n_frames``."""
    if M.shape[-1] >= n_frames:
        return M[..., :n_frames]
    fill = float(M.min()) if M.size else 0.0
    pad = [(0, 0)] * (M.ndim - 1) + [(0, n_frames - M.shape[-1])]
    return np.pad(M, pad, constant_values=fill)


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


# ---------------------------------------------------------------- Mel scale (Slaney), as librosa's defaults
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    f = np.asanyarray(f, dtype=float)
    mels = f / _F_SP
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mels)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asanyarray(m, dtype=float)
    freqs = _F_SP * m
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), freqs)


@functools.lru_cache(maxsize=8)
def mel_filters(*, sr: float, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=, n_fft=, n_mels=)`` (0 Hz to sr / 2, Slaney scale and norm), shape
    (n_mels, 1 + n_fft // 2), float32. Read-only: cached."""
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(float(sr) / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.flags.writeable = False
    return weights


def melspectrogram(S: np.ndarray, *, sr: float, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.feature.melspectrogram(S=S, ...)`` of a power spectrogram: shape (n_mels, n_frames)."""
    return mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels) @ S


def power_to_db(S: np.ndarray, *, ref: float | None = 1.0, amin: float = 1e-10, top_db: float = 80.0) -> np.ndarray:
    """``librosa.power_to_db``; ``ref=None`` means relative to the maximum (librosa's ``ref=np.max``)."""
    ref_value = np.max(S) if ref is None else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    return np.maximum(log_spec, log_spec.max() - top_db)


@functools.lru_cache(maxsize=4)
def _dct_matrix(n: int, n_out: int) -> np.ndarray:
    """The first ``n_out`` rows of the orthonormal DCT-II of length ``n``, float64."""
    k = np.arange(n_out)[:, None]
    m = np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def mfcc(S_db: np.ndarray, *, n_mfcc: int) -> np.ndarray:
    """``librosa.feature.mfcc(S=S_db, n_mfcc=)``: the orthonormal DCT-II over the Mel axis, shape
    (n_mfcc, n_frames), in the input's dtype."""
    return (_dct_matrix(S_db.shape[0], n_mfcc) @ S_db).astype(S_db.dtype, copy=False)


# ---------------------------------------------------------------- chroma with librosa's tuning estimate
def estimate_tuning(S: np.ndarray, *, sr: float, n_fft: int, bins_per_octave: int = 12) -> float:
    """``librosa.estimate_tuning(S=S, sr=, n_fft=)``: the deviation from A440 in fractions of a bin, from
    the pitches ``piptrack`` finds (150-4000 Hz, peaks above a tenth of each frame's maximum).

    piptrack interpolates every bin of the spectrogram and keeps the peaks; here only the bins of the
    150-4000 Hz band are searched and only the peaks interpolated (a tenth of the work), with the same
    arithmetic: numba evaluates librosa's parabolic stencil in float64, then stores float32.
    """
    S = np.abs(S)
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    band = np.flatnonzero((150.0 <= freqs) & (freqs < min(4000.0, float(sr) / 2)))
    if not band.size:
        return 0.0
    lo, hi = int(band[0]), int(band[-1]) + 1              # never the first or last bin: neighbours exist
    ref_value = 0.1 * np.max(S, axis=0)
    X = S[lo - 1:hi + 1]
    X = X * (X > ref_value)
    peak = (X[1:-1] > X[:-2]) & (X[1:-1] >= X[2:])         # librosa.util.localmax along frequency
    rows, cols = np.nonzero(peak)
    rows = rows + lo
    below, at, above = S[rows - 1, cols], S[rows, cols], S[rows + 1, cols]
    a = (above + below).astype(np.float64) - 2 * at.astype(np.float64)
    b = (above - below).astype(np.float64) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a).astype(np.float32)
    dskew = 0.5 * ((above - below) / 2.0) * shift            # 0.5 * np.gradient * shift, in float32
    pitches = ((rows + shift.astype(np.float64)) * float(sr) / n_fft).astype(np.float32)
    mags = at + dskew
    keep = pitches > 0
    threshold = median(mags[keep]) if keep.any() else 0.0
    f = pitches[(mags >= threshold) & keep]
    if not f.size:
        return 0.0
    residual = np.mod(bins_per_octave * np.log2(f / (440.0 / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / 0.01)) + 1)
    counts, edges = np.histogram(residual, bins)
    return float(edges[np.argmax(counts)])


def _normalize(S: np.ndarray, *, norm: float, axis: int) -> np.ndarray:
    """``librosa.util.normalize`` for norm inf or 2, leaving columns under the dtype's tiny as they are."""
    mag = np.abs(S).astype(float)
    length = np.max(mag, axis=axis, keepdims=True) if norm == np.inf else np.sum(mag ** norm, axis=axis, keepdims=True) ** (1.0 / norm)
    length[length < np.finfo(S.dtype).tiny] = 1.0
    out = np.empty_like(S)
    out[:] = S / length
    return out


@functools.lru_cache(maxsize=32)
def chroma_filters(*, sr: float, n_fft: int, tuning: float, n_chroma: int = 12) -> np.ndarray:
    """``librosa.filters.chroma(sr=, n_fft=, tuning=)`` (centre octave 5, width 2, L2 norm, starting at C),
    shape (n_chroma, 1 + n_fft // 2), float32. Read-only: cached."""
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    D = np.remainder(D + half + 10 * n_chroma, n_chroma) - half
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    wts = _normalize(wts, norm=2, axis=0)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    out = np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)
    out.flags.writeable = False
    return out


def chroma_stft(S: np.ndarray, *, sr: float, n_fft: int) -> np.ndarray:
    """``librosa.feature.chroma_stft(S=S, sr=, n_fft=)`` of a power spectrogram: tuning estimated,
    each frame scaled to a maximum of 1. Shape (12, n_frames)."""
    tuning = estimate_tuning(S, sr=sr, n_fft=n_fft)
    return _normalize(chroma_filters(sr=sr, n_fft=n_fft, tuning=tuning) @ S, norm=np.inf, axis=0)


# ---------------------------------------------------------------- frame-wise time-domain features
def rms(y: np.ndarray, *, frame_length: int, hop: int) -> np.ndarray:
    """``librosa.feature.rms(y=y, ...)`` (centred, zero padding), shape (1, n_frames), float32."""
    x = frame(np.pad(y, frame_length // 2, mode="constant"), length=frame_length, hop=hop)
    return np.sqrt(np.mean(np.square(x, dtype=np.float32), axis=-2, keepdims=True))


def zero_crossing_rate(y: np.ndarray, *, frame_length: int, hop: int, threshold: float = 1e-10) -> np.ndarray:
    """``librosa.feature.zero_crossing_rate`` (centred, edge padding; values within ``threshold`` of
    zero count as zero), shape (1, n_frames): the sign changes between consecutive samples inside each
    frame, over the frame length, counted once over the signal by a running sum."""
    x = np.pad(y, frame_length // 2, mode="edge")
    sign = np.signbit(np.where(np.abs(x) <= threshold, 0, x))
    total = np.concatenate(([0], np.cumsum(sign[1:] != sign[:-1])))
    starts = np.arange(0, len(x) - frame_length + 1, hop)
    return ((total[starts + frame_length - 1] - total[starts]) / frame_length)[None, :]


def median(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``np.median(x, axis)`` of finite ``x``, computed as it does (a partition, then the mean of the middle one or
    two), bit for bit, without its NaN check: that check imports ``numpy.ma``, 15-20 ms of a cold ``predict``."""
    x = np.ravel(x) if axis is None else np.asarray(x)
    axis = 0 if axis is None else axis
    n = x.shape[axis]
    middle = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    return np.mean(np.take(np.partition(x, middle, axis=axis), middle, axis=axis), axis=axis)


# ---------------------------------------------------------------- onsets and tempo, as beat_track's tempo
def onset_strength(S_db: np.ndarray, *, n_fft: int, hop: int) -> np.ndarray:
    """``librosa.onset.onset_strength(S=S_db, aggregate=np.median)``: the median over bands of the
    positive first difference, shifted to the frames' centres. Shape (n_frames,)."""
    env = np.maximum(0.0, S_db[:, 1:] - S_db[:, :-1])
    env = median(env, axis=0).astype(S_db.dtype, copy=False)
    env = np.pad(env, (1 + n_fft // (2 * hop), 0), mode="constant")
    return env[: S_db.shape[1]]


def tempo(onset: np.ndarray, *, sr: float, hop: int, start_bpm: float = 120.0, max_tempo: float = 320.0) -> float:
    """``librosa.feature.tempo(onset_envelope=, sr=, hop_length=)``: the autocorrelation tempogram over
    8 s windows, averaged over time, weighted by a log-normal prior around ``start_bpm``; in BPM."""
    win = int(int(8.0 * sr) // hop)            # librosa.time_to_frames(8.0)
    n = onset.shape[-1]
    padded = np.pad(onset, (win // 2, win // 2), mode="linear_ramp", end_values=[0, 0])
    frames = frame(padded, length=win, hop=1)[:, :n] * hann(win)[:, None]
    n_pad = _next_fast_len(2 * win - 1)
    spec = np.fft.rfft(frames, n=n_pad, axis=0)
    ac = np.fft.irfft(spec.real ** 2 + spec.imag ** 2, n=n_pad, axis=0)[:win]
    tg = _normalize(ac, norm=np.inf, axis=0).mean(axis=-1)
    with np.errstate(divide="ignore"):
        bpms = np.concatenate(([np.inf], 60.0 * sr / (hop * np.arange(1.0, win))))
        logprior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / 1.0) ** 2
    logprior[: int(np.argmax(bpms < max_tempo))] = -np.inf
    return float(bpms[int(np.argmax(np.log1p(1e6 * tg) + logprior))])


def _next_fast_len(n: int) -> int:
    """``scipy.fft.next_fast_len(n, real=True)``: the least 2^a 3^b 5^c >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = p35
            while q < n:
                q *= 2
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


# ---------------------------------------------------------------- overlap-add (for HPSS's inverse STFT)
@functools.lru_cache(maxsize=8)
def window_sumsquare(*, n_frames: int, n_fft: int, hop: int) -> np.ndarray:
    """``librosa.filters.window_sumsquare(window='hann', ...)``, float32: the squared windows' overlap-add."""
    n = n_fft + hop * (n_frames - 1)
    x = np.zeros(n, dtype=np.float32)
    win_sq = hann(n_fft) ** 2          # float64, added into float32 as librosa's loop does
    for i in range(n_frames):
        s = i * hop
        x[s:min(n, s + n_fft)] += win_sq[:max(0, min(n_fft, n - s))]
    x.flags.writeable = False
    return x
