"""What a trusted service does before a request reaches the API: trusted Host names, same-origin writes,
an upload limit checked from the headers before a byte of the body is read, a time limit on slow or
lying request bodies, security headers on every response, a limit on wrong tokens per client, and
validation errors that never echo the request back."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MULTIPART_SLACK = 64 * 1024          # a multipart body's boundaries and part headers beside the file itself
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
# the offline API docs page loads its own assets and one inline start-up script
DOCS_PATHS = ("/docs", "/redoc")


class TokenFailures:
    """Wrong tokens per client address in a sliding window; past ``limit`` the client gets 429s."""

    def __init__(self, *, limit: int = 20, window: float = 60.0):
        self.limit, self.window = limit, window
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, q: deque, now: float) -> None:
        while q and now - q[0] > self.window:
            q.popleft()

    def blocked(self, client: str) -> bool:
        with self._lock:
            q = self._seen[client]
            self._trim(q, time.monotonic())
            return len(q) >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            q = self._seen[client]
            now = time.monotonic()
            self._trim(q, now)
            q.append(now)


class BodyTimeout:
    """ASGI middleware: a request body that stops arriving for ``idle`` seconds, or is not complete after
    ``total`` seconds, ends with 408 and a closed connection (uvicorn itself waits for ever, so a client
    that promises more bytes than it sends would hold a worker)."""

    def __init__(self, app, *, idle: float = 15.0, total: float = 300.0):
        self.app, self.idle, self.total = app, idle, total

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total
        timed_out = False

        async def timed_receive():
            nonlocal timed_out
            try:
                return await asyncio.wait_for(receive(), max(0.0, min(self.idle, deadline - loop.time())))
            except asyncio.TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}      # the app sees a client that went away

        replied = False

        async def reply_408():
            nonlocal replied
            replied = True
            body = json.dumps({"detail": f"the request body did not arrive in time (idle limit {self.idle:g} s, "
                                         f"total {self.total:g} s)"}).encode()
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        async def guarded_send(message):
            if not timed_out:
                return await send(message)
            if message["type"] == "http.response.start" and not replied:
                await reply_408()                      # the app's own reply to the "disconnect" is replaced

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
        if timed_out and not replied:
            await reply_408()


def install(app: FastAPI, *, max_upload_bytes: int, allowed_hosts: list[str], allowed_origins: list[str],
            body_idle_seconds: float = 15.0, body_total_seconds: float = 300.0) -> None:
    """Add the guards to ``app`` (the outermost runs first: hosts, body time limits, then origins and sizes)."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError):
        # FastAPI's own handler puts each bad input into the reply: a 10 MB body came back whole
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()[:20]]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        if request.method in WRITE_METHODS and not _same_origin(request, allowed_origins):
            return JSONResponse({"detail": "cross-origin writes are not allowed (see serve --allowed-origin)"},
                                status_code=403)
        if request.method == "POST" and request.url.path == "/api/tracks":
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > max_upload_bytes + MULTIPART_SLACK):
                return JSONResponse({"detail": f"larger than the {max_upload_bytes / 2**20:g} MB upload limit"},
                                    status_code=413, headers={"Connection": "close"})
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            if k == "Content-Security-Policy" and request.url.path.startswith(DOCS_PATHS):
                continue
            response.headers.setdefault(k, v)
        return response

    app.add_middleware(BodyTimeout, idle=body_idle_seconds, total=body_total_seconds)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)


def _same_origin(request: Request, allowed: list[str]) -> bool:
    """A write from a page of this server (or a listed origin), or from a client that sends no Origin."""
    origin = request.headers.get("origin")
    if origin is None:                 # curl, scripts, the CLI: not a browser page of another site
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")
