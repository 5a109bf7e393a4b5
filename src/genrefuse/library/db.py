"""The library's tables (SQLAlchemy 2). SQLite by default (one file, WAL mode); any database URL works."""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, create_engine,
                        event, inspect, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from ..errors import DataError
from ..models.verdict import Rules, Verdict


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Track(Base):
    __tablename__ = "tracks"
    # ids are never handed out again (SQLite would reuse a removed track's id: a running server's indexes, keyed
    # on ids, would pair a new track with the removed one's data); older libraries are rebuilt so on open
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    original_name: Mapped[str] = mapped_column(String(512))
    stored_path: Mapped[str] = mapped_column(String(512))          # relative to the library folder
    duration: Mapped[float] = mapped_column(Float)
    genre: Mapped[str] = mapped_column(String(64), index=True)
    probabilities: Mapped[dict] = mapped_column(JSON)              # genre -> probability
    model_id: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # added in format 2 (older databases gain them on open, see upgrade_schema)
    artist: Mapped[str | None] = mapped_column(String(256), nullable=True)       # from the file's tags
    title: Mapped[str | None] = mapped_column(String(256), nullable=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)             # a listener set or confirmed the genre
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # added in format 3: how familiar the track was to the model, the genres its file's own tags named when
    # it came in, and the newest model's opinion of it (genre, confidence, familiarity, model_id), from `learn`
    familiarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    file_genres: Mapped[list | None] = mapped_column(JSON, nullable=True)
    suggestion: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    styles: Mapped[list | None] = mapped_column(JSON, nullable=True)            # [[name, score], ...] from the tagger
    # added in format 4: the recording's identity (fingerprint.audio_hash: the same samples under other tags or
    # in another container); None for a row of an older library until a same-length file makes it matter
    audio_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # added in format 5: the musicnn taggers' evidence per genre ({genre: score}; models.evidence) that the
    # answer's rules read; None for a row stored before (its styles stand in)
    evidence: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # added in format 6: the audio embedding for similar tracks ({"recipe", "vector"}; library.similar), None
    # until made (at ingest, or once on demand for a row stored before)
    embedding: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # also format 6: the tagger's mood-like tags ([[name, score], ...], 0.2 or more) and the tempo (bpm)
    moods: Mapped[list | None] = mapped_column(JSON, nullable=True)
    bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    # added in format 7: the album the file's tags name (inference.albums.album_key; None: a single) and, once
    # its tracks are pooled (library.albums), the album's answer: {"name", "genre", "confidence",
    # "familiarity", "evidence", "far"}; a track filed by its album is judged by the album's answer
    album_key: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    album: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # also format 7: how loud and fast it sounds to the MTT tagger, 0..1 (pretrained.styles.energy_of)
    energy: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def in_place(self) -> bool:
        """Indexed where the user keeps it (``ingest --in-place``): ``stored_path`` is absolute, outside the
        library, and the library never moves, deletes or (unless asked) writes that file."""
        return os.path.isabs(self.stored_path)

    @property
    def display_name(self) -> str:
        """How every face names the track to a person: ``artist - title`` from its file's tags, else the title,
        else the file's name without its extension."""
        if self.artist and self.title:
            return f"{self.artist} - {self.title}"
        return self.title or os.path.splitext(self.original_name or "")[0] or self.original_name or f"track {self.id}"

    @property
    def heard(self) -> dict[str, float]:
        """The taggers' evidence per genre that the answer's rules read: the stored one, or for a row stored
        before it was kept what its styles still show."""
        from ..models.evidence import from_styles

        return dict(self.evidence) if self.evidence is not None else from_styles(self.styles)

    @property
    def confidence(self) -> float:
        return float(self.probabilities.get(self.genre, max(self.probabilities.values(), default=0.0)))

    def to_json(self, verdict: Verdict | None = None) -> dict:
        """The track for the API, with the library model's ``verdict`` on it (its fields: ``answer``,
        ``genre``, ``confidence``, ``unsure``, ``unknown``, ``familiarity``; see
        :meth:`~genrefuse.models.verdict.Verdict.fields`); None: judged without thresholds."""
        if verdict is None:
            verdict = Rules().judge(self.genre, self.confidence, self.familiarity, confirmed=self.confirmed)
        return {"id": self.id, **verdict.fields(), "file_genres": list(self.file_genres or []),
                "styles": [{"name": n, "score": v} for n, v in self.styles or []], "name": self.original_name,
                "moods": [{"name": n, "score": v} for n, v in self.moods or []], "bpm": self.bpm, "energy": self.energy,
                "duration": round(self.duration, 3), "probabilities": self.probabilities, "model_id": self.model_id,
                "content_hash": self.content_hash, "added_at": self.added_at.isoformat() + "Z", "artist": self.artist,
                "title": self.title, "album": (self.album or {}).get("name"),
                "album_genre": (self.album or {}).get("genre"), "confirmed": bool(self.confirmed), "added_by": self.added_by,
                "in_place": self.in_place}


