"""The HTTP service: upload -> classify -> file by genre -> recommend (FastAPI; docs at /docs, served
offline by fastapi-offline). Reading is open; uploads and feedback need a listener's token, correcting or
removing a track its uploader's or an admin's. One router per resource (:mod:`.routers`)."""

import contextlib
import errno
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

from fastapi import Depends, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from .. import __version__
from ..errors import (STORAGE_PROBLEMS, ConflictError, DataError, ForbiddenError, GoneError, NotFoundError, disk_full,
                      storage_problem)
from ..library.db import database_problem
from ..library.library import Library
from ..library.learning import confirmed_labels, relearn_if_corrected
from ..library.recommend import feedback_count, refit_collaborative, warm
from . import guards
from .deps import ServiceState, known_query_only
from .routers import genres, health, listeners, review, similar, tracks
from .settings import DEFAULTS, ServeSettings, is_loopback

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def create_app(library: Library, settings: ServeSettings = DEFAULTS, **overrides) -> FastAPIOffline:
    """The API and page over ``library`` with ``settings`` (``overrides``: fields of :class:`ServeSettings`
    to change, e.g. ``max_upload_mb=1``)."""
    settings = replace(settings, **overrides)
    state = ServiceState(library, settings)
    state.confirmed = confirmed_labels(library)     # corrections since then make a learned library learn again
    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        threading.Thread(target=read_ahead, name="index-read-ahead", daemon=True).start()
        if settings.refit_minutes > 0:
            threading.Thread(target=refit_loop, name="cf-refit", daemon=True).start()
        yield
        stop.set()

    def read_ahead() -> None:
        """Read the library into the recommendation and similar-track indexes at start, before a request needs
        them (a library of a million tracks takes tens of seconds); a request that comes first waits for the
        same read instead of starting its own."""
        started = time.monotonic()
        try:
            with library.Session() as s:
                state.track_index.refresh(s)
                state.similar_index.refresh(s)
        except Exception as exc:            # the first request reads it instead, and says what fails
            log.warning("could not read the library into memory ahead: %s: %s", type(exc).__name__, exc)
            return
        log.info("%d tracks (%d with embeddings) read into memory in %.1f s", len(state.track_index.ids),
                 len(state.similar_index), time.monotonic() - started)
        # then the latest listeners' recommendations, worked out as their requests would (once the similar-track
        # graph of a large library is in use): their first requests cost what their later ones do
        if not state.similar_index.wait_for_graph() and len(state.similar_index) >= settings.similar_graph_from:
            log.info("no similar-track graph: listeners' recommendations are not worked out ahead (comparing every "
                     "track for each would take minutes)")
            return
        started = time.monotonic()
        try:
            with library.Session() as s:
                n = warm(s, index=state.track_index, audio=state.similar_index, cf=state.collaborative["model"],
                         stop=stop)
        except Exception as exc:            # their first requests work it out instead
            log.warning("could not work out recommendations ahead: %s: %s", type(exc).__name__, exc)
            return
        log.info("recommendations of %d listeners worked out ahead in %.1f s", n, time.monotonic() - started)

    def refit_loop() -> None:
        while not stop.wait(settings.refit_minutes * 60):
            try:
                with library.Session() as s:
                    n = feedback_count(s)
                    if n != state.collaborative["feedback"]:
                        state.collaborative["model"], _ = refit_collaborative(s, library.dir)
                        state.collaborative["feedback"] = n
            except Exception as exc:        # a failed refit keeps the last model; the service goes on
                log.error("collaborative refit failed: %s: %s", type(exc).__name__, exc)
            try:
                state.confirmed = relearn_if_corrected(library, state.confirmed)
            except Exception as exc:        # the library keeps its last model
                log.error("re-learning the library's genres failed: %s: %s", type(exc).__name__, exc)

    app = FastAPIOffline(title="genrefuse", version=__version__, lifespan=lifespan,
                         description="Classify uploaded music by genre, file it in a library, recommend it to "
                                     "listeners. Uploads and feedback need a listener's token (Authorization: "
                                     "Bearer TOKEN); correcting or removing a track needs the token of the "
                                     "listener who added it or of an admin.")
    app.state.service = state
    for r in (tracks, similar, genres, review, listeners, health):
        app.include_router(r.router, dependencies=[Depends(known_query_only)])
    guards.install(app, max_upload_bytes=settings.max_upload_bytes, allowed_hosts=list(settings.allowed_hosts),
                   allowed_origins=list(settings.allowed_origins), body_idle_seconds=settings.body_idle_seconds,
                   body_total_seconds=settings.body_total_seconds, check_upload=state.user_for)

    @app.exception_handler(DataError)
    async def _data_error(_req: Request, exc: DataError):
        for kind, status in ((NotFoundError, 404), (ForbiddenError, 403), (ConflictError, 409), (GoneError, 410)):
            if isinstance(exc, kind):
                return JSONResponse({"detail": str(exc)}, status_code=status)
        return JSONResponse({"detail": [{"type": "value_error", "loc": [], "msg": str(exc)}]}, status_code=422)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(_req: Request, exc: SQLAlchemyError):
        if disk_full(exc):
            log.error("the database could not grow: %s", exc)
            return JSONResponse({"detail": STORAGE_PROBLEMS[errno.ENOSPC][1]}, status_code=507)
        message = database_problem(exc, str(library.engine.url)) or \
            f"the library's database failed ({type(exc).__name__}); nothing was changed"
        log.error("%s", message)
        return JSONResponse({"detail": message}, status_code=503)

    @app.exception_handler(OSError)
    async def _storage_error(_req: Request, exc: OSError):
        # a full disk (507), a read-only or vanished library (503), a name too long (422): one line, no 500;
        # every writer of the library leaves the old state or the new one
        status, message = storage_problem(exc)
        log.error("%s (%s)", message, exc)
        return JSONResponse({"detail": message}, status_code=status)

    @app.middleware("http")
    async def _library_present(request: Request, call_next):
        # before a write (and for health), the folder and database must be the ones opened: a library
        # deleted under the server would otherwise take uploads into an unlinked database
        if request.method in guards.WRITE_METHODS or request.url.path == "/api/health":
            problem = library.gone() or await run_in_threadpool(state.database_damage)
            if problem is not None:
                log.error("%s", problem)
                return JSONResponse({"detail": problem}, status_code=503)
        return await call_next(request)

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, _exc):
        # Starlette's Allow names only the first route of the path; FastAPI makes a route per method
        methods = set()
        for route in app.routes:
            if route.matches(request.scope)[0] != Match.NONE:
                methods |= getattr(route, "methods", None) or set()
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405,
                            headers={"Allow": ", ".join(sorted(methods - {"HEAD"}))})

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _check_port(host: str, port: int) -> None:
    """A :class:`DataError` naming the address when nothing can listen there (another server has it)."""
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)      # as uvicorn binds
            sock.bind(addr)
    except OSError as exc:
        busy = "another program (a running `genrefuse serve`?) is using it" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise DataError(f"cannot listen on {host}:{port}: {busy}; choose another with --port") from None


