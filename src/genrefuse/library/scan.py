"""``genrefuse library scan``: look again at the folders a library indexed in place (``ingest --in-place``).

A track whose file is no longer where its row says is looked for among the folders' files that no row
names, by its bytes (a move or rename) and then by its samples (moved and re-tagged); found, its row
follows it. Not found, it is reported as gone (``forget`` removes its row; the library never had the
file to remove). Files no row names are then ingested in place, so a scan also picks up new music.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..audio import header, iter_audio_files
from ..errors import AudioError, DataError
from ..fingerprint import audio_hash
from ..io import file_hash
from .db import Track, storable
from .ingest import IngestReport, Ingested, Library, ingest_many
from .playlists import update_labels, update_playlists


@dataclass
class ScanReport:
    checked: int = 0                                              # in-place tracks looked at
    moved: list[tuple[int, str, str]] = field(default_factory=list)     # (track, old path, new path)
    gone: list[tuple[int, str]] = field(default_factory=list)           # (track, the path it had)
    forgotten: int = 0
    added: IngestReport | None = None


def scan_library(lib: Library, *, folders: list[Path] | None = None, forget: bool = False, add_new: bool = True,
                 jobs: int | None = None, progress: bool = True,
                 each: Callable[[Ingested], None] | None = None) -> ScanReport:
    """Re-scan ``folders`` (default: those ingested in place before); see the module's description."""
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
    unnamed = [p.resolve() for p in iter_audio_files(roots)] if roots else []
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
    if forget:
        for tid, _ in report.gone:
            lib.remove(tid)
            report.forgotten += 1
    with lib.Session() as s:
        update_labels(lib.dir, s)
    new = [p for p in unnamed if p not in claimed]
    if add_new and new:
        report.added = ingest_many(new, library_dir=lib.dir, model_dir=lib.model_dir, db_url=lib.db_url,
                                   jobs=jobs, progress=progress, mode="in-place", each=each)
    return report


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
