"""Decoding audio to mono float32 at the analysis rate, and cutting it into analysis windows.

soundfile (libsndfile) decodes wav, au, flac, ogg and mp3; every decoder failure becomes an
:class:`~genrefuse.errors.AudioError` naming the file and the reason.
"""
from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError, DataError
from .native_stderr import quiet_decoder

SAMPLE_RATE = 22050         # the analysis rate of the paper's features (musicnn resamples to its own)
AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3")
WINDOW_SECONDS = 30.0       # GTZAN's clip length: the unit every model sees
MIN_SECONDS = 2.0           # shorter inputs carry too little music to classify
MIN_TAIL_SECONDS = 10.0     # a track's last, shorter window counts only from this length
MAX_WINDOWS = 20            # windows analysed at most per track (10 minutes), spread evenly over longer ones
MAX_SECONDS = 3 * 3600.0    # whole-track decoding refuses anything longer (a middle window never does)
SILENCE_PEAK = 1e-4         # peak amplitude under which a file is treated as silent
READ_BLOCK = 1 << 16        # frames decoded at a time
MAX_CHANNELS = 64           # headers beyond these describe no music file: refused before decoding
MAX_RATE = 768_000
# the most samples (frames x channels) one byte of a music file decodes to: low-bitrate Vorbis and MP3 take about
# 5-25, lossless formats 1 or less; near-silent FLAC far more (a 17.5 MB file held 3 hours of 8 channels at 192 kHz
# and took a minute to hash). Decoding stops past it, so the work is bounded by the bytes, not the header's word
MAX_SAMPLES_PER_BYTE = 64
MIN_DECODE_BUDGET = 1 << 22  # samples any file may decode to, however small


class DecodeBudget:
    """How many samples a file may still decode to (:data:`MAX_SAMPLES_PER_BYTE` of its bytes); :meth:`spend`
    raises :class:`AudioError` past it."""

    def __init__(self, path: str | Path, size: int):
        self.path, self.size = path, size
        self.left = max(size * MAX_SAMPLES_PER_BYTE, MIN_DECODE_BUDGET)

    @classmethod
    def of(cls, path: str | Path) -> "DecodeBudget":
        return cls(path, os.stat(path).st_size)

    def spend(self, samples: int) -> None:
        self.left -= samples
        if self.left < 0:
            raise AudioError(self.path, f"decodes to far more audio than its {self.size:,} bytes can hold (over "
                                        f"{MAX_SAMPLES_PER_BYTE} samples a byte: a header that lies, or a file made "
                                        "to be slow to read): refused")


def is_audio_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"))


def check_file(path: str | Path) -> os.stat_result:
    """The ``os.stat`` of a regular, readable, non-empty file, else an :class:`AudioError` saying what it is
    instead: missing, a link loop, a folder (or one that cannot be listed), a pipe, socket or device (never
    opened: a pipe would block), or unreadable. Every reader of the user's files checks here first."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise AudioError(path, f"a broken link (what it leads to, {os.readlink(path)}, is gone)") from None
        raise AudioError(path, "no such file or folder") from None
    except OSError as exc:
        reason = "a symbolic link loop" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror})"
        raise AudioError(path, reason) from None
    if stat.S_ISDIR(st.st_mode):
        try:
            os.scandir(path).close()
        except OSError as exc:
            raise AudioError(path, f"cannot list this folder ({exc.strerror})") from None
        raise AudioError(path, "is a folder, not an audio file")
    for test, what in _NOT_REGULAR:
        if test(st.st_mode):
            raise AudioError(path, f"not a regular file ({what})")
    if not os.access(path, os.R_OK):
        raise AudioError(path, "cannot be read (permission denied)")
    if st.st_size == 0:
        raise AudioError(path, "empty file")
    return st


def _open(path: Path) -> sf.SoundFile:
    check_file(path)
    try:
        with quiet_decoder():
            return sf.SoundFile(os.fsencode(path))     # bytes: a non-UTF-8 name opens as the bytes it is
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        first = exc
    view = _mp3_after_tags(path)
    if view is not None:
        return view
    raise AudioError(path, f"not a readable audio file ({_short(first)})") from None


# an ID3v2 tag ahead of an mp3's first frame: libsndfile finds the frames behind a large one (a 6 KB XMP
# frame, say) only when the file is named .mp3; every reader of ours reads such a file whatever its name
_ID3_SEARCH = 1 << 16          # bytes searched for the first MPEG frame after the tag (padding, a stray ID3v1)


class _Tail(io.RawIOBase):
    """A read-only view of a file from byte ``start`` on (libsndfile's virtual I/O reads it as a file)."""

    def __init__(self, path: Path, start: int):
        self._f, self._start = open(path, "rb"), start
        self._f.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        return self._f.readinto(buf)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            offset += self._start
        return self._f.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._f.tell() - self._start

    def close(self) -> None:
        self._f.close()
        super().close()


class _TailSoundFile(sf.SoundFile):
    """A SoundFile over a :class:`_Tail` that closes the view with itself."""

    def close(self) -> None:
        super().close()
        self._tail.close()


def _mp3_after_tags(path: Path) -> sf.SoundFile | None:
    """The mp3 behind an ID3v2 tag, opened from its first frame; None when ``path`` is no such file."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
                return None
            end = 10 + (head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9]) + (10 if head[5] & 0x10 else 0)
            f.seek(end)
            data = f.read(_ID3_SEARCH)
    except OSError:
        return None
    for i in range(len(data) - 1):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            tail = _Tail(path, end + i)
            try:
                with quiet_decoder():
                    f = _TailSoundFile(tail)
            except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
                tail.close()
                return None
            f._tail = tail
            return f
    return None


def _short(exc: Exception) -> str:
    """libsndfile's message without the path it repeats; its 'does not exist' means 'unrecognised'."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    if "Error opening" in text and ": " in text:
        text = text.split(": ", 1)[1]
    if "not a regular file" in text or "Format not recognised" in text:
        return "unrecognised format or corrupt data"
    if "SF_INFO struct incomplete" in text or "Channel count is zero" in text:
        return "invalid header: a sample rate or channel count of zero"
    return text[:200]


# libsndfile's major formats -> the extension a stored file gets (never the user's name for it)
FORMAT_EXTENSIONS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "AU": "au", "FLAC": "flac", "OGG": "ogg",
                     "MPEG": "mp3", "MP3": "mp3"}


