"""``genrefuse library backup``: a consistent copy of a SQLite library database taken while it is in use
(SQLite's online backup API), written to a temporary name and renamed into place."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DataError
from ..io import atomic_path
from .library import Library

FOLDER = "backups"


def backup_database(library: Library, out: str | Path | None = None) -> Path:
    """Copy the library's SQLite database to ``out`` (default ``LIBRARY/backups/library-<UTC time>.sqlite``)."""
    url = library.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise DataError(f"{url.render_as_string()}: backup copies SQLite databases; back up this database with "
                        "its own tools (pg_dump for PostgreSQL)")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out) if out else library.dir / FOLDER / f"library-{stamp}.sqlite"
    if out.is_dir():
        raise DataError(f"{out}: is a folder; name the backup file")
    src = sqlite3.connect(url.database)
    try:
        with atomic_path(out) as tmp:
            dest = sqlite3.connect(tmp)
            try:
                src.backup(dest)
            finally:
                dest.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{url.database}: cannot be backed up ({exc}); the database may be damaged: "
                        f"see `genrefuse library check --library {library.dir}`") from None
    finally:
        src.close()
    return out
