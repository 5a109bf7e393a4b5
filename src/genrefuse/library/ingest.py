"""Adding tracks to the library: classify, file under the genre, record; idempotent and crash-safe.

Order of work: the file is complete in ``.incoming`` -> renamed into ``<genre>/<hash>.<ext>`` -> the
row commits. A crash leaves at most a file without a row (re-ingesting adopts it), never a row
without a file or a half-written file in the library.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..audio import header, iter_audio_files
from ..errors import AudioError
from ..features.warmup import warm_up
from ..inference.predict import GenreModel
from ..io import file_hash
from ..models.bundle import model_folder, model_id
from ..parallel import map_items, pid_alive
from . import store
from .db import Track, default_db_url, make_engine, session_factory


@dataclass
class IngestResult:
    track: Track
    created: bool


class Library:
    """The library folder, its database and the model that classifies new tracks."""

    def __init__(self, library_dir: str | Path, model: GenreModel, *, model_id: str, db_url: str | None = None):
        self.dir = Path(library_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model, self.model_id = model, model_id
        self.engine = make_engine(db_url or default_db_url(self.dir))
        self.Session = session_factory(self.engine)
        self._clean_incoming()

    @classmethod
    def open(cls, library_dir: str | Path, model_dir: str | Path, *, db_url: str | None = None) -> "Library":
        model_dir = model_folder(model_dir)
        return cls(library_dir, GenreModel.load(model_dir), model_id=model_id(model_dir), db_url=db_url)

    @property
    def genres(self) -> list[str]:
        return self.model.genres

    def _clean_incoming(self, older_than: float = 3600) -> None:
        """Remove what an interrupted upload or ingest left in ``.incoming``: every file whose owning
        process is gone (a live server or ingest beside us keeps its own), and unowned files older
        than ``older_than`` seconds."""
        folder = self.dir / store.INCOMING
        if not folder.is_dir():
            return
        for p in folder.iterdir():
            pid = store.owner_pid(p)
            try:
                stale = not pid_alive(pid) if pid is not None else time.time() - p.stat().st_mtime > older_than
            except FileNotFoundError:
                continue
            if stale:
                p.unlink(missing_ok=True)

    def find(self, digest: str) -> Track | None:
        with self.Session() as s:
            return s.scalar(select(Track).where(Track.content_hash == digest))

    def ingest(self, path: str | Path, *, original_name: str | None = None, owned: bool = False) -> IngestResult:
        """Classify and store one file. ``owned``: ``path`` is a temporary file of ours (an upload in
        ``.incoming``) that may be moved; a user's own file is copied, never moved."""
        path = Path(path)
        name = original_name or path.name
        digest = file_hash(path)
        existing = self.find(digest)
        if existing is not None:
            if owned:
                path.unlink(missing_ok=True)
            return IngestResult(existing, False)
        try:
            pred = self.model.predict(path)
            head = header(path)
            seconds, ext = head.duration, head.extension     # the same bytes under any name: one path, one file
        except AudioError as exc:
            raise AudioError(name, exc.reason) from None
        tmp = path if owned else store.copy_to_incoming(path, self.dir)
        rel = store.relative_path(pred.genre, digest, ext)
        store.move_into_place(tmp, self.dir, rel)
        with self.Session() as s:
            track = Track(content_hash=digest, original_name=name[:512], stored_path=rel, duration=seconds,
                          genre=pred.genre, probabilities=pred.probabilities, model_id=self.model_id)
            s.add(track)
            try:
                s.commit()
            except IntegrityError:          # the same content committed by a concurrent ingest
                s.rollback()
                return IngestResult(self.find(digest), False)
            return IngestResult(track, True)

    def describe(self, track: Track) -> dict:
        """A track as the API shows it, with ``unsure`` judged by this library's model."""
        return track.to_json(min_confidence=self.model.min_confidence)

    def audio_path(self, track: Track) -> Path:
        return self.dir / track.stored_path

    def genre_counts(self) -> dict[str, int]:
        with self.Session() as s:
            counts = dict(s.execute(select(Track.genre, func.count()).group_by(Track.genre)).all())
        return {g: int(counts.get(g, 0)) for g in self.genres} | {g: int(n) for g, n in counts.items() if g not in self.genres}


def _ingest_worker(path: Path, *, library_dir: str, model_dir: str, db_url: str | None) -> tuple[int, bool, dict]:
    lib = _worker_library(library_dir, model_dir, db_url)
    r = lib.ingest(path)
    return r.track.id, r.created, lib.describe(r.track)


@functools.lru_cache(maxsize=2)
def _worker_library(library_dir: str, model_dir: str, db_url: str | None) -> Library:
    """One Library (model and engine) per worker process, loaded on first use."""
    return Library.open(library_dir, model_dir, db_url=db_url)


@dataclass
class IngestReport:
    added: int = 0
    existing: int = 0
    failures: list[str] | None = None
    tracks: list[tuple[str, dict, bool]] | None = None    # (path, the track as the API shows it, newly added)


def ingest_many(inputs: list[str | Path], *, library_dir: str | Path, model_dir: str | Path,
                db_url: str | None = None, jobs: int | None = None, progress: bool = True) -> IngestReport:
    """Batch import of files and folders; bad files are reported and skipped. Re-running skips what
    is already stored (by content hash), so an interrupted import simply resumes."""
    Library.open(library_dir, model_dir, db_url=db_url)      # schema and folders before the workers start
    report = IngestReport(failures=[], tracks=[])
    work = functools.partial(_ingest_worker, library_dir=str(library_dir), model_dir=str(model_dir), db_url=db_url)
    paths = list(iter_audio_files(inputs))
    for o in map_items(work, paths, jobs=jobs, desc="ingest", progress=progress, warm_up=warm_up):
        if not o.ok:
            report.failures.append(o.error)
        else:
            report.tracks.append((str(o.item), o.value[2], o.value[1]))
            if o.value[1]:
                report.added += 1
            else:
                report.existing += 1
    return report
