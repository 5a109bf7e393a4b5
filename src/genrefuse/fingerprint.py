"""A recording's identity: a hash of its decoded samples, blind to tags and containers.

Two files hold the same recording when they decode to the same samples: a copy whose only change is its
genre tag, or a wav and a flac of the same 16-bit audio. The samples are read as 16-bit integers (what
every lossless container of CD audio holds exactly) in blocks, so a long file never sits in memory whole.
Lossy encodings of one recording at two bitrates decode to other samples and stay two tracks.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from .audio import READ_BLOCK, AudioHeader, DecodeBudget, _header, _open, _short, header_believable
from .errors import AudioError
from .native_stderr import quiet_decoder

METHOD = "pcm16-sha256"       # recorded beside the hash, so that a later method can tell old hashes apart


@dataclass(frozen=True)
class Identity:
    """What one decoding pass of a file tells: its recording's ``audio_hash``, its ``header`` and its duration
    in ``seconds`` (the header's, unless the file is far too small to hold that much audio: then the samples
    the pass decoded, counted, as :func:`~genrefuse.audio.duration` counts them)."""

    audio_hash: str
    header: AudioHeader
    seconds: float


def identify(path: str | Path) -> Identity:
    """The :class:`Identity` of ``path``, from one open and one decode (what `ingest` needs of a file beside
    its analysis, which reads only the windows it analyses).

    Raises :class:`~genrefuse.errors.AudioError` for a file that cannot be decoded, or that decodes to far more
    samples than its bytes can hold (:class:`~genrefuse.audio.DecodeBudget`: refused in bounded time).
    """
    path = Path(path)
    h = hashlib.sha256()
    with _open(path) as f, quiet_decoder():
        head = _header(f)
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
    if not head.sr:
        seconds = 0.0
    else:
        seconds = (head.frames if header_believable(head, os.stat(path).st_size) else frames) / head.sr
    return Identity(h.hexdigest(), head, seconds)


def audio_hash(path: str | Path) -> str:
    """SHA-256 (hex) of ``path``'s rate, channel count and decoded samples as 16-bit integers (see
    :func:`identify`, which also gives the header and the duration from the same pass)."""
    return identify(path).audio_hash
