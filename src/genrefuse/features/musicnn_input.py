"""The musicnn tagger's input: a log-compressed 96-band Mel spectrogram at 16 kHz, cut into 3 s patches.

As the ``musicnn`` package (0.1.0) computes it with the libraries of its day, which is how the published
GTZAN taggrams were made (numpy 1.18, librosa 0.7.2, resampy 0.2.2): the audio resampled to 16 kHz by
resampy's 2019 ``kaiser_best`` filter, librosa's Mel power spectrogram (n_fft 512, hop 256, 96 bands,
frames centred with reflect padding), rounded to float16, then ``log10(10000 x + 1)`` in float32 (numpy 1
promotes ``10000 * float16`` to float32; numpy 2 would keep float16 and overflow). Patches of 187 frames
every 61 frames (a 1 s hop), the last patch ending at or before the last frame (28 for a 30 s clip).

Each step matters for parity with the published taggrams (hiphop.00000, mean |difference| of the tags):
today's soxr resampler instead gives 0.0044, today's resampy ``kaiser_best`` (a new filter since 0.3)
0.012, constant padding 2e-5; with all of the above it is 1.2e-6.
"""
from __future__ import annotations

import functools

import numpy as np

from ..audio import fix_length
from . import dsp

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187              # librosa.time_to_frames(3 s) + 1
PATCH_HOP_FRAMES = 61           # librosa.time_to_frames(1 s)
# resampy's kaiser_best filter before version 0.3 (its docstring gave these parameters; the table it
# shipped equals sinc_window built from them to 2e-16)
RESAMPLE_FILTER = {"num_zeros": 64, "precision": 9, "kaiser_beta": 14.769656459379492,
                   "rolloff": 0.9475937167399596}


def resample(y: np.ndarray, sr: int) -> np.ndarray:
    """``y`` mono at ``sr`` Hz -> mono at 16 kHz, float32, ``ceil(len(y) * 16000 / sr)`` samples, with
    the filter the published taggrams were made with (see the module docstring).

    A polyphase form of resampy's interpolation: for a rational ratio ``up/down`` the fractional
    positions repeat every ``up`` outputs, so each of the ``up`` phases has one fixed set of taps,
    computed once per rate exactly as resampy computes them (a table of 2**9 steps per zero crossing,
    linearly interpolated), and applied as a strided matrix product. It equals resampy's output to
    float32 rounding (resampy accumulates in float32) at about a twentieth of the time.
    """
    y = np.asarray(y, dtype=np.float32)
    n = int(np.ceil(len(y) * SR / sr))
    if sr == SR:
        return y
    up, down = SR // np.gcd(SR, sr), sr // np.gcd(SR, sr)
    if up > 2000:                       # an odd rate: too many phases to tabulate, fall back to resampy
        out = resample_reference(y, sr)
    else:
        out = _polyphase(y, *_phases(int(sr)), up=up, down=down, n_out=int(len(y) * SR / sr))
    return fix_length(out, n)


def resample_reference(y: np.ndarray, sr: int) -> np.ndarray:
    """:func:`resample` by resampy itself (slower; the tests compare the two)."""
    import functools

    import resampy
    import scipy.signal

    y = np.asarray(y, dtype=np.float32)
    if sr == SR:
        return y
    f = RESAMPLE_FILTER
    window = functools.partial(scipy.signal.windows.kaiser, beta=f["kaiser_beta"])
    out = resampy.resample(y, sr, SR, filter="sinc_window", num_zeros=f["num_zeros"], precision=f["precision"],
                           window=window, rolloff=f["rolloff"])
    n = int(np.ceil(len(y) * SR / sr))
    return fix_length(out, n)


def _interp_window() -> np.ndarray:
    """resampy's ``sinc_window`` table for :data:`RESAMPLE_FILTER`: the right wing of a Kaiser-windowed
    sinc, ``num_zeros * 2**precision + 1`` values (``numpy.kaiser`` is scipy's Kaiser window; importing
    scipy.signal would cost a second)."""
    f = RESAMPLE_FILTER
    num_bits = 2 ** f["precision"]
    n = num_bits * f["num_zeros"]
    sinc_win = f["rolloff"] * np.sinc(f["rolloff"] * np.linspace(0, f["num_zeros"], num=n + 1, endpoint=True))
    taper = np.kaiser(2 * n + 1, f["kaiser_beta"])[n:]
    return taper * sinc_win


