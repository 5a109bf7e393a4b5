"""``genrefuse library check``: what can still be trusted in a library. The database's own integrity check
(SQLite), then rows against files: every row has its file, every file in a genre folder has its row, every
stored file (in the library, linked or indexed in place) still holds the audio its row records (the same
bytes, or the same decoded samples where a genre tag was written since), every playlist entry is a file, and
nothing is left in ``.incoming``; ``repair`` mends what an interrupted change left behind."""
from __future__ import annotations

import os
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
    files: int = 0              # audio files found: in the genre folders and, of tracks indexed in place, where they are
    in_place: int = 0           # of ``files``, those indexed where they are (``ingest --in-place``)
    repaired: list[str] = field(default_factory=list)      # with ``repair``: what was mended (no longer a problem)

    def summary(self) -> str:
        verdict = f"{len(self.problems)} problems" if self.problems else "no problems"
        mended = f"; {len(self.repaired)} repaired" if self.repaired else ""
        where = f" ({self.in_place} indexed where they are)" if self.in_place else ""
        return f"{verdict}: {self.tracks} tracks, {self.files} files{where}{mended}"


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


def check_library(library: Library, *, hashes: bool = True, progress: bool = False, repair: bool = False) -> CheckReport:
    """What is wrong with ``library`` (see the module). With ``repair``, what an interrupted change left is
    mended: a second name of a stored file (a refile stopped between linking the new name and removing the old)
    is removed, or put where its row says when that file is missing; playlists that name missing files are
    written anew from the database; files that an interrupted upload left in ``.incoming`` are removed."""
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
    stored, inodes = {}, {}
    for tid, rel, digest, identity in progress_bar(rows, desc="check", progress=progress):
        path = library.dir / rel
        stored[rel] = (tid, digest)
        if not path.is_file():
            report.problems.append(f"track {tid}: its file {rel} is missing")
            continue
        if os.path.isabs(rel):                 # indexed in place: the user's file, outside the genre folders
            report.files += 1
            report.in_place += 1
        st = path.stat()
        inodes[(st.st_dev, st.st_ino)] = (tid, rel)
        if hashes and file_hash(path) != digest:
            problem = _audio_problem(path, identity)
            if problem:
                report.problems.append(f"track {tid}: {rel} {problem}")
    by_hash = {digest: (tid, rel) for rel, (tid, digest) in stored.items()}
    for folder in sorted(p for p in library.dir.iterdir() if p.is_dir() and p.name not in NOT_GENRE_FOLDERS):
        for path in sorted(folder.iterdir()):
            rel = f"{folder.name}/{path.name}"
            report.files += 1
            if rel not in stored:
                _stray(library, path, rel, inodes, by_hash, report, repair=repair)
    _playlists(library, report, repair=repair)
    incoming = library.dir / store.INCOMING
    if incoming.is_dir():
        for p in sorted(incoming.iterdir()):
            if (pid := store.owner_pid(p)) is None or not pid_alive(pid):
                line = f"{store.INCOMING}/{p.name}: left by an interrupted upload or ingest"
                if repair:
                    p.unlink(missing_ok=True)
                    report.repaired.append(line + " (removed)")
                else:
                    report.problems.append(line)
    return report


def _stray(library: Library, path, rel: str, inodes: dict, by_hash: dict, report: CheckReport, *, repair: bool) -> None:
    """A file in a genre folder that no row names: a second name of a stored track's file (left by a refile
    that stopped midway: the same file, or the same bytes) is said so and, with ``repair``, removed (or put where
    its row says, when that file is missing); anything else is for a person."""
    st = path.stat()
    twin = inodes.get((st.st_dev, st.st_ino))
    if twin is None and path.is_file():
        twin = by_hash.get(file_hash(path))
    if twin is None:
        report.problems.append(f"{rel}: a file without a row (an interrupted ingest; `genrefuse ingest` it again to "
                               "adopt it, or remove it)")
        return
    tid, where = twin
    line = f"{rel}: a second name of track {tid}'s file {where}, left by an interrupted refile"
    if not repair:
        report.problems.append(line + " (`library check --repair` removes it)")
        return
    target = library.dir / where
    if target.is_file():
        path.unlink()
        report.repaired.append(line + " (removed)")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        report.repaired.append(line + f" (put back as {where}, which was missing)")


def _playlists(library: Library, report: CheckReport, *, repair: bool) -> None:
    """Every playlist entry must be a file; with ``repair`` playlists that name missing files are written anew."""
    folder = library.dir / PLAYLISTS
    broken = []
    for playlist in sorted(folder.glob("*.m3u8")) if folder.is_dir() else []:
        try:
            lines = playlist.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except OSError as exc:
            report.problems.append(f"{PLAYLISTS}/{playlist.name}: cannot be read ({exc.strerror})")
            continue
        missing = [x for x in lines if x.strip() and not x.startswith("#") and not (folder / x).is_file()]
        if missing:
            broken.append(f"{PLAYLISTS}/{playlist.name}: names {len(missing)} missing files (first: {missing[0]})")
    if broken and repair:
        library.rewrite_playlists()
        report.repaired += [line + " (playlists written anew)" for line in broken]
    else:
        report.problems += [line + " (`library check --repair` writes the playlists anew)" for line in broken]
