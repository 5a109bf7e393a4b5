"""Small file utilities every layer shares: content hashes, atomic writes, the cache folder."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import DataError


def file_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, hex: a clip's identity (cache keys, library rows, ONNX exports)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it is renamed onto
    ``path`` (atomic on one file system), else removed. A file or a folder may be written there.

    ``suffix`` ends the temporary name, for writers that insist on an extension (``np.save``).
    """
    path = Path(path)
    what = _not_writable_kind(path)
    if what is not None:                   # never rename onto a device, a pipe or a socket (`--out /dev/full`)
        raise DataError(f"{path}: {what}, not a file: nothing was written there")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():         # a folder is swapped whole: never half old, half new
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
            (stat.S_ISSOCK, "a socket"))


def _not_writable_kind(path: Path) -> str | None:
    """What ``path`` is when it exists as something no writer of ours may replace (a device, pipe or socket,
    itself or behind a link), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((what for test, what in _SPECIAL if test(mode)), None)


# the file a genrefuse library keeps its database in (library.db.default_db_url): a folder holding it is a library
LIBRARY_DATABASE = "library.sqlite"

# what an existing file must hold to be replaced by an output of each kind: (the kind in words, a test of its
# first bytes and its name); an empty file may become anything
OUTPUT_KINDS: dict[str, tuple[str, object]] = {
    "playlist": ("an M3U playlist", lambda head, name: head.lstrip(b"\xef\xbb\xbf").startswith(b"#EXTM3U")),
    "csv": ("a CSV table", lambda head, name: name.lower().endswith((".csv", ".tsv")) and _text(head)),
    "npz": ("a NumPy .npz archive", lambda head, name: head.startswith(b"PK\x03\x04")),
    "sqlite": ("a SQLite database", lambda head, name: head.startswith(b"SQLite format 3\x00")),
}


def _text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:          # a multi-byte character cut at the end of what was read is text
        return exc.start >= len(head) - 3 and b"\x00" not in head
    return b"\x00" not in head


def library_holding(path: str | Path, *, libraries: Iterable[str | Path] = ()) -> Path | None:
    """The genrefuse library ``path`` lies in (or is), or None: a folder among ``path`` and its parents that
    holds a library's database, or one of ``libraries`` (their folders, or database files kept elsewhere)."""
    where = Path(os.path.realpath(path))
    named = []
    for lib in libraries:
        lib = Path(os.path.realpath(lib))
        named.append(lib)
        if lib.is_file():              # a database file outside its folder (--db sqlite:///...)
            named += [lib.with_name(lib.name + s) for s in ("-wal", "-shm", "-journal")]
    for lib in named:
        if where == lib or where.is_relative_to(lib):
            return lib
    for folder in (where, *where.parents):
        if (folder / LIBRARY_DATABASE).is_file():
            return folder
    return None


def check_output(path: str | Path, *, kind: str | None = None, folder: bool = False, replace: bool = False,
                 resumes: bool = False, libraries: Iterable[str | Path] = ()) -> Path:
    """Refuse (one :class:`DataError` naming ``path``) an output path a user gave that would lose data, before
    anything is written: inside a genrefuse library (its database, audio, model, backups: ``libraries`` names
    the ones in use, any folder holding a library's database counts); an existing path that is not what is
    written (a folder for a file, a device, a file for a folder, a file of another ``kind``: see
    :data:`OUTPUT_KINDS`); an existing file of the same kind unless ``replace`` (or ``resumes``: the writer
    carries on from it); and for a file, a folder that does not exist (never invented). Returns ``path``."""
    path = Path(path)
    lib = library_holding(path, libraries=libraries)
    if lib is not None:
        raise DataError(f"{path}: inside the library {lib} (its database, audio, model and backups are the "
                        "library's own): nothing was written; choose a path outside it")
    what = _not_writable_kind(path)
    if what is not None:
        raise DataError(f"{path}: {what}, not a {'folder' if folder else 'file'}: nothing was written")
    if folder:
        if path.exists() and not path.is_dir():
            raise DataError(f"{path}: exists and is not a folder: nothing was written; choose another path")
        return path
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a file: name the file to write (nothing was written)")
    if not path.parent.is_dir():
        raise DataError(f"{path}: no such folder as {path.parent} (it is not created for you): nothing was written")
    if path.exists():
        words, test = OUTPUT_KINDS.get(kind or "", (None, None))
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError as exc:
            raise DataError(f"{path}: exists and cannot be read ({exc.strerror}): nothing was written") from None
        if head and test is not None and not test(head, path.name):
            raise DataError(f"{path}: exists and is not {words} (it would be lost): nothing was written; "
                            "choose another path")
        if head and not (replace or resumes):
            raise DataError(f"{path}: exists; --replace replaces it (nothing was written)")
    return path


def cache_dir(*parts: str) -> Path:
    """``~/.cache/genrefuse/<parts>`` (``$XDG_CACHE_HOME`` honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "genrefuse", *parts)
