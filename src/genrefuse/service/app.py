"""The HTTP service: upload -> classify -> file by genre -> recommend (FastAPI; docs at /docs, served
offline by fastapi-offline). Reading is open; uploads, corrections and feedback need a listener's token."""

import contextlib
import os
import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends, File, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..errors import AudioError, ConflictError, DataError
from ..library import store
from ..library.db import Feedback, Track, User
from ..library.ingest import Library
from ..library.recommend import (TrackIndex, feedback_count, give_feedback, load_collaborative, recommend,
                                 refit_collaborative)
from ..library.users import create_user, user_by_token
from . import guards

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_MB = 50
DEFAULT_MAX_ANALYSES = 2  # uploads analysed at once; more wait their turn, so memory stays bounded
MAX_ID = 2**63 - 1        # the databases' INTEGER range: a larger id or offset is a 422, never an overflow
TrackId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
MEDIA_TYPES = {"wav": "audio/wav", "au": "audio/basic", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    likes: list[str] = Field(default_factory=list)


class Correction(BaseModel):
    genre: str = Field(min_length=1, max_length=64, description="the right genre (any name or alias the model knows)")


class NewFeedback(BaseModel):
    track_id: int = Field(ge=1, le=MAX_ID)
    action: str = Field(pattern="^(like|skip)$")


def create_app(library: Library, *, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
               allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None,
               signup: bool = True, max_analyses: int = DEFAULT_MAX_ANALYSES,
               body_idle_seconds: float = 15.0, body_total_seconds: float = 300.0,
               refit_minutes: float = 10.0) -> FastAPIOffline:
    """The API and page over ``library``. ``allowed_hosts``: Host names it answers (default: localhost
    names; '*' for any); ``allowed_origins``: other sites' pages that may write (default: none);
    ``signup``: whether anyone who reaches the server may create a listener (else only
    ``genrefuse users add`` can); ``max_analyses``: uploads classified at once; ``refit_minutes``: how
    often the collaborative model is refitted in the background when feedback changed (0: never)."""
    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        if refit_minutes > 0:
            threading.Thread(target=refit_loop, name="cf-refit", daemon=True).start()
        yield
        stop.set()

    app = FastAPIOffline(title="genrefuse", version="0.1.0", lifespan=lifespan,
                         description="Classify uploaded music by genre, file it in a library, recommend it to "
                                     "listeners. Uploads, corrections and feedback need a listener's token "
                                     "(Authorization: Bearer TOKEN).")
    app.state.library = library
    max_bytes = int(max_upload_mb * 1024 * 1024)
    bearer = HTTPBearer(auto_error=False)
    failures = guards.TokenFailures()
    analyses = threading.BoundedSemaphore(max(1, max_analyses))
    track_index = TrackIndex(library.genres)     # kept in memory, topped up per request
    collaborative = {"model": load_collaborative(library.dir), "feedback": -1}

    def refit_loop() -> None:
        while not stop.wait(refit_minutes * 60):
            try:
                with library.Session() as s:
                    n = feedback_count(s)
                    if n != collaborative["feedback"]:
                        collaborative["model"], _ = refit_collaborative(s, library.dir)
                        collaborative["feedback"] = n
            except Exception as exc:        # a failed refit keeps the last model; the service goes on
                print(f"genrefuse: collaborative refit failed: {type(exc).__name__}: {exc}", flush=True)

    guards.install(app, max_upload_bytes=max_bytes, allowed_hosts=list(allowed_hosts or guards.LOCAL_HOSTS),
                   allowed_origins=list(allowed_origins or []), body_idle_seconds=body_idle_seconds,
                   body_total_seconds=body_total_seconds)

    def current_user(request: Request,
                     cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
        client = request.client.host if request.client else "?"
        if failures.blocked(client):
            raise HTTPException(429, "too many wrong tokens from this address; wait a minute",
                                headers={"Retry-After": str(int(failures.window))})
        with library.Session() as s:
            user = user_by_token(s, cred.credentials if cred else None)
        if user is None:
            if cred is not None:
                failures.failed(client)
            raise HTTPException(401, "missing or invalid API token (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})
        return user

    @app.exception_handler(DataError)
    async def _data_error(_req: Request, exc: DataError):
        return JSONResponse({"detail": str(exc)}, status_code=409 if isinstance(exc, ConflictError) else 422)

    @app.get("/api/health")
    def health() -> dict:
        with library.Session() as s:
            n = len(s.scalars(select(Track.id).limit(1)).all())
        return {"status": "ok", "model": library.model_id, "genres": library.genres, "database": n >= 0,
                "min_confidence": library.min_confidence, "signup": signup}

    @app.post("/api/tracks", status_code=201)
    def upload(file: Annotated[UploadFile, File(description="an audio file: wav, au, flac, ogg or mp3")],
               user: Annotated[User, Depends(current_user)]) -> JSONResponse:
        name = Path(file.filename or "upload").name
        tmp = store.incoming_path(library.dir, f".{store.safe_ext(name)}")
        size = 0
        try:
            with open(tmp, "wb") as out:
                while block := file.file.read(1 << 20):
                    size += len(block)
                    if size > max_bytes:
                        raise HTTPException(413, f"{name}: larger than the {max_upload_mb:g} MB upload limit")
                    out.write(block)
            if size == 0:
                raise HTTPException(400, f"{name}: empty file")
            try:
                with analyses:
                    result = library.ingest(tmp, original_name=name, owned=True, added_by=user.id)
            except AudioError as exc:
                raise HTTPException(415, str(exc)) from None
        finally:
            tmp.unlink(missing_ok=True)
        body = {**library.describe(result.track), "created": result.created}
        return JSONResponse(body, status_code=201 if result.created else 200)

    @app.get("/api/tracks")
    def list_tracks(genre: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> dict:
        with library.Session() as s:
            q = select(Track)
            if genre:
                q = q.where(Track.genre == library.vocabulary.resolve(genre))
            rows = s.scalars(q.order_by(Track.added_at.desc(), Track.id.desc()).limit(limit).offset(offset)).all()
        return {"tracks": [library.describe(t) for t in rows], "limit": limit, "offset": offset}

    def _track(track_id: TrackId) -> Track:
        with library.Session() as s:
            t = s.get(Track, track_id)
        if t is None:
            raise HTTPException(404, f"no track {track_id}")
        return t

    @app.get("/api/tracks/{track_id}")
    def get_track(track_id: TrackId) -> dict:
        return library.describe(_track(track_id))

    @app.patch("/api/tracks/{track_id}")
    def correct_track(track_id: TrackId, body: Correction, _user: Annotated[User, Depends(current_user)]) -> dict:
        """Correct (or confirm) a track's genre: the file moves to the genre's folder, the label counts as
        confirmed (``genrefuse train LIBRARY`` learns from it)."""
        try:
            track = library.relabel(track_id, body.genre)
            track_index.update(track)
            return library.describe(track)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/tracks/{track_id}/audio")
    def get_audio(track_id: TrackId) -> FileResponse:
        t = _track(track_id)
        path = library.audio_path(t)
        if not path.is_file():
            raise HTTPException(410, f"the file of track {track_id} is missing from the library")
        ext = path.suffix[1:]
        return FileResponse(path, media_type=MEDIA_TYPES.get(ext, "application/octet-stream"),
                            filename=f"{Path(t.original_name).stem}.{ext}")

    @app.get("/api/genres")
    def genres() -> dict:
        return {"genres": [{"genre": g, "count": n} for g, n in library.genre_counts().items()]}

    @app.post("/api/users", status_code=201)
    def new_user(body: NewUser) -> dict:
        if not signup:
            raise HTTPException(403, "sign-up is closed on this server: ask its owner for a token "
                                     "(genrefuse users add NAME --library LIBRARY)")
        with library.Session() as s:
            user, token = create_user(s, body.name, body.likes, library.vocabulary)
            return {"id": user.id, "name": user.name, "token": token, "likes": sorted(user.weights())}

    @app.get("/api/me")
    def me(user: Annotated[User, Depends(current_user)]) -> dict:
        with library.Session() as s:
            u = s.get(User, user.id)
            return {"id": u.id, "name": u.name, "weights": u.weights()}

    @app.get("/api/me/recommendations")
    def my_recommendations(user: Annotated[User, Depends(current_user)],
                           limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        with library.Session() as s:
            return {"recommendations": recommend(s, s.get(User, user.id), limit=limit, index=track_index,
                                                 cf=collaborative["model"], describe=library.describe)}

    @app.post("/api/me/feedback")
    def my_feedback(body: NewFeedback, user: Annotated[User, Depends(current_user)]) -> dict:
        with library.Session() as s:
            try:
                weights = give_feedback(s, s.get(User, user.id), body.track_id, body.action)
            except LookupError as exc:
                raise HTTPException(404, str(exc)) from None
            return {"track_id": body.track_id, "action": body.action, "weights": weights}

    @app.get("/api/me/feedback")
    def my_feedback_list(user: Annotated[User, Depends(current_user)]) -> dict:
        with library.Session() as s:
            rows = s.execute(select(Feedback, Track).join(Track, Track.id == Feedback.track_id)
                             .where(Feedback.user_id == user.id).order_by(Feedback.id.desc())).all()
            return {"feedback": [{"track_id": f.track_id, "action": f.action, "track": library.describe(t)}
                                 for f, t in rows]}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(*, model_dir: str | Path, library_dir: str | Path, db_url: str | None = None, host: str = "127.0.0.1",
          port: int = 8000, aliases: dict[str, str] | None = None, write_tags: bool = False, **options) -> None:
    """Run the service (``options``: those of :func:`create_app`)."""
    import uvicorn

    library = Library.open(library_dir, model_dir, db_url=db_url, aliases=aliases, write_tags=write_tags)
    from ..features.warmup import warm_up

    warm_up()
    library.model                       # loaded now, not by the first upload
    print(f"genrefuse serving {library.dir} with model {library.model_id} on http://{host}:{port} (API docs: /docs)")
    app = create_app(library, **options)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("GENREFUSE_LOG_LEVEL", "info"))
