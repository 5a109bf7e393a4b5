"""The library: its folder, its database and the model that classifies new tracks (one
:class:`~genrefuse.inference.handle.ModelHandle`), and every change to a track: ingest one file, correct,
remove; each under the track's lock, crash-safe.

Order of work: the file is complete in ``.incoming`` -> renamed into ``<genre>/<name> [<hash8>].<ext>``
-> the row commits -> the genre's playlist is rewritten. A crash leaves at most a file without a row
(re-ingesting adopts it), never a row without a file or a half-written file in the library. A
correction (:meth:`Library.relabel`) links the file into its new folder, commits, then unlinks the old
name, with the same guarantee. How a user's file comes in (copy, move, link, in place) is
:mod:`.modes`; batches of files are :mod:`.ingest`.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..audio import header
from ..errors import AudioError, DataError, ForbiddenError, GoneError, NotFoundError
from ..fingerprint import audio_hash, identify
from ..genres import Vocabulary, split_genre_tag
from ..inference.albums import album_key, album_name, within_album
from ..inference.handle import ModelHandle
from ..inference.predict import GenreModel
from ..io import file_hash
from ..models.bundle import is_model_folder, model_folder
from ..models.verdict import Verdict
from ..parallel import pid_alive
from ..tagging import TAGGABLE, read_metadata, write_genre
from . import store
from .albums import file_albums
from .db import LibraryGenre, Removal, SourceFolder, Track, User, database_problem, default_db_url, make_engine, session_factory, storable
from .features import save_features
from .locks import track_lock
from .modes import Mode, mode_named
from .similar import record_of
from .playlists import FOLDER as PLAYLISTS, all_genres, playlist_path, update_labels, update_playlists, update_unsure_playlist


@dataclass
class IngestResult:
    track: Track
    created: bool
    same_recording: bool = False         # not this file's bytes but its samples were in the library already


def library_model_dir(library_dir: str | Path, model_dir: str | Path | None) -> Path:
    """The model a library classifies with: ``model_dir`` when named, else the library's own
    (``LIBRARY/model``, from `genrefuse learn`) when it has one, else the packaged default."""
    if model_dir is not None:
        return model_folder(model_dir)
    own = Path(library_dir) / store.MODEL
    return own if is_model_folder(own) else model_folder(None)


def library_exists(library_dir: str | Path, db_url: str | None = None) -> bool:
    """Whether ``library_dir`` holds a library (its database file, or a folder beside a database URL)."""
    return Path(library_dir).is_dir() and (db_url is not None or (Path(library_dir) / "library.sqlite").is_file())


def is_library_folder(library_dir: str | Path, folder: Path) -> bool:
    """Whether a walk must leave ``folder`` alone: it is the library ``library_dir`` (a source folder may hold
    it) or any other genrefuse library (a folder with its database); their files are theirs, not the user's."""
    if (folder / "library.sqlite").is_file():
        return True
    try:
        return os.path.samefile(folder, library_dir)
    except OSError:
        return False


