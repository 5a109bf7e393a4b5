"""Keep a C decoder's chatter out of the user's output.

libmpg123 (inside libsndfile) writes "Note: Trying to resync..." and similar lines straight to file
descriptor 2 when an mp3 has damaged frames; Python cannot catch them. While :func:`quiet_decoder` is
active, descriptor 2 points at a temporary file; when the last user leaves, everything else that was
written there (a log line of another thread, a Python warning) is written to the real stderr.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# what libmpg123 prints: "Note: ...", "Warning: ...", "[src/libmpg123/layer3.c:...] error: ..."
DECODER_LINE = re.compile(rb"^(Note: |Warning: |\[src/libmpg123/|\[.*libmpg123.*\] )")

_lock = threading.Lock()
_users = 0
_saved_fd: int | None = None
_capture = None


def _flush_python() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


@contextmanager
def quiet_decoder() -> Iterator[None]:
    """Within the block, drop the decoder's lines from stderr and keep every other line."""
    global _users, _saved_fd, _capture
    with _lock:
        if _users == 0:
            try:
                _flush_python()
                capture = tempfile.TemporaryFile()
                saved = os.dup(2)
                os.dup2(capture.fileno(), 2)
                _saved_fd, _capture = saved, capture
            except OSError:                 # no descriptor 2 to redirect: nothing to hide
                _saved_fd = _capture = None
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved_fd is not None:
                _flush_python()
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _capture.seek(0)
                kept = [line for line in _capture.read().splitlines(keepends=True) if not DECODER_LINE.match(line)]
                _capture.close()
                _saved_fd = _capture = None
                if kept:
                    os.write(2, b"".join(kept))