def _wing(win: np.ndarray, delta: np.ndarray, frac: float, num_table: int, step: int) -> np.ndarray:
    """One wing's taps for a fractional position, as resampy's loop computes them."""
    index_frac = frac * num_table
    offset = int(index_frac)
    eta = index_frac - offset
    idx = offset + step * np.arange((len(win) - offset) // step)
    return win[idx] + eta * delta[idx]


@functools.lru_cache(maxsize=8)
def _phases(sr: int) -> tuple[np.ndarray, int]:
    """For input rate ``sr``: a matrix ``(span, up)`` whose column ``p`` holds the taps of output phase
    ``p`` at the positions of the inputs they weigh (relative to the block's first input), and how many
    inputs left of its own position the first output's taps reach (``left``)."""
    g = int(np.gcd(SR, sr))
    up, down = SR // g, sr // g
    ratio = SR / sr
    win = _interp_window()
    num_table = 2 ** RESAMPLE_FILTER["precision"]
    if ratio < 1:
        win = ratio * win
    delta = np.diff(win, append=win[-1])
    scale = min(1.0, ratio)
    step = int(scale * num_table)
    wings, starts = [], []
    for p in range(up):
        n, rem = divmod(p * down, up)            # exact: output p sits at input n + rem / up
        frac = scale * (rem / up)
        wings.append((_wing(win, delta, frac, num_table, step),            # taps on x[n], x[n-1], ...
                      _wing(win, delta, scale - frac, num_table, step)))   # taps on x[n+1], x[n+2], ...
        starts.append(n)
    left = max(len(lw) for lw, _ in wings)
    right = max(len(rw) for _, rw in wings)
    matrix = np.zeros((starts[-1] + left + right, up))
    for p, ((lw, rw), n) in enumerate(zip(wings, starts)):
        matrix[n + left - len(lw):n + left, p] = lw[::-1]
        matrix[n + left:n + left + len(rw), p] = rw
    return matrix, left


POLYPHASE_ELEMENTS = 1 << 22      # frame values copied at a time (32 MB): a 384 kHz input's frames span 3072


def _polyphase(y: np.ndarray, matrix: np.ndarray, left: int, *, up: int, down: int, n_out: int) -> np.ndarray:
    """Blocks of ``down`` inputs give ``up`` outputs each: one matrix product over overlapping frames."""
    span = matrix.shape[0]
    blocks = -(-n_out // up)
    # zeros beyond both ends stand for the taps resampy skips there
    padded = np.zeros((blocks - 1) * down + span)
    body = y[: max(0, len(padded) - (left - 1))]
    padded[left - 1:left - 1 + len(body)] = body
    frames = np.lib.stride_tricks.as_strided(padded, shape=(blocks, span), strides=(down * 8, 8), writeable=False)
    out = np.empty((blocks, up))
    rows = max(1, POLYPHASE_ELEMENTS // span)      # matmul copies the overlapping frames: a slice at a time
    for r in range(0, blocks, rows):
        out[r:r + rows] = frames[r:r + rows] @ matrix
    return out.reshape(-1)[:n_out].astype(np.float32)


def log_mel(y: np.ndarray) -> np.ndarray:
    """``y`` mono at 16 kHz -> log-compressed Mel spectrogram, shape (n_frames, 96), float32."""
    D = dsp.stft(y, n_fft=N_FFT, hop=HOP, pad_mode="reflect")
    return _compress(dsp.melspectrogram(np.abs(D) ** 2, sr=SR, n_fft=N_FFT, n_mels=N_MELS).T)


def log_mel_reference(y: np.ndarray) -> np.ndarray:
    """:func:`log_mel` by librosa, as the musicnn package computes it (the tests compare the two)."""
    import librosa

    return _compress(librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS,
                                                    pad_mode="reflect").T)


def _compress(S: np.ndarray) -> np.ndarray:
    S = np.minimum(S, np.finfo(np.float16).max).astype(np.float16).astype(np.float32)     # the package's rounding
    return np.log10(10000 * S + 1).astype(np.float32)


def patches(rep: np.ndarray, *, hop_frames: int = PATCH_HOP_FRAMES) -> np.ndarray:
    """``(n_frames, 96)`` -> ``(n_patches, 187, 96)``; an input shorter than one patch is repeated to fill it."""
    if len(rep) < PATCH_FRAMES:                                     # the model was trained with repeat-pad
        rep = np.tile(rep, (int(np.ceil(PATCH_FRAMES / max(len(rep), 1))), 1))[:PATCH_FRAMES]
    starts = range(0, len(rep) - PATCH_FRAMES + 1, hop_frames)
    return np.stack([rep[s:s + PATCH_FRAMES] for s in starts])


def hop_frames(seconds: float) -> int:
    """A patch hop in seconds -> frames, as ``librosa.time_to_frames(seconds, sr, n_fft, hop)``."""
    return max(1, int((seconds * SR - N_FFT // 2) // HOP))


def tagger_patches(y: np.ndarray, sr: int, *, hop_seconds: float = 1.0) -> np.ndarray:
    """What the taggers hear of ``y`` (mono at ``sr`` Hz): :func:`resample` to 16 kHz, :func:`log_mel`, then
    :func:`patches` every ``hop_seconds``. Shape ``(n_patches, 187, 96)``."""
    return patches(log_mel(resample(y, sr)), hop_frames=hop_frames(hop_seconds))