def serve(*, model_dir: str | Path, library_dir: str | Path, db_url: str | None = None, host: str = "127.0.0.1",
          port: int = 8000, aliases: dict[str, str] | None = None, write_tags: bool = False,
          settings: ServeSettings = DEFAULTS) -> None:
    """Run the service until interrupted."""
    import uvicorn

    from .connections import install_log_limits, protocol_with_deadline, raise_descriptor_limit

    _check_port(host, port)             # before a library is created or a model loaded for nothing
    settings = replace(settings, local=is_loopback(host))
    library = Library.open(library_dir, model_dir, db_url=db_url, aliases=aliases, write_tags=write_tags, create=True)
    library.model                       # loaded now, not by the first upload
    log.info("serving %s with model %s on http://%s:%s (API docs: /docs)", library.dir, library.model_id, host, port)
    if not settings.signup_open:
        log.info("sign-up is closed (%s): `genrefuse users add NAME --library %s` gives listeners their tokens",
                 "not a loopback address; --signup opens it" if settings.signup is None else "--no-signup", library.dir)
    app = create_app(library, settings)
    raise_descriptor_limit()
    install_log_limits()
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: a local client could then pose as any address
    trusted = list(settings.forwarded_allow_ips)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("GENREFUSE_LOG_LEVEL", "info"),
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
                http=protocol_with_deadline(settings.header_timeout_seconds),
                limit_concurrency=settings.max_connections)
