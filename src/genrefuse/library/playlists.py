"""Per-genre M3U8 playlists in ``LIBRARY_DIR/playlists/<genre's folder name>.m3u8``, kept current after every change,
and ``LIBRARY_DIR/labels.csv``, the manifest of confirmed genres that ``genrefuse train LIBRARY_DIR`` reads.

Paths in a playlist are relative to the playlist (``../rock/Artist - Title [1a2b3c4d].mp3``), so the
library folder can be moved or shared as a whole; a file indexed in place is named by its absolute path. Each playlist is written atomically, under a lock
so that two processes writing the same genre leave the later database state, not the later writer's.
"""
from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..genres import folder_name
from ..io import write_text_atomic
from .db import Track

FOLDER = "playlists"
log = logging.getLogger(__name__)


def playlist_text(tracks: Iterable[Track], *, paths: Iterable[str] | None = None) -> str:
    """Extended M3U, UTF-8: ``#EXTINF:<seconds>,<artist - title or name>`` then the path relative to the
    playlists folder, or each of ``paths`` (absolute paths, URLs) where given."""
    tracks = list(tracks)
    paths = list(paths) if paths is not None else \
        [t.stored_path if t.in_place else f"../{t.stored_path}" for t in tracks]   # in place: its own path
    lines = ["#EXTM3U"]
    for t, where in zip(tracks, paths):
        label = f"{t.artist} - {t.title}" if t.artist and t.title else (t.title or Path(t.original_name).stem)
        lines += [f"#EXTINF:{round(t.duration)},{' '.join(label.split())}", where]
    return "\n".join(lines) + "\n"


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def update_playlists(library_dir: Path, session: Session, genres: Iterable[str]) -> list[Path]:
    """Rewrite the playlists of ``genres`` from the database (a genre with no track loses its playlist)."""
    folder = Path(library_dir) / FOLDER
    written = []
    with _locked(folder):
        for genre in sorted(set(genres)):
            tracks = session.scalars(select(Track).where(Track.genre == genre)
                                     .order_by(Track.artist, Track.title, Track.original_name, Track.id)).all()
            path = playlist_path(library_dir, genre)
            if tracks:
                if _write(path, playlist_text(tracks)):
                    written.append(path)
            else:
                path.unlink(missing_ok=True)
    return written


def _write(path: Path, text: str) -> bool:
    """Write a derived file (a playlist, the labels): a failure (a full disk) is logged, never raised, since the
    change it follows is committed already and `genrefuse library playlists` rewrites them all."""
    try:
        write_text_atomic(path, text)
        return True
    except OSError as exc:
        log.warning("%s not rewritten (%s); `genrefuse library playlists --library %s` rewrites it", path,
                    exc.strerror or exc, path.parent.parent if path.name != "labels.csv" else path.parent)
        return False


def playlist_path(library_dir: Path, genre: str) -> Path:
    """A genre's playlist, named as its folder is (:func:`~genrefuse.genres.folder_name`): a plain, short name
    that never starts with ``_``, so no genre can overwrite ``_unsure.m3u8``."""
    return Path(library_dir) / FOLDER / f"{folder_name(genre)}.m3u8"


UNSURE = "_unsure"       # the playlist of tracks filed under their best genre but flagged: unsure or unknown


def update_unsure_playlist(library_dir: Path, session: Session, *, needs_look) -> Path | None:
    """Rewrite ``playlists/_unsure.m3u8``: the unconfirmed tracks for which ``needs_look(track)`` holds (the
    library's model was unsure, or found them unfamiliar); removed when there are none."""
    tracks = [t for t in session.scalars(select(Track).where(Track.confirmed.is_(False))
                                         .order_by(Track.genre, Track.artist, Track.title, Track.id)) if needs_look(t)]
    folder = Path(library_dir) / FOLDER
    path = folder / f"{UNSURE}.m3u8"
    with _locked(folder):
        if not tracks:
            path.unlink(missing_ok=True)
            return None
        return path if _write(path, playlist_text(tracks)) else None


def update_labels(library_dir: Path, session: Session) -> Path:
    """Rewrite the manifest of confirmed tracks (``path,label,track``; paths relative to the library)."""
    import csv
    import io

    rows = session.execute(select(Track.stored_path, Track.genre, Track.content_hash)
                           .where(Track.confirmed.is_(True)).order_by(Track.id)).all()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["path", "label", "track"])
    w.writerows((path, genre, digest[:16]) for path, genre, digest in rows)
    with _locked(Path(library_dir) / FOLDER):
        path = Path(library_dir) / "labels.csv"
        _write(path, buf.getvalue())
        return path


def all_genres(session: Session) -> list[str]:
    return list(session.scalars(select(Track.genre).distinct()))
