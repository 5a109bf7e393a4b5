"""A recording's identity: a hash of its decoded samples, blind to tags and containers.

Two files hold the same recording when they decode to the same samples: a copy whose only change is its
genre tag, or a wav and a flac of the same 16-bit audio. The samples are read as 16-bit integers (what
every lossless container of CD audio holds exactly) in blocks, so a long file never sits in memory whole.
Lossy encodings of one recording at two bitrates decode to other samples and stay two tracks.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import soundfile as sf

from .audio import READ_BLOCK, DecodeBudget, _open, _short
from .errors import AudioError
from .native_stderr import quiet_decoder

METHOD = "pcm16-sha256"       # recorded beside the hash, so that a later method can tell old hashes apart


def audio_hash(path: str | Path) -> str:
    """SHA-256 (hex) of ``path``'s rate, channel count and decoded samples as 16-bit integers.

    Raises :class:`~genrefuse.errors.AudioError` for a file that cannot be decoded, or that decodes to far more
    samples than its bytes can hold (:class:`~genrefuse.audio.DecodeBudget`: refused in bounded time).
    """
    path = Path(path)
    h = hashlib.sha256()
    with _open(path) as f, quiet_decoder():
        budget = DecodeBudget.of(path)         # bounded by the bytes read, whatever the header claims
        h.update(f"{METHOD}:{f.samplerate}:{f.channels}:".encode())
        frames = 0
        while True:
            try:
                block = f.read(frames=READ_BLOCK, dtype="int16", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                if frames:              # a cut-off file: its identity is the audio before the cut, as decoded
                    break
                raise AudioError(path, f"could not decode ({_short(exc)})") from None
            budget.spend(block.size)
            h.update(block.tobytes())
            frames += len(block)
            if len(block) < READ_BLOCK:
                break
    return h.hexdigest()
