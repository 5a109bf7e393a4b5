"""Audio files under ``LIBRARY_DIR/<genre>/<content-hash>.<ext>``, written atomically.

The user's file name is data only, never part of a path: a file lands first in ``LIBRARY_DIR/.incoming``
under a random name and is renamed into place (same file system, so the rename is atomic).
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from ..audio import AUDIO_EXTENSIONS

INCOMING = ".incoming"
_GENRE_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def incoming_path(library_dir: Path, suffix: str = "") -> Path:
    """A fresh temporary name in ``.incoming``, prefixed with the pid of the process that owns it."""
    folder = Path(library_dir) / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}"


def owner_pid(path: Path) -> int | None:
    """The pid an ``.incoming`` file was written by, or None for a name without one."""
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() and "-" in path.name else None


def safe_ext(name: str) -> str:
    """The stored extension: the original's when it is an audio extension, else 'bin'."""
    ext = Path(name).suffix.lower()
    return ext[1:] if ext in AUDIO_EXTENSIONS else "bin"


def relative_path(genre: str, digest: str, ext: str) -> str:
    if not _GENRE_SAFE.match(genre):
        raise ValueError(f"genre name {genre!r} cannot name a folder")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError("a stored file is named by its SHA-256")
    return f"{genre}/{digest}.{ext}"


def move_into_place(src: Path, library_dir: Path, rel: str) -> Path:
    """Rename a complete file (already flushed) to its final path; same content gives the same path."""
    dest = Path(library_dir) / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(src, dest)
    return dest


def copy_to_incoming(src: Path, library_dir: Path) -> Path:
    """Copy a user's file into the library's incoming folder (the original is never moved)."""
    tmp = incoming_path(library_dir, ".part")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while block := fin.read(1 << 20):
            fout.write(block)
    return tmp
