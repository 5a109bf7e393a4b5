"""Audio files under ``LIBRARY_DIR/<genre>/<artist - title, else the original name> [<hash8>].<ext>``,
written atomically.

The user's file name is cleaned before it becomes part of a path (no folders, no hidden names, no
characters a file system refuses); the first 8 hex digits of the content hash keep names unique. A file
lands first in ``LIBRARY_DIR/.incoming`` under a random name and is renamed into place (same file
system, so the rename is atomic).
"""
from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from pathlib import Path

from ..audio import AUDIO_EXTENSIONS, check_file
from ..errors import AudioError
from ..genres import folder_name, reserved_name
from ..io import file_hash

INCOMING = ".incoming"
MODEL = "model"           # LIBRARY/model: the library's own model, once `genrefuse learn` fitted one


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


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME_BYTES = 150                 # file systems allow 255; the hash, extension and margin take the rest


def readable_name(*, original_name: str, artist: str | None = None, title: str | None = None) -> str:
    """``Artist - Title`` when the tags give both, else the title, else the original file's stem; cleaned
    so that it is one plain file name on any common file system."""
    return clean_name(f"{artist} - {title}" if artist and title else (title or Path(original_name).stem))


def clean_name(text: str) -> str:
    """``text`` as one plain file name: no folders, hidden names, characters a file system refuses, nor
    invisible ones (format characters such as a right-to-left override, which make a name read as another),
    not a Windows device name (``CON``, ``NUL``: prefixed ``_``), at most ``MAX_NAME_BYTES``; ``track`` when
    nothing is left."""
    import unicodedata

    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Zl", "Zp"))
    base = " ".join(_UNSAFE.sub("_", text).split()).strip(" .")
    while len(base.encode()) > MAX_NAME_BYTES:
        base = base[:-1]
    base = base.rstrip(" .") or "track"
    return f"_{base}" if reserved_name(base) else base


genre_folder = folder_name       # the folder a genre's files live in: see genres.folder_name


def relative_path(genre: str, digest: str, ext: str, *, name: str) -> str:
    """``<genre>/<name> [<hash8>].<ext>`` (libraries made before readable names hold ``<genre>/<hash>.<ext>``,
    kept as their rows say)."""
    genre = genre_folder(genre)
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError("a stored file is named by its SHA-256")
    if name != clean_name(name):
        raise ValueError(f"{name!r} is not a clean file name")
    return f"{genre}/{name} [{digest[:8]}].{ext}"


def in_genre(rel: str, genre: str) -> str:
    """The same stored file's path under another genre's folder."""
    return f"{genre_folder(genre)}/{rel.split('/', 1)[1]}"


def relink(library_dir: Path, old_rel: str, new_rel: str) -> Path:
    """Make the file at ``old_rel`` also appear at ``new_rel`` (a hard link, else a copy renamed into
    place); the caller removes ``old_rel`` once the database points at the new path. When ``new_rel``
    already is the same file (a correction interrupted after its link), nothing changes."""
    src, dest = Path(library_dir) / old_rel, Path(library_dir) / new_rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and os.path.samefile(src, dest):
        return dest
    tmp = incoming_path(library_dir, ".relink")
    try:
        try:
            os.link(src, tmp)
        except OSError:
            tmp, _ = copy_to_incoming(src, library_dir)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)     # a rename onto a link to the same inode leaves its source
    return dest


def move_into_place(src: Path, library_dir: Path, rel: str) -> Path:
    """Rename a complete file (already flushed) to its final path; same content gives the same path."""
    dest = Path(library_dir) / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:            # read-only: a hard link to a user's file may not be writable
        os.fsync(f.fileno())
    os.replace(src, dest)
    return dest


class StillBeingWritten(AudioError):
    """The user's file changed while it was copied: a download or an export still in progress."""

    def __init__(self, path: str | Path):
        super().__init__(path, "still being written (it changed while it was read): try again later")


def copy_to_incoming(src: Path, library_dir: Path, *, since: os.stat_result | None = None) -> tuple[Path, str]:
    """Copy a user's file into the library's incoming folder (the original is never moved), hashing it on
    the way: ``(the copy, its SHA-256)``. A file whose size or modification time changes while it is copied
    (or since ``since``, its ``os.stat`` when the caller first looked) raises :class:`StillBeingWritten`; a
    failed copy (a full disk) leaves nothing behind."""
    before = since or check_file(src)
    tmp = incoming_path(library_dir, f".part.{safe_ext(src.name)}")     # read as its name says, as predict reads it
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(1 << 20):
                h.update(block)
                fout.write(block)
        _settled(src, before)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest()


def link_to_incoming(src: Path, library_dir: Path, *, since: os.stat_result | None = None) -> tuple[Path, str] | None:
    """:func:`copy_to_incoming` by a hard link (no second copy on disk), hashing the link: ``(the link, its
    SHA-256)``, or None where ``src`` is not on the library's file system (or it has no hard links). The link
    shares the user's bytes: whoever writes tags into it must copy first."""
    before = since or check_file(src)
    tmp = incoming_path(library_dir, f".link.{safe_ext(src.name)}")
    try:
        os.link(src, tmp)
    except OSError:                      # another file system, or one without hard links
        return None
    try:
        digest = file_hash(tmp)
        _settled(src, before)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest


def hash_in_place(src: Path, *, since: os.stat_result | None = None) -> str:
    """The SHA-256 of a user's file read where it is, refused as :class:`StillBeingWritten` when it changes
    meanwhile (``ingest --in-place``)."""
    before = since or check_file(src)
    digest = file_hash(src)
    _settled(src, before)
    return digest


def _settled(src: Path, before: os.stat_result) -> None:
    """Raise :class:`StillBeingWritten` when ``src`` changed since ``before``; a file written a moment ago is
    looked at again after ``SETTLE_SECONDS`` (a writer may only be between two writes)."""
    after = os.stat(src)
    if not _changed(before, after) and time.time() - after.st_mtime < SETTLE_SECONDS:
        time.sleep(SETTLE_SECONDS)
        after = os.stat(src)
    if _changed(before, after):
        raise StillBeingWritten(src)


def own_copy(path: Path, library_dir: Path) -> None:
    """Make a library file that is a hard link to a user's file a file of its own (before tags are written
    into it), so that the user's file keeps its bytes."""
    if os.stat(path).st_nlink > 1:
        tmp, _ = copy_to_incoming(path, library_dir)
        os.replace(tmp, path)


# a file modified less than this long ago is looked at again after this long before it is trusted complete
SETTLE_SECONDS = 0.5


def _changed(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino) != (b.st_size, b.st_mtime_ns, b.st_ino)
