"""Tracks: upload (classify and file), list, read, correct, remove, and their audio."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import String, cast, func, or_, select

from ...errors import AudioError
from ...library import store
from ...pretrained.styles import CALM, LIVELY, MOODS
from ...library.albums import file_albums
from ...library.db import Track, storable
from ..deps import Lib, Listener, State
from ..schemas import MAX_ID, Correction, TrackId, TrackList, TrackOut, TrackUploaded, errors

router = APIRouter(prefix="/api/tracks", tags=["tracks"])
MEDIA_TYPES = {"wav": "audio/wav", "au": "audio/basic", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


@router.post("", status_code=201, response_model=TrackUploaded,
             responses={200: {"model": TrackUploaded, "description": "the same content was already stored"},
                        **errors(400, 401, 403, 408, 413, 415, 422, 429)})
def upload(file: Annotated[UploadFile, File(description="an audio file: wav, au, flac, ogg or mp3")],
           user: Listener, state: State, response: Response) -> dict:
    """Classify an audio file and file it under its genre (the same content twice is stored once: 200)."""
    library, max_bytes = state.library, state.settings.max_upload_bytes
    name = Path(file.filename or "").name
    if not name.strip(" ."):                 # no name, or only dots ("."): never the temporary file's own name
        name = "upload"
    tmp = store.incoming_path(library.dir, f".{store.safe_ext(name)}")
    size = 0
    try:
        with open(tmp, "wb") as out:
            while block := file.file.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise HTTPException(413, f"{name}: larger than the {state.settings.max_upload_mb:g} MB upload limit")
                out.write(block)
        if size == 0:
            raise HTTPException(400, f"{name}: empty file")
        try:
            with state.analyses:
                result = library.ingest(tmp, original_name=name, owned=True, added_by=user.id)
        except AudioError as exc:
            raise HTTPException(415, str(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    track = result.track
    if result.created and track.album_key:       # its album pooled again, with it (library.albums)
        file_albums(library, [track.album_key])
        with library.Session() as s:
            track = s.get(Track, track.id) or track
    response.status_code = 201 if result.created else 200
    return {**library.describe(track), "created": result.created}


SORTS = {"newest": (Track.added_at.desc(), Track.id.desc()), "oldest": (Track.added_at, Track.id),
         "title": (func.lower(func.coalesce(Track.title, Track.original_name)), Track.id),
         "artist": (func.lower(func.coalesce(Track.artist, "~")), func.lower(func.coalesce(Track.title, Track.original_name)),
                    Track.id),
         "genre": (Track.genre, Track.id)}


@router.get("", response_model=TrackList, responses=errors(422))
def list_tracks(library: Lib, genre: Annotated[str | None, Query(max_length=64)] = None,
                mood: Annotated[Literal[MOODS] | None, Query(description="only tracks the tagger hears this mood "
                                                                           "in (see TrackOut.moods)")] = None,
                energy: Annotated[Literal["calm", "lively"] | None, Query(
                    description=f"only calm tracks (energy under {CALM}) or lively ones ({LIVELY} or more; see "
                                "TrackOut.energy)")] = None,
                q: Annotated[str | None, Query(max_length=200, description="words each found in the artist, title "
                                                                           "or file name")] = None,
                sort: Annotated[Literal["newest", "oldest", "title", "artist", "genre"], Query()] = "newest",
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> dict:
    """A page of tracks (newest first unless ``sort`` says), of one genre (any name the vocabulary knows) or
    all, matching ``q``; ``total`` counts every match."""
    with library.Session() as s:
        query = select(Track)
        if genre:
            query = query.where(Track.genre == library.vocabulary.resolve(genre))
        if mood:
            query = query.where(cast(Track.moods, String).like(f'%"{mood}"%'))     # a name among [[name, score]]
        if energy:
            query = query.where(Track.energy < CALM if energy == "calm" else Track.energy >= LIVELY)
        for word in (storable(q, 200) or "").split()[:8]:
            like = "%" + "".join(c for c in word.lower() if c not in "%_\\") + "%"     # plain words: LIKE's wildcards dropped
            query = query.where(or_(func.lower(Track.artist).like(like), func.lower(Track.title).like(like),
                                    func.lower(Track.original_name).like(like)))
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.scalars(query.order_by(*SORTS[sort]).limit(limit).offset(offset)).all()
    return {"tracks": [library.describe(t) for t in rows], "limit": limit, "offset": offset, "total": int(total or 0)}


def _track(library, track_id: int) -> Track:
    with library.Session() as s:
        t = s.get(Track, track_id)
    if t is None:
        raise HTTPException(404, f"no track {track_id}")
    return t


@router.get("/{track_id}", response_model=TrackOut, responses=errors(404, 422))
def get_track(track_id: TrackId, library: Lib) -> dict:
    return library.describe(_track(library, track_id))


@router.patch("/{track_id}", response_model=TrackOut, responses=errors(400, 401, 403, 404, 408, 413, 422, 429))
def correct_track(track_id: TrackId, body: Correction, user: Listener, state: State) -> dict:
    """Correct (or confirm) a track's genre, or give it a new genre of the library (``new``): the file moves to
    the genre's folder and the label counts as confirmed (``genrefuse learn LIBRARY`` learns from it). Only the listener who added the track or an
    admin may (403 for anyone else)."""
    track = state.library.relabel(track_id, body.genre, by=user, new=body.new)
    state.track_index.update(track)
    state.similar_index.update(track)
    return state.library.describe(track)


@router.delete("/{track_id}", response_model=TrackOut, responses=errors(401, 403, 404, 422, 429))
def remove_track(track_id: TrackId, user: Listener, state: State) -> dict:
    """Remove a track and its file (the listener who added it or an admin); answers the removed track."""
    track = state.library.remove(track_id, by=user)
    state.track_index.remove(track.id)
    state.similar_index.remove(track.id)
    return state.library.describe(track)


@router.get("/{track_id}/audio", response_class=FileResponse,
            responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "the stored file"},
                       **errors(404, 410, 422)})
def get_audio(track_id: TrackId, library: Lib) -> FileResponse:
    t = _track(library, track_id)
    path = library.audio_path(t)
    if not path.is_file():
        raise HTTPException(410, f"the file of track {track_id} is missing from the library")
    ext = path.suffix[1:]
    return FileResponse(path, media_type=MEDIA_TYPES.get(ext, "application/octet-stream"),
                        filename=f"{Path(t.original_name).stem}.{ext}")
