"""Reading and writing a file's own tags with mutagen: the genre (ID3v2.4 ``TCON`` in mp3 and in a wav file's
``id3`` chunk, as foobar2000, Picard and mp3tag write it; Vorbis comment ``GENRE`` in ogg and flac), and the
artist and title a library names its files by.

Only the tag changes: mutagen rewrites the tag block and copies the audio frames as they are, in a copy
that is renamed over the file (mutagen alone rewrites Ogg pages in place: a crash there damaged audio).
au files are left untagged (the format has no tag block).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AudioError
from .parallel import pid_alive

TAGGABLE = ("mp3", "ogg", "flac", "wav")
ID3_KINDS = ("mp3", "wav")              # formats whose genre goes into an ID3 tag
TEMP_SUFFIX = ".genrefuse-tag"
_TEMP_NAME = re.compile(r"^\..+\.(\d+)" + re.escape(TEMP_SUFFIX) + "$")


@dataclass(frozen=True)
class FileMetadata:
    artist: str | None = None
    title: str | None = None
    genres: list[str] = field(default_factory=list)
    album: str | None = None
    album_artist: str | None = None


def _open(path: Path):
    import mutagen

    try:
        return mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:     # mutagen wraps most, not all
        raise AudioError(path, f"cannot read its tags ({str(exc).splitlines()[0][:120] or type(exc).__name__})") from None


def _first(values) -> str | None:
    for v in values or []:
        text = str(v).strip()
        if text:
            return text[:256]
    return None


def read_metadata(path: str | Path) -> FileMetadata:
    """Artist, title and genres from the file's tags; empty when it has none or they cannot be read."""
    try:
        f = _open(Path(path))
    except AudioError:
        return FileMetadata()
    tags = getattr(f, "tags", None)
    if tags is None:
        return FileMetadata()
    if hasattr(tags, "getall"):                      # ID3 (mp3, also in wav)
        def frame(key):
            return [t for fr in tags.getall(key) for t in fr.text]
        return FileMetadata(_first(frame("TPE1")), _first(frame("TIT2")), [str(g) for g in frame("TCON")],
                            _first(frame("TALB")), _first(frame("TPE2")))
    try:
        return FileMetadata(_first(tags.get("artist")), _first(tags.get("title")), [str(g) for g in tags.get("genre", [])],
                            _first(tags.get("album")), _first(tags.get("albumartist") or tags.get("album artist")))
    except (AttributeError, TypeError, ValueError):
        return FileMetadata()


def write_genre(path: str | Path, genre: str | None, *, kind: str, mood: str | None = None,
                bpm: float | None = None) -> None:
    """Set the genre tag of an mp3, ogg, flac or wav file (``kind``: the format the bytes hold, as
    :attr:`genrefuse.audio.AudioHeader.extension` says; ``genre`` None: leave it), and where given its mood
    (ID3 TMOO, Vorbis MOOD) and tempo (ID3 TBPM, Vorbis BPM, a whole number). Crash-safe: the tag is written into a copy beside
    the file (``.NAME.PID.genrefuse-tag``), flushed, given the original's mode and times, and renamed over
    it, so that at any moment the file is either the old bytes or the new. Raises :class:`AudioError` for a
    format that is left untagged, a read-only file, or tags mutagen cannot parse."""
    path = Path(os.path.realpath(path))           # a link's target is tagged; the link stays a link
    if kind not in TAGGABLE:
        raise AudioError(path, f"{kind} files are left untagged (genre tags are written to {', '.join(TAGGABLE)})")
    if not os.access(path, os.W_OK):
        raise AudioError(path, "read-only: its tags cannot be written")
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        try:
            shutil.copyfile(path, tmp)
            _set_genre(tmp, genre, kind=kind, name=path, mood=mood, bpm=bpm)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            st = os.stat(path)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
                raise AudioError(path, "read-only: its tags cannot be written") from None
            raise AudioError(path, f"cannot write its tags ({exc.strerror or exc})") from None
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _set_genre(path: Path, genre: str | None, *, kind: str, name: Path, mood: str | None = None,
               bpm: float | None = None) -> None:
    """Write the genre (and mood, tempo) tags into ``path`` in place with mutagen (``name``: the file the user
    knows)."""
    import mutagen

    f = _open(path)
    if f is None:
        raise AudioError(name, "mutagen does not recognise its format")
    try:
        if kind in ID3_KINDS:
            from mutagen.id3 import ID3, TBPM, TCON, TMOO

            if f.tags is None:
                f.add_tags()
            if not isinstance(f.tags, ID3):
                raise AudioError(name, "its tags are not ID3")
            if genre is not None:
                f.tags.setall("TCON", [TCON(encoding=3, text=[genre])])
            if mood is not None:
                f.tags.setall("TMOO", [TMOO(encoding=3, text=[mood])])
            if bpm is not None:
                f.tags.setall("TBPM", [TBPM(encoding=3, text=[str(round(bpm))])])
            f.save(v2_version=4)
        else:
            if f.tags is None:
                f.add_tags()
            if genre is not None:
                f.tags["GENRE"] = [genre]
            if mood is not None:
                f.tags["MOOD"] = [mood]
            if bpm is not None:
                f.tags["BPM"] = [str(round(bpm))]
            f.save()
    except (mutagen.MutagenError, ValueError) as exc:
        raise AudioError(name, f"cannot write its tags ({str(exc).splitlines()[0][:120]})") from None


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | Path) -> int:
    """Remove the temporary copies an interrupted :func:`write_genre` left in ``folder`` (those whose
    process is gone); returns how many."""
    removed = 0
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for e in it:
            m = _TEMP_NAME.match(e.name)
            if m and not pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                    removed += 1
    return removed
