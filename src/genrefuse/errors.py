"""The package's own exceptions: each names the file (or input) and the problem in one line."""
from __future__ import annotations

from pathlib import Path


def unforeseen(name: str, exc: Exception) -> str:
    """One line for a failure that is not one of ours (a bug, a decoder's own exception), naming the input."""
    return f"{name}: {type(exc).__name__}: {exc}".splitlines()[0]


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


class ForbiddenError(DataError):
    """The listener asking may not change this (the service answers 403)."""