class Library:
    """The library folder, its database and the model that classifies new tracks (loaded on first use:
    listing, correcting and playlists need only the model's genre list)."""

    def __init__(self, library_dir: str | Path, model_dir: str | Path | None = None, *, db_url: str | None = None,
                 aliases: dict[str, str] | None = None, write_tags: bool = False, create: bool = True):
        self.dir = Path(library_dir)
        if not create and not library_exists(self.dir, db_url):
            raise DataError(f"{self.dir}: no library here (a typo? `genrefuse ingest FILES --library "
                            f"{self.dir}` creates one)")
        self.vocabulary = Vocabulary([], aliases)
        self.use_model(library_model_dir(self.dir, model_dir))
        self.write_tags = write_tags
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url                # None: the SQLite file in the folder
        url = db_url or default_db_url(self.dir)
        try:
            self.engine = make_engine(url)
        except SQLAlchemyError as exc:
            raise DataError(database_problem(exc, url) or str(exc)) from None
        self.Session = session_factory(self.engine)
        with self.Session() as s:
            self.vocabulary.extend(s.scalars(select(LibraryGenre.name).order_by(LibraryGenre.id)).all())
            self.vocabulary.extend(g for g in s.scalars(select(Track.genre).distinct()).all() if g)
        self._clean_incoming()
        self._opened = self._identity()

    def _identity(self) -> tuple:
        """The library folder and database file as the file system knows them (device and inode)."""
        where = [self.dir] + ([self.dir / "library.sqlite"] if self.db_url is None else [])
        out = []
        for p in where:
            try:
                st = os.stat(p)
                out.append((str(p), st.st_dev, st.st_ino))
            except OSError:
                out.append((str(p), None, None))
        return tuple(out)

    def gone(self) -> str | None:
        """Why the library can no longer be written where it was opened (its folder or database file deleted,
        moved or replaced under a running server), or None while both are the ones it opened."""
        for (path, dev, ino), (_, dev_now, ino_now) in zip(self._opened, self._identity()):
            if ino_now is None:
                return f"{path} is gone (deleted or moved while in use): nothing can be stored; restart the server"
            if (dev, ino) != (dev_now, ino_now):
                return f"{path} was replaced while in use: nothing is stored into it; restart the server"
        return None

    def use_model(self, model_dir: Path) -> None:
        """Classify with the model in ``model_dir`` from now on (after `learn`, also in a running service):
        a new :class:`ModelHandle`, swapped in with one assignment."""
        handle = ModelHandle(model_dir)
        self.vocabulary.extend(handle.answers)
        self.handle = handle

    @classmethod
    def open(cls, library_dir: str | Path, model_dir: str | Path | None = None, *, db_url: str | None = None, **kw) -> "Library":
        return cls(library_dir, model_dir, db_url=db_url, **kw)

    # what the handle holds, for callers that read one value (an ingest takes the handle once instead)
    @property
    def model(self) -> GenreModel:
        return self.handle.model

    @property
    def model_dir(self) -> Path:
        return self.handle.folder

    @property
    def model_id(self) -> str:
        return self.handle.id

    @property
    def model_genres(self) -> list[str]:
        """The genres the library's model can answer (its head's and the tagger's)."""
        return list(self.handle.answers)

    @property
    def recipe(self) -> str:
        return self.handle.recipe

    @property
    def min_confidence(self) -> float:
        return self.handle.rules.min_confidence

    @property
    def genres(self) -> list[str]:
        return self.vocabulary.genres

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
        """The track of exactly this file (its bytes' SHA-256)."""
        with self.Session() as s:
            return s.scalar(select(Track).where(Track.content_hash == digest))

    def find_recording(self, identity: str, *, duration: float | None = None) -> Track | None:
        """The track of this recording (:func:`~genrefuse.fingerprint.audio_hash`), whatever its tags or
        container. Rows of an older library have no audio hash yet: those of the same length (``duration``,
        the only ones that can hold the same samples) get theirs now, the rest are never decoded."""
        with self.Session() as s:
            track = s.scalar(select(Track).where(Track.audio_hash == identity))
            if track is not None or duration is None:
                return track
            legacy = s.scalars(select(Track).where(Track.audio_hash.is_(None), Track.duration > duration - 0.01,
                                                   Track.duration < duration + 0.01)).all()
            for t in legacy:
                try:
                    t.audio_hash = audio_hash(self.audio_path(t))
                    s.commit()
                except AudioError:           # its file is missing or damaged: `library check` says so
                    s.rollback()
                    continue
                except IntegrityError:       # a duplicate from before audio identities: keep the first
                    s.rollback()
                    continue
                if t.audio_hash == identity:
                    return t
        return None

    def ingest(self, path: str | Path, *, original_name: str | None = None, owned: bool = False,
               added_by: int | None = None, mode: str = "copy") -> IngestResult:
        """Classify and store one file; a file of a recording the library holds (the same samples under
        other tags or in another container) is that track, not a new one.

        ``mode`` (for a user's file; see :data:`~genrefuse.library.modes.MODES`): ``copy`` (the default),
        ``move`` (the user's file goes once its track is stored), ``link`` (a hard link where the library
        shares the file system, else a copy) or ``in-place`` (the file stays where it is; the row points at
        it, and it is never moved, removed, or written unless ``write_tags``). ``owned``: ``path`` is a
        temporary file of ours (an upload in ``.incoming``) that may be moved. What is hashed and analysed is
        what is stored, and a file that changes meanwhile is refused as still being written. ``added_by``:
        the listener who uploaded it. With ``write_tags`` the stored file gets the genre tag (a linked file
        is copied first)."""
        how = mode_named(mode, owned=owned)
        handle = self.handle                  # one model for the whole call, whatever `learn` swaps in meanwhile
        path = Path(path)
        name = storable(original_name or path.name, 512)
        taken = how.take(path, self.dir, find=self.find, write_tags=self.write_tags)
        if taken.known is not None:           # known content is not copied again (a resumed batch)
            self._moved_away(path, taken.known, how)
            return IngestResult(taken.known, False)
        tmp, digest = taken.path, taken.digest
        try:
            existing = self.find(digest)
            if existing is not None:
                self._moved_away(path, existing, how)
                return IngestResult(existing, False)
            track = self._analysed(handle, tmp, digest, name=name, added_by=added_by, in_place=how.in_place)
            if isinstance(track, IngestResult):
                return track
            with track_lock(self.dir, track.audio_hash):
                result = self._store(tmp, track)
            if result.created and how.removes_source and not self.owns(path):
                path.unlink(missing_ok=True)           # stored and committed: the user's copy (or link) goes
            return result
        finally:
            if how.temporary:
                tmp.unlink(missing_ok=True)

    def _analysed(self, handle: ModelHandle, tmp: Path, digest: str, *, name: str, added_by: int | None,
                  in_place: bool) -> Track | IngestResult:
        """The new track of the file ``tmp`` (classified by ``handle``'s model, its features cached), or the
        track of the same recording when the library holds one."""
        try:
            inputs = handle.model.preprocess(tmp)        # first: it refuses what is no music file
            # one more pass, whole: the recording's identity, the header (the same bytes under any name: one
            # path, one file) and the duration (decoded, where the header's claim cannot be true)
            heard = identify(tmp)
            identity, ext, seconds = heard.audio_hash, heard.header.extension, heard.seconds
            same = self.find_recording(identity, duration=seconds)
            if same is not None:
                return IngestResult(same, False, same_recording=True)
            pred = handle.model.postprocess(handle.model.forward(inputs), path=str(tmp), inputs=inputs)
        except AudioError as exc:
            raise AudioError(name, exc.reason) from None
        meta = read_metadata(tmp)
        save_features(self.dir, identity, handle.recipe, inputs)    # learning never decodes it again
        if self.write_tags and ext in TAGGABLE:
            write_genre(tmp, Vocabulary.display(pred.genre), kind=ext)
        rel = str(tmp) if in_place else store.relative_path(pred.genre, digest, ext, name=store.readable_name(
            original_name=name, artist=meta.artist, title=meta.title))
        return Track(content_hash=digest, original_name=name, stored_path=rel, duration=seconds,
                     genre=pred.genre, probabilities=pred.probabilities, model_id=handle.id,
                     artist=storable(meta.artist, 256), title=storable(meta.title, 256), added_by=added_by,
                     familiarity=pred.familiarity, styles=[[n, round(v, 4)] for n, v in pred.styles] or None,
                     evidence=dict(pred.evidence) or None, embedding=record_of(inputs),
                     moods=[[n, round(v, 4)] for n, v in pred.moods] or None, bpm=pred.bpm, energy=pred.energy,
                     file_genres=[storable(g, 64) for g in split_genre_tag(meta.genres)][:16] or None,
                     audio_hash=identity, album_key=album_key(meta),
                     album={"name": storable(album_name(meta), 512)} if meta.album else None)

    def _moved_away(self, path: Path, existing: Track, how: Mode) -> None:
        """``--move`` of a file whose exact bytes the library already holds: the user's copy goes too (a
        file of the same recording with other bytes, other tags say, is left: those tags are the user's),
        but only when it is not the stored file itself nor anything else of the library's, and the stored
        file's audio still verifies."""
        if how.removes_source and not existing.in_place and not self.owns(path) and self.verifies(existing):
            path.unlink(missing_ok=True)

    def owns(self, path: str | Path) -> bool:
        """Whether ``path`` (not followed if a link) lies inside the library folder: the library's own files,
        never a user's to move or remove."""
        try:
            where = Path(os.path.realpath(Path(path).parent)) / Path(path).name
            return where.is_relative_to(os.path.realpath(self.dir))
        except (OSError, ValueError):
            return True

    def verifies(self, track: Track) -> bool:
        """Whether the track's stored file holds its recording: the same bytes, or (a genre tag written into
        it since) the same decoded audio."""
        path = self.audio_path(track)
        try:
            if file_hash(path) == track.content_hash:
                return True
            return track.audio_hash is not None and audio_hash(path) == track.audio_hash
        except (OSError, AudioError):
            return False

    def _store(self, tmp: Path, track: Track) -> IngestResult:
        """Move ``tmp`` into place (unless the track stays where it is) and commit its row, under the
        recording's lock: either both happen or, on any failure, the file is removed again; a concurrent
        ingest of the same content or recording wins with its own."""
        winner = self.find(track.content_hash) or self.find_recording(track.audio_hash)
        if winner is not None:
            return IngestResult(winner, False, same_recording=winner.content_hash != track.content_hash)
        dest = tmp if track.in_place else store.move_into_place(tmp, self.dir, track.stored_path)
        with self.Session() as s:
            s.add(track)
            try:
                s.commit()
            except BaseException as exc:
                s.rollback()
                winner = None
                if isinstance(exc, IntegrityError):
                    winner = self.find(track.content_hash) or self.find_recording(track.audio_hash)
                if not track.in_place and (winner is None or winner.stored_path != track.stored_path):
                    dest.unlink(missing_ok=True)          # never the winner's own file, never a user's
                if winner is not None:                    # committed by a process that does not share our lock
                    return IngestResult(winner, False, same_recording=winner.content_hash != track.content_hash)
                raise
            update_playlists(self.dir, s, [track.genre])
            if self.needs_look(track):             # a sure track leaves the list of unsure ones as it was
                self.flag_unsure(s)
            return IngestResult(track, True)

    def add_genre(self, name: str) -> str:
        """Make ``name`` one of the library's genres (beside the model's); returns its stored name (an
        existing genre's when ``name`` means one)."""
        genre = self.vocabulary.new_name(name)
        if genre in self.vocabulary.genres:
            return genre
        with self.Session() as s:
            if s.scalar(select(LibraryGenre).where(LibraryGenre.name == genre)) is None:
                s.add(LibraryGenre(name=genre))
                try:
                    s.commit()
                except IntegrityError:          # added by another writer meanwhile
                    s.rollback()
        self.vocabulary.extend([genre])
        return genre

    def relabel(self, track_id: int, genre: str, *, by: User | None = None, new: bool = False) -> Track:
        """Correct (or confirm) a track's genre: ``genre`` is any name the vocabulary knows, or with
        ``new`` a new genre of the library's. The file moves to the genre's folder (and its genre tag is
        rewritten when it carries one); the label is marked confirmed, so that training on the library
        uses it. ``by``: the listener asking (None: the library's owner at the command line); only the
        track's uploader or an admin may."""
        current = self._writable(track_id, by)       # before a new genre is added on its behalf
        if not new and self.vocabulary.get(genre) is None:
            self.refresh_genres()                # another writer may have added it
        genre = self.add_genre(genre) if new else self.vocabulary.resolve(genre)
        track = self.refile(current, genre, confirm=True)
        self._repool(track.album_key)            # the person's genre counts in its album's answer
        return track

    def _repool(self, album_key: str | None) -> None:
        """Pool the album ``album_key`` again after one of its tracks changed (:mod:`.albums`)."""
        if album_key:
            file_albums(self, [album_key])

    def refile(self, current: Track, genre: str, *, confirm: bool = False,
               album: dict | None | EllipsisType = ...) -> Track:
        """File a track under ``genre`` (a genre of the library's): its file moves to the genre's folder and
        its genre tag is rewritten when it carries one, the playlists follow. ``confirm``: a person said so
        (:meth:`relabel`); ``album``: the track's new album record (:mod:`.albums`; ``...`` keeps it).
        Unconfirmed refiling leaves a confirmed track alone."""
        with track_lock(self.dir, current.content_hash):
            with self.Session() as s:
                track = s.get(Track, current.id)         # read again under the lock: another writer may have moved it
                if track is None:
                    raise NotFoundError(f"no track {current.id}")
                if track.confirmed and not confirm:
                    return track
                old_genre, old_rel, looked = track.genre, track.stored_path, self.needs_look(track)
                new_rel = old_rel if track.in_place else store.in_genre(old_rel, genre)
                moved = new_rel != old_rel
                if moved and not (self.dir / old_rel).is_file():
                    raise GoneError(f"track {track.id}: its file {old_rel} is missing from the library, so it "
                                    f"cannot be refiled (see `genrefuse library check --library {self.dir}`; "
                                    "`library remove` drops the row)")
                if moved:
                    store.relink(self.dir, old_rel, new_rel)
                track.genre, track.stored_path = genre, new_rel
                track.confirmed = track.confirmed or confirm
                if album is not ...:
                    track.album = album
                try:
                    s.commit()
                except BaseException:
                    s.rollback()
                    if moved:
                        (self.dir / new_rel).unlink(missing_ok=True)     # the old name still holds the file
                    raise
                if moved:
                    (self.dir / old_rel).unlink(missing_ok=True)
                if old_genre != genre and (not track.in_place or self.write_tags):    # a user's file only when asked
                    self._retag(self.dir / new_rel, genre)
                if old_genre != genre or confirm:
                    update_playlists(self.dir, s, {old_genre, genre})
                if confirm:
                    update_labels(self.dir, s)
                if looked != self.needs_look(track):      # confirmed or filed by a sure album: off the unsure list
                    self.flag_unsure(s)
                return track

    def remove(self, track_id: int, *, by: User | None = None) -> Track:
        """Remove a track: its row (with its feedback) and its file (a file indexed in place stays where it
        is). ``by`` as for :meth:`relabel`."""
        with track_lock(self.dir, self._writable(track_id, by).content_hash):
            with self.Session() as s:
                track = s.get(Track, track_id)
                if track is None:
                    raise NotFoundError(f"no track {track_id}")
                s.delete(track)
                s.add(Removal(track_id=track.id))        # every process's indexes drop it (db.removed_since)
                s.commit()                               # the row goes first: never a row without its file
                if not track.in_place:                   # a file indexed where it is stays the user's
                    (self.dir / track.stored_path).unlink(missing_ok=True)
                update_playlists(self.dir, s, [track.genre])
                update_labels(self.dir, s)
                if self.needs_look(track):
                    self.flag_unsure(s)
        self._repool(track.album_key)                    # the rest of its album, judged again
        return track

    def _writable(self, track_id: int, by: User | None) -> Track:
        """The track, when ``by`` may change it (its uploader, an admin, or the owner at the command line)."""
        with self.Session() as s:
            track = s.get(Track, track_id)
        if track is None:
            raise NotFoundError(f"no track {track_id}")
        if by is not None and not by.is_admin and track.added_by != by.id:
            who = "came in from the command line (no listener added it)" if track.added_by is None else \
                "was added by another listener"
            raise ForbiddenError(f"track {track_id} {who}: only its uploader or a library admin may change it (an admin "
                                 "is made with `genrefuse users admin NAME --library DIR`)")
        return track

    def _retag(self, path: Path, genre: str) -> None:
        """Rewrite the genre tag of a library file that carries one (best effort: the move stands)."""
        try:
            if read_metadata(path).genres:
                if path.is_relative_to(self.dir):
                    store.own_copy(path, self.dir)       # a hard link (ingest --link) shares the user's bytes
                write_genre(path, Vocabulary.display(genre), kind=header(path).extension)
        except AudioError:
            pass

    def verdict(self, track: Track) -> Verdict:
        """The library's model's verdict on a stored track (its rules, the track's stored answer); a track
        filed by its album's genre is judged on its own evidence for that genre (:func:`within_album`: pooling
        never makes a track surer than it is alone)."""
        album = track.album or {}
        if not track.confirmed and album.get("genre") == track.genre and album.get("confidence") is not None:
            return within_album(self.handle.rules, track.genre, album["confidence"], track.probabilities,
                                track.familiarity, track.heard)
        return self.handle.judge(track.genre, track.confidence, track.familiarity, confirmed=track.confirmed,
                                 heard=track.heard)

    def own_verdict(self, track: Track) -> Verdict:
        """The model's answer on the track alone (its probabilities, familiarity and evidence), whatever it
        is filed under."""
        return self.handle.rules.of(track.probabilities, track.familiarity, heard=track.heard)

    def needs_look(self, track: Track, *, verdict: Verdict | None = None) -> bool:
        """Unconfirmed and either unsure (below the model's threshold), unknown (unfamiliar), or far from
        its album's genre; ``verdict``: :meth:`verdict`'s, when the caller has it already."""
        v = verdict or self.verdict(track)
        return v.needs_look or (not track.confirmed and bool((track.album or {}).get("far")))

    def flag_unsure(self, session) -> None:
        """Keep ``playlists/_unsure.m3u8`` (the tracks that need a person) current."""
        update_unsure_playlist(self.dir, session, needs_look=self.needs_look)

    def describe(self, track: Track) -> dict:
        """A track as the API shows it, with ``unsure`` and ``unknown`` judged by this library's model, and whether
        it ``needs_look`` (:meth:`needs_look`)."""
        v = self.verdict(track)
        return {**track.to_json(v), "needs_look": self.needs_look(track, verdict=v)}

    def audio_path(self, track: Track) -> Path:
        return self.dir / track.stored_path

    def genre_counts(self) -> dict[str, int]:
        with self.Session() as s:
            counts = dict(s.execute(select(Track.genre, func.count()).group_by(Track.genre)).all())
        return {g: int(counts.get(g, 0)) for g in self.genres} | {g: int(n) for g, n in counts.items() if g not in self.genres}

    def tracks(self, *, genre: str | None = None, needing_a_look: bool = False) -> list[Track]:
        """The library's tracks by genre, artist, title and name (of one ``genre``; only those that need a
        person with ``needing_a_look``)."""
        q = select(Track).order_by(Track.genre, Track.artist, Track.title, Track.original_name, Track.id)
        if genre is not None:
            q = q.where(Track.genre == genre)
        with self.Session() as s:
            rows = s.scalars(q).all()
        return [t for t in rows if self.needs_look(t)] if needing_a_look else list(rows)

    def rewrite_playlists(self) -> list[Path]:
        """Every genre's playlist, the unsure one and ``labels.csv`` written anew from the database (the playlist of
        a genre no track has any more removed)."""
        with self.Session() as s:
            self.flag_unsure(s)
            genres = all_genres(s)
            written = update_playlists(self.dir, s, genres)
            kept = {playlist_path(self.dir, g) for g in genres}
            for stale in (self.dir / PLAYLISTS).glob("*.m3u8"):   # of a genre no track has now: gone
                if stale not in kept and not stale.name.startswith("_"):
                    stale.unlink(missing_ok=True)
            return written + [update_labels(self.dir, s)]

    def add_source_folders(self, folders: Iterable[Path]) -> None:
        """Remember folders indexed in place, for ``library scan``."""
        with self.Session() as s:
            known = set(s.scalars(select(SourceFolder.path)).all())
            for f in {str(Path(f).resolve()) for f in folders} - known:
                s.add(SourceFolder(path=storable(f, 1024)))
            try:
                s.commit()
            except IntegrityError:              # added by another batch meanwhile
                s.rollback()

    def source_folders(self) -> list[Path]:
        with self.Session() as s:
            return [Path(p) for p in s.scalars(select(SourceFolder.path).order_by(SourceFolder.id)).all()]

    def refresh_genres(self) -> None:
        """Know the genres other writers added since this library was opened."""
        with self.Session() as s:
            self.vocabulary.extend(s.scalars(select(LibraryGenre.name).order_by(LibraryGenre.id)).all())


