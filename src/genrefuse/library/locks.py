"""One writer per track: an exclusive lock that ingest, corrections and removal of a track hold while they
change its file and its row, so that two of them never interleave (threads of one server and separate
processes alike: ``flock`` on a file of the library).

Locks are striped over 256 files by the track's content hash (``LIBRARY/.locks/<hh>.lock``): a lock per
track would leave a file per track behind, and two tracks sharing a stripe only wait for each other.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FOLDER = ".locks"


@contextmanager
def track_lock(library_dir: str | Path, content_hash: str) -> Iterator[None]:
    """Hold the write lock of the track with ``content_hash`` (hex) for the block."""
    folder = Path(library_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{content_hash[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)       # each call opens its own descriptor, so threads exclude each other
        yield
    finally:
        os.close(fd)                         # closing releases the lock