@dataclass(frozen=True)
class AudioHeader:
    """What a file's header says: rate, length in frames, channels and libsndfile's format name."""

    sr: int
    frames: int
    channels: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.sr if self.sr else 0.0

    @property
    def extension(self) -> str:
        """The extension of the format the bytes hold (``wav``, ``au``, ``flac``, ``ogg``, ``mp3``), whatever
        the file is named; ``bin`` for another format libsndfile reads."""
        return FORMAT_EXTENSIONS.get(self.format, "bin")


def _header(f: sf.SoundFile) -> AudioHeader:
    return AudioHeader(f.samplerate, f.frames, f.channels, f.format)


def header(path: str | Path) -> AudioHeader:
    """The header of an audio file, read without decoding any audio."""
    with _open(Path(path)) as f:
        return _header(f)


# the fewest bytes a second of real audio takes in any format read here (FLAC of near silence takes a few
# hundred); a header that claims more seconds than this allows is counted out by decoding instead
MIN_BYTES_PER_SECOND = 64


def duration(path: str | Path) -> float:
    """Duration in seconds: the header's, unless the file is far too small to hold that much audio (a header
    that claims days for a file that plays 3 s): then the decoded samples, counted."""
    path = Path(path)
    with _open(path) as f:
        h = _header(f)
    return _frames(h, path) / h.sr if h.sr else h.duration


def header_believable(h: AudioHeader, size: int) -> bool:
    """Whether a file of ``size`` bytes can hold the audio its header ``h`` claims (at least
    ``MIN_BYTES_PER_SECOND`` a second; a header without a rate claims nothing)."""
    return h.duration * MIN_BYTES_PER_SECOND <= size or not h.sr


