"""Similar tracks: a track's nearest tracks by their audio, and a radio from it (JSON, or M3U for a player)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...library.playlists import playlist_text
from ...library.similar import radio, similar_tracks
from ..deps import State
from ..schemas import RadioOut, SimilarList, TrackId, errors

router = APIRouter(prefix="/api/tracks", tags=["similar"])
# `n`, the old name of `limit` (every list of the API takes `limit`); still read, so that older scripts work
OLD_N = Query(ge=1, le=200, deprecated=True, description="the old name of limit")


def _limit(limit: int | None, n: int | None, default: int) -> int:
    return limit or n or default


@router.get("/{track_id}/similar", response_model=SimilarList, responses=errors(404, 410, 422))
async def similar(track_id: TrackId, state: State, limit: Annotated[int | None, Query(ge=1, le=100)] = None,
                  n: Annotated[int | None, OLD_N] = None) -> dict:
    """The ``limit`` (default 10) tracks most like this one by their audio (the musicnn taggers' tags), most similar first.
    A track without an embedding gets one now (its file analysed once); ``unembedded`` counts the library's
    tracks still without one, which are left out (``genrefuse similar`` embeds them all, once)."""
    library = state.library

    def work():
        with state.analyses:
            seed, hits = similar_tracks(library, track_id=track_id, n=min(100, _limit(limit, n, 10)),
                                        index=state.similar_index)
        return seed, hits, len(state.similar_index.pending)

    seed, hits, left = await run_in_threadpool(work)
    return {"seed": library.describe(seed), "unembedded": left,
            "tracks": [{"similarity": round(s, 4), "track": library.describe(t)} for t, s in hits]}


def _radio(state, track_id: int, n: int):
    with state.analyses:
        return radio(state.library, track_id, n=n, index=state.similar_index)


@router.get("/{track_id}/radio", response_model=RadioOut, responses=errors(404, 410, 422))
async def radio_json(track_id: TrackId, state: State, limit: Annotated[int | None, Query(ge=1, le=200)] = None,
                     n: Annotated[int | None, OLD_N] = None) -> dict:
    """A playlist from this track (at most ``limit`` tracks, default 20): each next one the track most like both the seed and the one before it,
    never by the same artist as the one before it, never a recording twice; the seed first."""
    tracks = await run_in_threadpool(_radio, state, track_id, _limit(limit, n, 20))
    return {"tracks": [state.library.describe(t) for t in tracks]}


@router.get("/{track_id}/radio.m3u8", response_class=Response,
            responses={200: {"content": {"audio/x-mpegurl": {}}, "description": "an extended M3U playlist whose "
                                                                                 "entries are the tracks' audio URLs"},
                       **errors(404, 410, 422)})
async def radio_m3u(track_id: TrackId, state: State, limit: Annotated[int | None, Query(ge=1, le=200)] = None,
                    n: Annotated[int | None, OLD_N] = None) -> Response:
    """The radio as an M3U playlist for a player, each entry the track's ``/api/tracks/{id}/audio``."""
    tracks = await run_in_threadpool(_radio, state, track_id, _limit(limit, n, 20))
    text = playlist_text(tracks, paths=[f"/api/tracks/{t.id}/audio" for t in tracks])
    return Response(text, media_type="audio/x-mpegurl")
