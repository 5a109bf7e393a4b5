"""Batches of files into the library (``genrefuse ingest``, ``library scan``): files and folders walked,
each file through :meth:`~genrefuse.library.library.Library.ingest` in worker processes, failures listed,
Ctrl-C honoured; re-running skips what is stored."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..audio import AUDIO_EXTENSIONS, iter_audio_files
from ..errors import DataError
from ..parallel import map_items
from .albums import AlbumsFiled, file_albums
from .db import Track
from .library import Library, is_library_folder, library_model_dir
from .modes import MODES
from .playlists import update_playlists
from . import store


def _ingest_worker(path: Path, *, library_dir: str, model_dir: str, db_url: str | None,
                   write_tags: bool, mode: str) -> tuple[int, bool, dict, bool]:
    lib = _worker_library(library_dir, model_dir, db_url, write_tags)
    r = lib.ingest(path, mode=mode)
    return r.track.id, r.created, lib.describe(r.track), r.same_recording


_WORKER_LIBRARIES: dict[tuple, Library] = {}


def _worker_library(library_dir: str, model_dir: str, db_url: str | None, write_tags: bool) -> Library:
    """One Library (model and engine) per worker process, loaded on first use (with ``--jobs 1`` the worker
    is this process)."""
    key = (library_dir, model_dir, db_url, write_tags)
    if key not in _WORKER_LIBRARIES:
        if len(_WORKER_LIBRARIES) >= 2:
            _forget_worker_libraries()
        _WORKER_LIBRARIES[key] = Library.open(library_dir, model_dir, db_url=db_url, write_tags=write_tags)
    return _WORKER_LIBRARIES[key]


def _forget_worker_libraries() -> None:
    """Close the libraries this process opened as a worker (their database connections with them)."""
    for lib in _WORKER_LIBRARIES.values():
        lib.engine.dispose()
    _WORKER_LIBRARIES.clear()


@dataclass
class Ingested:
    """One file of a batch as it finished: its track as the API shows it, or why it failed."""

    path: str
    track: dict | None = None
    created: bool = False
    same_recording: bool = False          # another file of this recording was in the library already
    error: str | None = None


@dataclass
class IngestReport:
    added: int = 0
    existing: int = 0
    failures: list[str] = field(default_factory=list)
    tracks: list[tuple[str, dict, bool]] = field(default_factory=list)   # (path, the track, newly added)
    not_done: list[str] = field(default_factory=list)     # after Ctrl-C: the files no worker finished
    interrupted: bool = False
    library_removed: bool = False       # the batch would have created the library, but no file could be read
    albums: AlbumsFiled | None = None   # the albums the batch touched, pooled and filed (library.albums)


def ingest_many(inputs: list[str | Path], *, library_dir: str | Path, model_dir: str | Path | None = None,
                db_url: str | None = None, jobs: int | None = None, progress: bool = True,
                write_tags: bool = False, mode: str = "copy", albums: bool = True,
                each: Callable[[Ingested], None] | None = None) -> IngestReport:
    """Batch import of files and folders; bad files are reported and skipped. ``each`` is called as every
    file finishes. Re-running skips what is already stored (by content hash), so an interrupted import
    simply resumes. Ctrl-C stops it within seconds: the report then says ``interrupted`` and lists the
    files not done. Inputs with no audio file at all are a :class:`DataError`, raised before anything is
    created; a batch in which no file could be read removes the library it would have created.
    ``mode``: see :meth:`Library.ingest`; folders ingested ``in-place`` are what ``library scan`` rescans.
    ``albums``: afterwards, the albums the batch touched are pooled and their tracks filed by the album's
    genre where it is coherent (:func:`~genrefuse.library.albums.file_albums`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    paths = list(iter_audio_files(inputs, skip=functools.partial(is_library_folder, library_dir)))
    if not paths:
        raise DataError(f"no audio files in {', '.join(map(str, inputs))} (looked for "
                        f"{', '.join(e[1:] for e in AUDIO_EXTENSIONS)})")
    if not any(p.exists() for p in paths):
        raise DataError(f"no such file or folder: {', '.join(map(str, paths[:3]))}{' ...' if len(paths) > 3 else ''}")
    model_dir = library_model_dir(library_dir, model_dir)
    new_library = not Path(library_dir).exists()
    lib = Library.open(library_dir, model_dir, db_url=db_url)      # schema and folders before the workers start
    if mode == "in-place":
        lib.add_source_folders(Path(i) for i in inputs if Path(i).is_dir())
    report = IngestReport()
    work = functools.partial(_ingest_worker, library_dir=str(library_dir), model_dir=str(model_dir), db_url=db_url,
                             write_tags=write_tags, mode=mode)
    finished: set[str] = set()
    outcomes = map_items(work, paths, jobs=jobs, desc="ingest", progress=progress)
    try:
        for o in outcomes:
            finished.add(str(o.item))
            if not o.ok:
                report.failures.append(o.error)
                line = Ingested(str(o.item), error=o.error)
            else:
                _, created, track, same = o.value
                report.tracks.append((str(o.item), track, created))
                report.added += created
                report.existing += not created
                line = Ingested(str(o.item), track, created, same)
            if each is not None:
                each(line)
    except KeyboardInterrupt:
        report.interrupted = True
        report.not_done = [str(p) for p in paths if str(p) not in finished]
    finally:
        outcomes.close()
    if report.tracks:       # also repairs the playlists of a batch interrupted between a commit and its playlist
        with lib.Session() as s:
            update_playlists(lib.dir, s, {t["genre"] for _, t, _ in report.tracks})
        if albums and not report.interrupted:
            report.albums = file_albums(lib, albums_of(lib, [t["id"] for _, t, _ in report.tracks]))
    elif new_library and not report.interrupted and db_url is None:
        lib.engine.dispose()
        _forget_worker_libraries()
        report.library_removed = _remove_new_library(lib.dir)     # nothing could be read: no empty library left
    return report


def albums_of(lib: Library, ids: list[int]) -> set[str]:
    """The album keys of the tracks ``ids`` (singles have none)."""
    keys: set[str] = set()
    with lib.Session() as s:
        for start in range(0, len(ids), 500):
            keys |= set(s.scalars(select(Track.album_key).where(Track.id.in_(ids[start:start + 500]),
                                                                Track.album_key.is_not(None))))
    return keys


def _remove_new_library(folder: Path) -> bool:
    """Remove a library this batch created and that holds no track (only its own empty scaffolding)."""
    import shutil

    ours = {"library.sqlite", "library.sqlite-wal", "library.sqlite-shm", store.INCOMING, "playlists", ".locks",
            ".features", "labels.csv"}
    if folder.is_dir() and all(p.name in ours for p in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)
        return True
    return False