class LibraryGenre(Base):
    """A genre the library's owner or listeners added beside the model's (``relabel --new``, learned tags)."""

    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SourceFolder(Base):
    """A folder indexed where it is (``ingest --in-place``): what ``library scan`` looks through again."""

    __tablename__ = "source_folders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}         # as for tracks: an id is never another listener's

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # added in format 8: the name as names are compared (genres.fold: ``ALICE``, full-width ``ａｌｉｃｅ`` and
    # ``alice`` are one listener; unique), and the claim of the first sign-up of a brand-new library, which makes
    # its admin: 1 for that listener, NULL for every other (unique, so that two sign-ups at once cannot both claim it)
    name_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    first_admin: Mapped[int | None] = mapped_column(Integer, nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)      # may correct and remove any track
    genres: Mapped[list["UserGenre"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def weights(self) -> dict[str, float]:
        return {g.genre: g.weight for g in self.genres}


class UserGenre(Base):
    """A user's preference for a genre: likes start at 1; feedback moves the weights."""

    __tablename__ = "user_genres"
    __table_args__ = (UniqueConstraint("user_id", "genre"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    genre: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float)
    user: Mapped[User] = relationship(back_populates="genres")


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("user_id", "track_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))                 # like | skip
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Removal(Base):
    """A removed track's id, recorded in the transaction that removes it, so that every process's in-memory
    indexes (a running server's similar and recommendation indexes) drop it, whoever removed it."""

    __tablename__ = "removals"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def removed_since(session: Session, seq: int) -> tuple[int, list[int]]:
    """The ids of the tracks removed after removal ``seq`` (0: all) and the latest removal's seq."""
    rows = session.execute(select(Removal.seq, Removal.track_id).where(Removal.seq > seq).order_by(Removal.seq)).all()
    return (int(rows[-1][0]) if rows else seq), [int(t) for _, t in rows]


def default_db_url(library_dir: str | Path) -> str:
    return f"sqlite:///{Path(library_dir).resolve() / 'library.sqlite'}"


def make_engine(url: str) -> Engine:
    """An engine with the schema created; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # noqa: ANN001
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    upgrade_schema(engine)
    return engine


# columns added since the first release: table -> name -> SQL type and default, added to an older database on open
ADDED_COLUMNS = {
    "tracks": {"artist": "VARCHAR(256)", "title": "VARCHAR(256)", "confirmed": "BOOLEAN NOT NULL DEFAULT FALSE",
               "added_by": "INTEGER REFERENCES users(id) ON DELETE SET NULL", "familiarity": "FLOAT",
               "file_genres": "JSON", "suggestion": "JSON", "styles": "JSON", "audio_hash": "VARCHAR(64)",
               "evidence": "JSON", "embedding": "JSON", "moods": "JSON", "bpm": "FLOAT",
               "album_key": "VARCHAR(512)", "album": "JSON", "energy": "FLOAT"},
    "users": {"is_admin": "BOOLEAN NOT NULL DEFAULT FALSE", "name_key": "VARCHAR(128)", "first_admin": "INTEGER"},
}
# tables whose ids must never be reused: SQLite tables made before format 8 are rebuilt with AUTOINCREMENT
NEVER_REUSED = ("users", "tracks")


def upgrade_schema(engine: Engine) -> None:
    """Add the columns a library made by an older version lacks (existing rows keep their data)."""
    for table, columns in ADDED_COLUMNS.items():
        have = {c["name"] for c in inspect(engine).get_columns(table)}
        for name, sql_type in columns.items():
            if name in have:
                continue
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))
            except DBAPIError:          # another process opening the same library added it first
                if name not in {c["name"] for c in inspect(engine).get_columns(table)}:
                    raise
    if engine.url.get_backend_name() == "sqlite":
        _never_reuse_ids(engine)
    _fill_name_keys(engine)
    with engine.begin() as conn:         # one track per recording; NULLs (older rows) do not collide
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ix_tracks_audio_hash ON tracks (audio_hash)"))
        # a listener's own uploads are left out of each recommendation: found by index, not a scan
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tracks_added_by ON tracks (added_by)"))
        # rows of an older library without an audio hash are matched by length first (Library.find_recording)
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tracks_duration ON tracks (duration)"))
        # an album's tracks are pooled together after each batch (library.albums)
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tracks_album_key ON tracks (album_key)"))
        # one listener per name as names are compared; one first admin (NULLs, every other listener, never collide)
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ix_users_name_key ON users (name_key)"))
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ix_users_first_admin ON users (first_admin)"))


def _fill_name_keys(engine: Engine) -> None:
    """Give listeners of an older library their compared name (:func:`genres.fold`); a second listener whose
    name folds to a taken one keeps none (and stays reachable by id and exact name)."""
    from ..genres import fold

    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, name FROM users WHERE name_key IS NULL ORDER BY id")).all()
        if not rows:
            return
        taken = {k for (k,) in conn.execute(text("SELECT name_key FROM users WHERE name_key IS NOT NULL"))}
        for uid, name in rows:
            key = fold(name)[:128]
            if key not in taken:
                taken.add(key)
                conn.execute(text("UPDATE users SET name_key = :k WHERE id = :i"), {"k": key, "i": uid})


def _never_reuse_ids(engine: Engine) -> None:
    """Rebuild the :data:`NEVER_REUSED` tables of a SQLite library made before format 8 with AUTOINCREMENT (SQLite
    cannot add it to a table): in one immediate transaction, with foreign keys off so that the rows that point at
    them (feedback, likes) stay as they are, every row and index kept. Another process opening the library at
    once waits, then finds it done."""
    import sqlite3

    from sqlalchemy.schema import CreateIndex, CreateTable

    def plain(conn, table: str) -> bool:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        return row is not None and "AUTOINCREMENT" not in row[0].upper()

    path = engine.url.database
    if not path or path == ":memory:":
        return
    with engine.connect() as probe:
        if not any(probe.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? AND "
                                         "upper(sql) NOT LIKE '%AUTOINCREMENT%'", (t,)).first() for t in NEVER_REUSED):
            return
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")           # outside a transaction, as SQLite requires
        conn.execute("PRAGMA legacy_alter_table = ON")      # a rename leaves the references to the table as they are
        conn.execute("BEGIN IMMEDIATE")
        try:
            broken = len(conn.execute("PRAGMA foreign_key_check").fetchall())    # what was broken before stays so
            for table in NEVER_REUSED:
                if not plain(conn, table):
                    continue
                meta = Base.metadata.tables[table]
                old = f"_old_{table}"
                conn.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
                for (index,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                             "AND sql IS NOT NULL", (old,)).fetchall():
                    conn.execute(f'DROP INDEX "{index}"')
                conn.execute(str(CreateTable(meta).compile(engine)))
                for index in meta.indexes:
                    conn.execute(str(CreateIndex(index).compile(engine)))
                have = [r[1] for r in conn.execute(f'PRAGMA table_info("{old}")')]
                columns = ", ".join(f'"{c.name}"' for c in meta.columns if c.name in have)
                conn.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{old}" ORDER BY id')
                conn.execute(f'DROP TABLE "{old}"')
            if len(conn.execute("PRAGMA foreign_key_check").fetchall()) > broken:
                raise DataError(f"{path}: rebuilding its tables would break references; nothing was changed")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


# NUL and the other C0 controls: PostgreSQL refuses NUL in text, and none belongs in a name or a tag
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")   # and bidi overrides


def storable(text: str | None, limit: int) -> str | None:
    """``text`` as every database stores it: control and bidirectional-override characters dropped, a non-UTF-8 file name's stray
    bytes (Python's surrogate escapes) replaced by U+FFFD, at most ``limit`` characters."""
    if text is None:
        return None
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROLS.sub("", text)[:limit]


def database_problem(exc: BaseException, url: str) -> str | None:
    """One line for a database that cannot be used (damaged, not a database, locked, unreachable), naming it
    and what to do; None when ``exc`` is not such a failure."""
    if not isinstance(exc, DBAPIError | SQLAlchemyError) or isinstance(exc, IntegrityError):
        return None
    where = url.removeprefix("sqlite:///") if url.startswith("sqlite") else make_url(url).render_as_string()
    reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if url.startswith("sqlite") and any(w in reason for w in ("malformed", "not a database", "corrupt")):
        lib = Path(where).parent
        return (f"{where}: the library's database is damaged ({reason}); restore a backup (`genrefuse library "
                f"backup --library {lib}` makes one) and see what can still be read with `genrefuse library check "
                f"--library {lib}`")
    return f"{where}: the library's database cannot be used ({reason})"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


__all__ = ["Base", "Track", "LibraryGenre", "SourceFolder", "User", "UserGenre", "Feedback", "Removal", "removed_since",
           "make_engine", "session_factory", "default_db_url",
           "storable", "database_problem", "select", "json"]
