"""A corpus of hostile and odd audio files, each with what genrefuse must do with it: refuse it with one
line naming the problem (``error`` holds a word of that line), or answer (``error`` is None)."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def _tone(seconds: float, sr: int = SR, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    return y if channels == 1 else np.repeat(y[:, None], channels, axis=1) * np.linspace(0.5, 1, channels, dtype=np.float32)


def _wav_header(sr: int, channels: int, data_bytes: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, sr, sr * channels * 2, channels * 2, 16) +
            b"data" + struct.pack("<I", data_bytes))


def make_corpus(folder: Path) -> dict[Path, str | None]:
    """Write the corpus into ``folder``; returns file -> expected error word (None: must be answered)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[Path, str | None] = {}

    def put(name: str, expect: str | None, data: bytes | None = None, y=None, sr: int = SR, **kw) -> None:
        p = folder / name
        if data is not None:
            p.write_bytes(data)
        elif y is not None:
            sf.write(p, y, sr, **kw)
        out[p] = expect

    rng = np.random.default_rng(0)
    put("empty.wav", "empty file", b"")
    put("text.mp3", "not a readable audio file", b"this is not music\n" * 50)
    put("text.wav", "not a readable audio file", b"just text" * 100)
    put("random.flac", "not a readable audio file", rng.bytes(50_000))
    put("header_only.wav", "too short", _wav_header(SR, 1, 0))
    put("zero_rate.wav", "invalid header", _wav_header(0, 1, 2 * SR * 3) + bytes(2 * SR * 3))
    put("zero_channels.wav", "invalid header", _wav_header(SR, 0, 2 * SR * 3) + bytes(2 * SR * 3))
    put("riff_zeros.wav", "not a readable audio file", b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(64))
    put("png.mp3", "not a readable audio file", b"\x89PNG\r\n\x1a\n" + rng.bytes(4000))
    put("zip.flac", "not a readable audio file", b"PK\x03\x04" + rng.bytes(4000))
    put("short_1s.wav", "too short", y=_tone(1.0))
    put("short_1.99s.wav", "too short", y=_tone(1.99))
    put("silent_10s.wav", "silent", y=np.zeros(10 * SR, np.float32))
    put("silent_1h_8k.flac", "silent", y=np.zeros(3600 * 8000, np.int16), sr=8000)
    put("nan.wav", "NaN", y=np.full(3 * SR, np.nan, np.float32), subtype="FLOAT")
    put("inf.wav", "NaN or infinite", y=np.full(3 * SR, np.inf, np.float32), subtype="FLOAT")
    stereo_nan = np.stack([_tone(5), np.where(np.arange(5 * SR) == 1000, np.nan, 0.1).astype(np.float32)], 1)
    put("stereo_one_nan.wav", "NaN", y=stereo_nan, subtype="FLOAT")
    put("70_channels.wav", "implausible header", y=_tone(3, channels=70))
    lying = _wav_header(SR, 1, 2 * SR * 600)            # says 10 minutes, holds 5 s
    put("lying_header.wav", None, lying + (_tone(5) * 32767).astype("<i2").tobytes())
    put("missing.wav", "no such file")
    (folder / "broken_link.wav").symlink_to(folder / "nowhere.wav")
    out[folder / "broken_link.wav"] = "a broken link"
    # files that must be answered
    put("exactly_2s.wav", None, y=_tone(2.0))
    put("dc_offset.wav", None, y=np.full(5 * SR, 0.5, np.float32))
    put("square_clipped.wav", None, y=np.sign(_tone(5)).astype(np.float32))
    put("rate_384k.wav", None, y=_tone(3, sr=384000), sr=384000)
    put("rate_8k.wav", None, y=_tone(5, sr=8000), sr=8000)
    put("u8.wav", None, y=_tone(5), subtype="PCM_U8")
    eight = folder / "eight_channels_48k_20min.flac"
    with sf.SoundFile(eight, "w", 48000, 8, format="FLAC") as f:       # written 10 s at a time
        block = np.concatenate([_tone(1, sr=48000, channels=8), np.zeros((9 * 48000, 8), np.float32)])
        for _ in range(120):
            f.write(block)
    out[eight] = None
    clicks = np.zeros(3600 * 8000, np.float32)
    clicks[::8000] = 0.9
    put("clicks_1h_8k.flac", None, y=clicks, sr=8000)
    put("mp3_named.wav", None, y=_tone(5), format="MP3")
    put("wav_named.mp3", None, y=_tone(5), format="WAV")
    full = folder / "full.flac"
    sf.write(full, _tone(60), SR)
    data = full.read_bytes()
    full.unlink()
    put("half.flac", None, data[: len(data) // 2])
    put("ogg_cut.ogg", None, None, y=_tone(20), format="OGG")
    ogg = folder / "ogg_cut.ogg"
    ogg.write_bytes(ogg.read_bytes()[: ogg.stat().st_size // 2])
    put("damaged_frames.mp3", None, None, y=_tone(10), format="MP3")
    mp3 = bytearray((folder / "damaged_frames.mp3").read_bytes())
    for i in range(2000, len(mp3) - 2000, 3000):      # garbage over some frames: libmpg123 resyncs and goes on
        mp3[i:i + 200] = rng.bytes(200)
    (folder / "damaged_frames.mp3").write_bytes(bytes(mp3))
    put("quiet_intro.wav", None, y=np.concatenate([np.zeros(20 * SR, np.float32), _tone(15)]))
    return out