def _frames(h, path: Path) -> int:
    """The samples per channel of the file at ``path`` (header ``h``): the header's, unless the file is far too
    small to hold that much audio; then the decoded samples, counted (within the file's decode budget) through a
    handle of its own (a decoder that read past a lying header's end may no longer seek)."""
    size = os.stat(path).st_size
    if header_believable(h, size):
        return h.frames
    n, budget = 0, DecodeBudget(path, size)
    with quiet_decoder(), _open(path) as f:
        try:
            while len(block := f.read(frames=READ_BLOCK, dtype="int16", always_2d=True)):
                budget.spend(block.size)
                n += len(block)
        except (sf.LibsndfileError, RuntimeError, ValueError):
            pass                                  # a cut-off file: what decoded counts
    return n


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Mono float32 ``y`` from ``orig_sr`` to ``target_sr`` Hz, float32, ``ceil(len(y) * target_sr / orig_sr)``
    samples: what ``librosa.resample`` gives by default (soxr's high quality, then fixed to that length)."""
    if orig_sr == target_sr:
        return y
    import soxr

    out = soxr.resample(np.asarray(y, dtype=np.float32), orig_sr, target_sr, quality="soxr_hq")
    return fix_length(out, int(np.ceil(y.shape[-1] * float(target_sr) / orig_sr)))


def fix_length(y: np.ndarray, n: int) -> np.ndarray:
    """Mono ``y`` cut or zero-padded to ``n`` samples, contiguous float32 (as ``librosa.util.fix_length``)."""
    return np.ascontiguousarray(np.pad(y, (0, max(0, n - y.shape[-1])))[:n], dtype=np.float32)


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
    return np.ascontiguousarray(resample(y, native_sr, sr), dtype=np.float32)


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
        count = None if seconds is None else int(round(seconds * native_sr))
        y = _read_mono(f, path, start=min(start, total), count=count)
    if y.size == 0:
        raise AudioError(path, "no audio samples")
    if not np.isfinite(y).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(y, dtype=np.float32), native_sr


def _read_mono(f: sf.SoundFile, path: Path, *, start: int, count: int | None) -> np.ndarray:
    """Decode ``count`` frames (None: to the end) from ``start`` in blocks, each mixed to mono at once, so
    that a many-channel file never holds all its channels in memory. A decoder error after some audio
    (a cut-off file) ends the read there; one before any is an :class:`AudioError`."""
    with quiet_decoder():                # libmpg123's notes on damaged frames stay off the user's screen
        return _read_blocks(f, path, start=start, count=count)


def _read_blocks(f: sf.SoundFile, path: Path, *, start: int, count: int | None) -> np.ndarray:
    blocks, left = [], count
    try:
        if start:
            f.seek(start)
        while left is None or left > 0:
            want = READ_BLOCK if left is None else min(READ_BLOCK, left)
            try:
                data = f.read(frames=want, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError):
                if blocks:
                    break
                raise
            if len(data):
                blocks.append(data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0].copy())
                left = None if left is None else left - len(data)
            if len(data) < want:
                break
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(path, f"could not decode ({_short(exc)})") from None
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def check_signal(y: np.ndarray, *, sr: int = SAMPLE_RATE, min_seconds: float = MIN_SECONDS, name: str = "<array>") -> np.ndarray:
    """Validate a waveform: 1-D (or 2-D, averaged to mono), finite, long enough, not silent."""
    y = _mono(np.asarray(y, dtype=np.float32), name)
    if not np.isfinite(y).all():
        raise AudioError(name, "contains NaN or infinite samples")
    if y.size < min_seconds * sr:
        raise AudioError(name, f"too short ({y.size / sr:.2f} s; at least {min_seconds:g} s needed)")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError(name, "silent (no signal above -80 dBFS)")
    return y


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


@dataclass(frozen=True)
class WindowPolicy:
    """Which parts of a track a model analyses; stored with the model, so every path agrees.

    A file up to ``window_seconds`` (+1%, GTZAN's clips run to 30.13 s) is one window, whole. A longer
    one is cut into consecutive ``window_seconds`` pieces; the last, shorter piece counts when it is at
    least ``min_tail_seconds`` long. A track of more than ``max_windows`` pieces is cut into ``max_windows``
    equal parts and one full window centred in each is analysed (one window: the middle of the track, where
    the real recordings the models are judged on were excerpted; intros and fade-outs are left out), so
    that work and memory are bounded whatever the length.
    Models with the musicnn branch tag 3 s patches every ``patch_hop_seconds`` inside each window.
    """

    window_seconds: float = WINDOW_SECONDS
    min_tail_seconds: float = MIN_TAIL_SECONDS
    max_windows: int = MAX_WINDOWS
    patch_hop_seconds: float = 1.0      # musicnn's 3 s patches start this far apart within a window

    def spans(self, n_samples: int, sr: int) -> list[tuple[int, int]]:
        """``(start, length)`` in samples of each analysed window of a track of ``n_samples`` at ``sr``."""
        n = int(round(self.window_seconds * sr))
        if n_samples <= self.window_seconds * sr * 1.01:
            return [(0, n_samples)]
        spans = [(s, min(n, n_samples - s)) for s in range(0, n_samples, n)]
        if len(spans) > 1 and spans[-1][1] < self.min_tail_seconds * sr:
            spans.pop()
        if len(spans) > self.max_windows:
            part = n_samples / self.max_windows
            spans = [(min(n_samples - n, max(0, int(round((i + 0.5) * part - n / 2)))), n)
                     for i in range(self.max_windows)]
        return spans

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "WindowPolicy":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d}) if d else cls()


