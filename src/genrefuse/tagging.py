"""Reading and writing a file's own tags with mutagen: the genre (ID3v2.4 ``TCON`` in mp3, Vorbis comment
``GENRE`` in ogg and flac), and the artist and title a library names its files by.

Only the tag changes: mutagen rewrites the tag block and copies the audio frames as they are. wav and au
files are left untagged (their tag chunks are read by few players).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import AudioError

TAGGABLE = ("mp3", "ogg", "flac")


@dataclass(frozen=True)
class FileTags:
    artist: str | None = None
    title: str | None = None
    genres: list[str] = field(default_factory=list)


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


def read_tags(path: str | Path) -> FileTags:
    """Artist, title and genres from the file's tags; empty when it has none or they cannot be read."""
    try:
        f = _open(Path(path))
    except AudioError:
        return FileTags()
    tags = getattr(f, "tags", None)
    if tags is None:
        return FileTags()
    if hasattr(tags, "getall"):                      # ID3 (mp3, also in wav)
        def frame(key):
            return [t for fr in tags.getall(key) for t in fr.text]
        return FileTags(_first(frame("TPE1")), _first(frame("TIT2")), [str(g) for g in frame("TCON")])
    try:
        return FileTags(_first(tags.get("artist")), _first(tags.get("title")), [str(g) for g in tags.get("genre", [])])
    except (AttributeError, TypeError, ValueError):
        return FileTags()


def write_genre(path: str | Path, genre: str, *, kind: str) -> None:
    """Set the genre tag of an mp3, ogg or flac file in place (``kind``: the format the bytes hold, as
    :attr:`genrefuse.audio.AudioHeader.extension` says). Raises :class:`AudioError` for a format that is
    left untagged, a read-only file, or tags mutagen cannot parse."""
    import mutagen

    path = Path(path)
    if kind not in TAGGABLE:
        raise AudioError(path, f"{kind} files are left untagged (genre tags are written to {', '.join(TAGGABLE)})")
    f = _open(path)
    if f is None:
        raise AudioError(path, "mutagen does not recognise its format")
    try:
        if kind == "mp3":
            from mutagen.id3 import ID3, TCON

            if f.tags is None:
                f.add_tags()
            if not isinstance(f.tags, ID3):
                raise AudioError(path, "its tags are not ID3")
            f.tags.setall("TCON", [TCON(encoding=3, text=[genre])])
            f.save(v2_version=4)
        else:
            if f.tags is None:
                f.add_tags()
            f.tags["GENRE"] = [genre]
            f.save()
    except PermissionError:
        raise AudioError(path, "read-only: its tags cannot be written") from None
    except (mutagen.MutagenError, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno in (1, 13, 30):           # EPERM, EACCES, EROFS
            raise AudioError(path, "read-only: its tags cannot be written") from None
        raise AudioError(path, f"cannot write its tags ({str(exc).splitlines()[0][:120]})") from None
