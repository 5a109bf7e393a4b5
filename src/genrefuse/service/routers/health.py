"""Health: the service, its model and a real query of its database (503 when that fails; the app's middleware
also answers 503 when the library folder is gone or SQLite's quick check finds the database damaged)."""
from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from ... import __version__
from ...library.db import Track
from ..deps import State
from ..schemas import Error, Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health,
            responses={503: {"model": Error, "description": "the database fails or the library folder is gone"}})
def health(state: State):
    library = state.library
    with library.Session() as s:          # a damaged database raises here; the app's handler answers 503
        tracks = int(s.scalar(select(func.count()).select_from(Track)) or 0)
    handle = library.handle
    return {"status": "ok", "version": __version__, "model": handle.id, "genres": library.genres,
            "model_genres": list(handle.answers),
            "database": True, "tracks": tracks, "min_confidence": handle.rules.min_confidence,
            "signup": state.settings.signup_open}