def iter_windows(
    x: str | Path | np.ndarray, *, sr: int | None = None, policy: WindowPolicy = WindowPolicy(),
    min_seconds: float = MIN_SECONDS, name: str | None = None,
) -> Iterator[tuple[np.ndarray, int]]:
    """The analysed windows of a file or a waveform, one at a time: ``(y, sr)`` mono float32 at the
    source's own rate. A file is decoded window by window (its length comes from the header, unless the file
    is far too small for it: then from its decoded samples, counted), so memory is bounded by one window. Raises :class:`AudioError` for a short, silent or non-finite input.

    Yields
    ------
    y : np.ndarray, shape (<= window_seconds * sr,), float32
    sr : int
    """
    if isinstance(x, (str, Path)):
        path = Path(x)
        name = name or str(path)
        with _open(path) as f:             # open once; each window is read by seeking
            h = _header(f)
            if not 0 < h.sr <= MAX_RATE or not 0 < h.channels <= MAX_CHANNELS:
                raise AudioError(name, f"implausible header ({h.channels} channels at {h.sr} Hz)")
            _check_length(h.duration, min_seconds, name)
            budget = DecodeBudget(name, os.stat(path).st_size)

            def read(start: int, count: int) -> np.ndarray:
                budget.spend(count * h.channels)        # before decoding: what a window would cost
                return _read_mono(f, path, start=start, count=count)

            # the windows of what the file holds (a header that claims days would put them past its end)
            yield from _windows(read, _frames(h, path), h.sr, policy, name)
        return
    if sr is None:
        raise ValueError("a waveform needs its sample rate (sr=...)")
    name = name or "<array>"
    y = _mono(np.asarray(x, dtype=np.float32), name)
    _check_length(y.size / sr, min_seconds, name)
    yield from _windows(lambda start, count: y[start:start + count], y.size, sr, policy, name)


def _windows(read, total: int, sr: int, policy: WindowPolicy, name: str) -> Iterator[tuple[np.ndarray, int]]:
    """The policy's windows of a track of ``total`` samples, ``read(start, count)`` giving each; checked for
    non-finite samples, and the track as a whole for silence."""
    peak, done = 0.0, 0
    for start, count in policy.spans(total, sr):
        try:
            w = np.ascontiguousarray(read(start, count), dtype=np.float32)
        except AudioError:
            if done:        # the data ends before its header says (a cut-off download): use what there is
                break
            raise
        if not np.isfinite(w).all():
            raise AudioError(name, "contains NaN or infinite samples")
        if w.size < min(count, MIN_SECONDS * sr):
            if done:
                break
            raise AudioError(name, "no audio samples" if not w.size else
                             "no audio samples where the header says there are some (a truncated file?)")
        peak = max(peak, float(np.max(np.abs(w))))
        done += 1
        yield w, sr
    if peak < SILENCE_PEAK:              # silent as a whole (a quiet intro is fine)
        raise AudioError(name, "silent (no signal above -80 dBFS)")


def _check_length(seconds: float, min_seconds: float, name: str) -> None:
    if seconds < min_seconds:
        raise AudioError(name, f"too short ({seconds:.2f} s; at least {min_seconds:g} s needed)")


def _mono(y: np.ndarray, name: str) -> np.ndarray:
    if y.ndim == 2:
        # (channels, samples) as librosa returns it, or (samples, channels) as soundfile does
        y = y.mean(axis=0 if y.shape[0] < y.shape[1] else 1)
    if y.ndim != 1:
        raise AudioError(name, f"expected a 1-D waveform, got shape {y.shape}")
    return y


def iter_audio_files(inputs: Iterable[str | Path], *, strict: bool = False,
                     skip: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Files as given (so that a bad one is reported later), folders walked for audio files depth
    first, each folder sorted and listed one at a time (hidden folders skipped; links to folders are not
    followed, so a link loop cannot trap the walk). A folder that cannot be listed, and anything with an
    audio extension that is not a regular file (a pipe, a broken link, a link loop), is yielded too, so that
    the reader reports it in one line and the batch goes on. With ``strict`` a missing input raises
    :class:`DataError` instead of being passed on. A folder for which ``skip(folder)`` holds (a library's
    own, inside the folder being walked) is not entered."""
    for inp in inputs:
        root = Path(inp)
        if not root.is_dir():
            if strict and not root.exists():
                raise DataError(f"{root}: no such file or folder")
            yield root
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                yield folder                    # check_file names the reason
                continue
            subdirs = []
            for e in entries:
                if _is_dir(e):
                    if not e.name.startswith(".") and not (skip is not None and skip(Path(e.path))):
                        subdirs.append(Path(e.path))
                elif is_audio_path(e.name):
                    yield Path(e.path)
            stack.extend(reversed(subdirs))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
