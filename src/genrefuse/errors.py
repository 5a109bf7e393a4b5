"""The package's own exceptions: each names the file (or input) and the problem in one line."""
from __future__ import annotations

import errno
from pathlib import Path


def unforeseen(name: str, exc: Exception) -> str:
    """One line for a failure that is not one of ours (a bug, a decoder's own exception), naming the input;
    a failure of the disk or file system (full, read-only) in words."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_PROBLEMS:
        return f"{name}: {storage_problem(exc)[1]}"
    if disk_full(exc):
        return f"{name}: {STORAGE_PROBLEMS[errno.ENOSPC][1]}"
    return f"{name}: {type(exc).__name__}: {exc}".splitlines()[0]


# what a failed write of the library's means, with the HTTP status the service answers
STORAGE_PROBLEMS = {
    errno.ENOSPC: (507, "the disk is full: nothing was stored; free some space and try again"),
    errno.EDQUOT: (507, "the disk quota is used up: nothing was stored"),
    errno.EROFS: (503, "the library's file system is read-only: nothing can be stored now"),
    errno.EACCES: (503, "the library's folder cannot be written (permission denied): nothing can be stored now"),
    errno.EPERM: (503, "the library's folder cannot be written (operation not permitted): nothing can be stored now"),
    errno.ENAMETOOLONG: (422, "a name is too long for the file system"),
    errno.ENOENT: (503, "a file or folder of the library is missing (was the library folder moved or deleted?)"),
    errno.EIO: (503, "the disk reported an input/output error"),
}


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full: an OSError, or a database that could not grow (SQLite's
    'database or disk is full', PostgreSQL's 'No space left on device')."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(getattr(exc, "orig", None) or exc)
    return "database or disk is full" in text or "No space left on device" in text


def storage_problem(exc: OSError) -> tuple[int, str]:
    """The HTTP status and one line for a failed read or write of the library's files."""
    return STORAGE_PROBLEMS.get(exc.errno, (503, f"the library's files cannot be used now ({exc.strerror or exc})"))


class GenrefuseError(Exception):
    """Base of every error a user's input can cause; the CLI prints it as one line."""


class AudioError(GenrefuseError):
    """An audio file that cannot be used: unreadable, empty, silent, too short or long, non-finite."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DataError(GenrefuseError):
    """A dataset, manifest, CSV or split definition that cannot be used."""


class ModelError(GenrefuseError):
    """A model bundle that cannot be loaded or does not fit the input."""


class ConflictError(DataError):
    """The input clashes with what is stored (a name already taken)."""


class NotFoundError(DataError, LookupError):
    """A track, listener or other stored thing that does not exist (the service answers 404)."""


class GoneError(DataError):
    """A stored thing whose file is missing (the service answers 410)."""


class ForbiddenError(DataError):
    """The listener asking may not change this (the service answers 403)."""
