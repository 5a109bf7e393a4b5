"""``genrefuse library check``: what can still be trusted in a library. The database's own integrity check
(SQLite), then rows against files: every row has its file, every file in a genre folder has its row, every
stored file (in the library, linked or indexed in place) still holds the audio its row records (the same
bytes, or the same decoded samples where a genre tag was written since), and nothing is left in ``.incoming``."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import AudioError
from ..fingerprint import audio_hash
from ..io import file_hash
from ..parallel import pid_alive
from ..progress import progress_bar
from ..tagging import read_metadata
from . import locks, store
from .db import Track, database_problem
from .features import FOLDER as FEATURES
from .backup import FOLDER as BACKUPS
from .library import Library
from .playlists import FOLDER as PLAYLISTS
from .recommend import CF_FOLDER

NOT_GENRE_FOLDERS = {store.INCOMING, locks.FOLDER, PLAYLISTS, CF_FOLDER, BACKUPS, FEATURES, store.MODEL}


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    tracks: int = 0
    files: int = 0

    def summary(self) -> str:
        verdict = f"{len(self.problems)} problems" if self.problems else "no problems"
        return f"{verdict}: {self.tracks} tracks, {self.files} files"


def _audio_problem(path, identity: str | None) -> str | None:
    """What is wrong with a stored file whose bytes changed since it was stored, or None when only its tags did
    (a genre tag written by --write-tags or a correction): its decoded audio must still be the recording's."""
    if identity is None:                 # a row from before audio identities: only a tag write is explained
        return None if read_metadata(path).genres else "no longer holds the content its row records"
    try:
        same = audio_hash(path) == identity
    except AudioError as exc:
        return f"cannot be decoded any more ({exc.reason})"
    return None if same else "no longer holds the recording its row records (damaged or replaced)"


def check_library(library: Library, *, hashes: bool = True, progress: bool = False) -> CheckReport:
    report = CheckReport()
    url = str(library.engine.url)
    try:
        if url.startswith("sqlite"):
            with library.engine.connect() as conn:
                report.problems += [f"database: {r}" for (r,) in conn.execute(text("PRAGMA integrity_check(20)"))
                                    if r != "ok"]
        with library.Session() as s:
            rows = s.execute(select(Track.id, Track.stored_path, Track.content_hash, Track.audio_hash)).all()
    except SQLAlchemyError as exc:
        report.problems.append(database_problem(exc, url) or str(exc))
        return report
    report.tracks = len(rows)
    stored = set()
    for tid, rel, digest, identity in progress_bar(rows, desc="check", progress=progress):
        path = library.dir / rel
        stored.add(rel)
        if not path.is_file():
            report.problems.append(f"track {tid}: its file {rel} is missing")
        elif hashes and file_hash(path) != digest:
            problem = _audio_problem(path, identity)
            if problem:
                report.problems.append(f"track {tid}: {rel} {problem}")
    for folder in sorted(p for p in library.dir.iterdir() if p.is_dir() and p.name not in NOT_GENRE_FOLDERS):
        for path in sorted(folder.iterdir()):
            rel = f"{folder.name}/{path.name}"
            report.files += 1
            if rel not in stored:
                report.problems.append(f"{rel}: a file without a row (an interrupted ingest or correction; "
                                       "`genrefuse ingest` it again to adopt it, or remove it)")
    incoming = library.dir / store.INCOMING
    if incoming.is_dir():
        report.problems += [f"{store.INCOMING}/{p.name}: left by an interrupted upload or ingest" for p in
                            sorted(incoming.iterdir()) if (pid := store.owner_pid(p)) is None or not pid_alive(pid)]
    return report
