"""``genrefuse library scan``: look again at the folders a library indexed in place (``ingest --in-place``).

A track whose file is no longer where its row says is looked for among the folders' files that no row
names, by its bytes (a move or rename) and then by its samples (moved and re-tagged); found, its row
follows it. Not found, it is reported as gone (``forget`` removes its row; the library never had the
file to remove). Files no row names are then ingested in place, so a scan also picks up new music. A file whose album tags
changed (retagged) takes its new album, and the albums it left and joined are pooled again.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..audio import header, iter_audio_files
from ..errors import AudioError, DataError
from ..fingerprint import audio_hash
from ..io import file_hash
from ..inference.albums import album_key, album_name
from ..tagging import read_metadata
from .albums import AlbumsFiled, file_albums
from .db import Track, storable
from .ingest import IngestReport, Ingested, ingest_many
from .library import Library, is_library_folder
from .playlists import update_labels, update_playlists


@dataclass
class ScanReport:
    checked: int = 0                                              # in-place tracks looked at
    moved: list[tuple[int, str, str]] = field(default_factory=list)     # (track, old path, new path)
    gone: list[tuple[int, str]] = field(default_factory=list)           # (track, the path it had)
    forgotten: int = 0
    retagged: list[int] = field(default_factory=list)                  # tracks whose album tags changed on disk
    albums: AlbumsFiled | None = None     # the albums those left or joined, pooled again
    added: IngestReport | None = None
    backup: Path | None = None           # the database as it was before anything was forgotten


def scan_library(lib: Library, *, folders: list[Path] | None = None, forget: bool = False, add_new: bool = True,
                 force: bool = False, jobs: int | None = None, progress: bool = True,
                 each: Callable[[Ingested], None] | None = None) -> ScanReport:
    """Re-scan ``folders`` (default: those ingested in place before); see the module's description.

    ``forget`` is careful: it refuses (a :class:`DataError`, nothing forgotten) when a folder holds no audio
    file at all (a drive not mounted leaves its mount point empty) or when more than half the tracks indexed
    in place would go, unless ``force``; and a SQLite library's database is backed up first
    (``LIBRARY/backups``), so that what was forgotten can be brought back."""
    roots = [Path(f) for f in folders] if folders else lib.source_folders()
    for r in roots:
        if not r.is_dir():
            raise DataError(f"{r}: no such folder (folders indexed in place: "
                            f"{', '.join(map(str, lib.source_folders())) or 'none'})")
    report = ScanReport()
    with lib.Session() as s:
        tracks = [t for t in s.scalars(select(Track).order_by(Track.id)).all() if t.in_place]
    report.checked = len(tracks)
    named = {t.stored_path for t in tracks}
    walk = iter_audio_files(roots, skip=functools.partial(is_library_folder, lib.dir)) if roots else []
    unnamed = [p.resolve() for p in walk]
    unnamed = [p for p in unnamed if str(p) not in named]
    missing = [t for t in tracks if not Path(t.stored_path).is_file()]
    claimed: set[Path] = set()
    for t in missing:
        found = _find_moved(t, [p for p in unnamed if p not in claimed])
        if found is None:
            report.gone.append((t.id, t.stored_path))
            continue
        claimed.add(found)
        with lib.Session() as s:
            row = s.get(Track, t.id)
            row.stored_path = storable(str(found), 512)
            row.content_hash = file_hash(found)
            s.commit()
            update_playlists(lib.dir, s, [row.genre])
        report.moved.append((t.id, t.stored_path, str(found)))
    if forget and report.gone:
        _may_forget(roots, tracks, unnamed, report, force=force)
        if str(lib.engine.url).startswith("sqlite"):
            from .backup import backup_database

            report.backup = backup_database(lib)
        for tid, _ in report.gone:
            lib.remove(tid)
            report.forgotten += 1
    report.retagged, touched = _follow_album_tags(lib, [t for t in tracks if Path(t.stored_path).is_file()])
    if touched:
        report.albums = file_albums(lib, touched)
    with lib.Session() as s:
        update_labels(lib.dir, s)
    new = [p for p in unnamed if p not in claimed]
    if add_new and new:
        report.added = ingest_many(new, library_dir=lib.dir, model_dir=lib.model_dir, db_url=lib.db_url,
                                   jobs=jobs, progress=progress, mode="in-place", each=each)
    return report


def _follow_album_tags(lib: Library, tracks: list[Track]) -> tuple[list[int], set[str]]:
    """Read the tags of files indexed in place again: a track whose album tags changed on disk gets its new album
    (a track its old album had filed goes back to its own answer first); returns those tracks' ids and the album
    keys they left or joined, for pooling again."""
    changed, touched = [], set()
    for t in tracks:
        meta = read_metadata(t.stored_path)
        key = album_key(meta)
        if key == t.album_key:
            continue
        with lib.Session() as s:
            row = s.get(Track, t.id)
            if row is None:
                continue
            filed = not row.confirmed and (row.album or {}).get("genre") == row.genre
            row.album_key = key
            row.album = {"name": storable(album_name(meta), 512)} if key else None
            row.artist, row.title = storable(meta.artist, 256), storable(meta.title, 256)
            row.content_hash = file_hash(row.stored_path)        # its tags are in its bytes
            s.commit()
        if filed:
            lib.refile(row, lib.own_verdict(row).genre, album=row.album)
        changed.append(t.id)
        touched |= {k for k in (t.album_key, key) if k}
    return changed, touched


def _find_moved(track: Track, candidates: list[Path]) -> Path | None:
    """Among ``candidates``, the file that is ``track``'s: the same bytes, else the same samples. Only files
    of the same length (read from their headers) are hashed or decoded."""
    same_length = []
    for p in candidates:
        try:
            if abs(header(p).duration - track.duration) < 0.01:
                same_length.append(p)
        except AudioError:
            continue
    for p in same_length:
        if file_hash(p) == track.content_hash:
            return p
    for p in same_length:
        try:
            if track.audio_hash and audio_hash(p) == track.audio_hash:
                return p
        except AudioError:
            continue
    return None


def _may_forget(roots: list[Path], tracks: list[Track], found: list[Path], report: ScanReport, *,
                force: bool) -> None:
    """Refuse to forget when it looks like a folder went away rather than its files (see :func:`scan_library`):
    a folder that held tracks and now holds no audio file, or more than half the tracks gone."""
    if force:
        return
    present = found + [Path(t.stored_path) for t in tracks if Path(t.stored_path).is_file()]
    for r in (r.resolve() for r in roots):
        held = any(Path(t.stored_path).is_relative_to(r) for t in tracks)
        if held and not any(p.is_relative_to(r) for p in present):
            raise DataError(f"{r}: no audio file there now (a drive not mounted?), so nothing was forgotten; "
                            "mount it and scan again, or forget its tracks with --force")
    if len(report.gone) > report.checked / 2:
        raise DataError(f"{len(report.gone)} of {report.checked} tracks indexed in place are gone, so nothing was "
                        "forgotten (a folder moved or not mounted?); scan its new place, or forget them with --force")
