"""The log: library code logs through ``logging.getLogger(__name__)``; the command line sends it to stderr,
never stdout (which carries only results), and pool workers log as their parent does."""
from __future__ import annotations

import logging
import sys


class _Formatter(logging.Formatter):
    """``genrefuse: message``, with ``warning:`` or ``error:`` before the message at those levels."""

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        return f"genrefuse: {level}{record.getMessage()}"


class _Stderr(logging.StreamHandler):
    """A handler on ``sys.stderr`` as it is when a record is written, not when the handler was made: a caller
    that redirects stderr for a while (a test's capture) and closes what it redirected to leaves a background
    thread's late record nowhere to go otherwise ("Logging error: I/O operation on closed file")."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def level_for(verbosity: int) -> int:
    """Info by default, debug with ``-v``, warnings only with ``-q``, errors only with ``-qq``."""
    return {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO}.get(max(-2, verbosity), logging.DEBUG)


def log_to_stderr(level: int) -> None:
    """The ``genrefuse`` loggers write to stderr at ``level`` (called again, it replaces its handler)."""
    logger = logging.getLogger("genrefuse")
    for h in list(logger.handlers):
        if getattr(h, "genrefuse_stderr", False):
            logger.removeHandler(h)
    handler = _Stderr()
    handler.genrefuse_stderr = True
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def configured_level() -> int | None:
    """The level set by :func:`log_to_stderr` in this process, or None (a caller of the Python API)."""
    logger = logging.getLogger("genrefuse")
    return logger.level if any(getattr(h, "genrefuse_stderr", False) for h in logger.handlers) else None
