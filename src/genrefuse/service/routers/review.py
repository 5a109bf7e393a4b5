"""The review queue: tracks that need a person, most useful first (see :mod:`genrefuse.library.review`)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...library.review import review_queue
from ..deps import Lib
from ..schemas import ReviewQueue, errors

router = APIRouter(prefix="/api/review", tags=["review"])


@router.get("", response_model=ReviewQueue, responses=errors(422))
def review(library: Lib, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
    """Every track that needs a person: likely mis-tagged files, unknown tracks, files whose tag the model disputes,
    tracks far from their album's genre, tracks the newest model would file elsewhere, unsure ones."""
    return {"tracks": [item.to_json() for item in review_queue(library, limit=limit)]}
