"""Decoding audio to mono float32 at the analysis rate, and cutting it into analysis windows.

soundfile (libsndfile) decodes wav, au, flac, ogg and mp3; every decoder failure becomes an
:class:`~genrefuse.errors.AudioError` naming the file and the reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError
from .features.params import SAMPLE_RATE

AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3")
WINDOW_SECONDS = 30.0       # GTZAN's clip length: the unit every model sees
MIN_SECONDS = 2.0           # shorter inputs carry too little music to classify
MIN_TAIL_SECONDS = 10.0     # a track's last, shorter window counts only from this length
MAX_SECONDS = 3 * 3600.0    # whole-track decoding refuses anything longer (a middle window never does)
SILENCE_PEAK = 1e-4         # peak amplitude under which a file is treated as silent


def is_audio_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _open(path: Path) -> sf.SoundFile:
    if not path.exists():
        raise AudioError(path, "no such file")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(path, f"not a readable audio file ({_short(exc)})") from None


def _short(exc: Exception) -> str:
    """libsndfile's message without the path it repeats; its 'does not exist' means 'unrecognised'."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    if "Error opening" in text and ": " in text:
        text = text.split(": ", 1)[1]
    if "not a regular file" in text or "Format not recognised" in text:
        return "unrecognised format or corrupt data"
    return text[:200]


def duration(path: str | Path) -> float:
    """Duration in seconds, read from the header."""
    path = Path(path)
    with _open(path) as f:
        return f.frames / f.samplerate if f.samplerate else 0.0


def load(
    path: str | Path,
    *,
    sr: int = SAMPLE_RATE,
    offset: float = 0.0,
    seconds: float | None = None,
    max_seconds: float = MAX_SECONDS,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 waveform at ``sr`` Hz.

    Stereo is averaged, other rates resampled (soxr). ``offset``/``seconds`` read a part only, so a
    30 s window of a two-hour file costs 30 s of decoding.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
    """
    y, native_sr = load_native(path, offset=offset, seconds=seconds, max_seconds=max_seconds)
    if native_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr).astype(np.float32, copy=False)
    return np.ascontiguousarray(y, dtype=np.float32)


def load_native(
    path: str | Path,
    *,
    offset: float = 0.0,
    seconds: float | None = None,
    max_seconds: float = MAX_SECONDS,
) -> tuple[np.ndarray, int]:
    """:func:`load` without the resampling: ``(y, sr)``, ``y`` mono float32 at the file's own rate."""
    path = Path(path)
    with _open(path) as f:
        native_sr = f.samplerate
        total = f.frames
        if seconds is None and total > max_seconds * native_sr:
            raise AudioError(path, f"too long ({total / native_sr:.0f} s; the limit is {max_seconds:.0f} s)")
        start = int(round(offset * native_sr))
        count = -1 if seconds is None else int(round(seconds * native_sr))
        try:
            if start:
                f.seek(min(start, total))
            data = f.read(frames=count, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise AudioError(path, f"could not decode ({_short(exc)})") from None
    if data.size == 0:
        raise AudioError(path, "no audio samples")
    y = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(y).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(y, dtype=np.float32), native_sr


def check_signal(y: np.ndarray, *, sr: int = SAMPLE_RATE, min_seconds: float = MIN_SECONDS, name: str = "<array>") -> np.ndarray:
    """Validate a waveform: 1-D (or 2-D, averaged to mono), finite, long enough, not silent."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        # (channels, samples) as librosa returns it, or (samples, channels) as soundfile does
        y = y.mean(axis=0 if y.shape[0] < y.shape[1] else 1)
    if y.ndim != 1:
        raise AudioError(name, f"expected a 1-D waveform, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise AudioError(name, "contains NaN or infinite samples")
    if y.size < min_seconds * sr:
        raise AudioError(name, f"too short ({y.size / sr:.2f} s; at least {min_seconds:g} s needed)")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError(name, "silent (no signal above -80 dBFS)")
    return y


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end or crop to exactly ``n`` samples."""
    if y.size >= n:
        return y[:n]
    return np.pad(y, (0, n - y.size))


def load_clip(
    path: str | Path,
    *,
    sr: int = SAMPLE_RATE,
    window: float = WINDOW_SECONDS,
    min_seconds: float = MIN_SECONDS,
) -> np.ndarray:
    """The analysis clip of a file: the whole file when it is at most ``window`` s (GTZAN's
    clips keep their own length, as the public table was computed), else the middle ``window`` s.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32, n_samples <= window * sr
    """
    path = Path(path)
    total = duration(path)
    # GTZAN clips run a little over 30 s (up to 30.13 s); keep them whole
    if total > window * 1.01:
        y = load(path, sr=sr, offset=(total - window) / 2, seconds=window)
    else:
        y = load(path, sr=sr)
    return check_signal(y, sr=sr, min_seconds=min_seconds, name=str(path))


def windows(
    y: np.ndarray, *, sr: int = SAMPLE_RATE, window: float = WINDOW_SECONDS, min_tail: float = MIN_TAIL_SECONDS
) -> list[np.ndarray]:
    """Cut a track into consecutive ``window``-second pieces.

    The last piece is kept (it is padded later by the features) when it is at least ``min_tail``
    seconds long, or when it is the only one.

    Returns
    -------
    list of np.ndarray, each shape (<= window * sr,)
    """
    n = int(round(window * sr))
    pieces = [y[i : i + n] for i in range(0, max(y.size, 1), n)]
    if len(pieces) > 1 and pieces[-1].size < min_tail * sr:
        pieces.pop()
    return pieces


def load_windows(
    path: str | Path, *, sr: int = SAMPLE_RATE, window: float = WINDOW_SECONDS,
    min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS,
) -> list[np.ndarray]:
    """Decode a whole track and cut it into consecutive windows (see :func:`windows`)."""
    y = load(path, sr=sr, max_seconds=max_seconds)
    y = check_signal(y, sr=sr, min_seconds=min_seconds, name=str(path))
    if y.size <= window * sr * 1.01:
        return [y]
    return windows(y, sr=sr, window=window)
