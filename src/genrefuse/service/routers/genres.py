"""Genres: each genre the library knows, with its number of tracks."""
from __future__ import annotations

from fastapi import APIRouter

from ..deps import Lib
from ..schemas import GenreList

router = APIRouter(prefix="/api/genres", tags=["genres"])


@router.get("", response_model=GenreList)
def genres(library: Lib) -> dict:
    return {"genres": [{"genre": g, "count": n} for g, n in library.genre_counts().items()]}
