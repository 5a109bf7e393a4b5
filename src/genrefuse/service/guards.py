"""What a trusted service does before a request reaches the API: trusted Host names, same-origin writes,
an upload's token and declared size checked before a byte of its body is read, body sizes counted as they
arrive and time limits on slow or lying bodies, security headers on every response, per-client limits
(wrong tokens, sign-ups), and validation errors that never echo the request back."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware

UPLOAD_PATH = "/api/tracks"
MAX_BODY_BYTES = 1 << 20             # any other request body (JSON) is small
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


class ClientLimiter:
    """Events per client address in a sliding window (wrong tokens, sign-ups); past ``limit`` a client is
    refused until its oldest event is ``window`` seconds old. The table is bounded: addresses not seen for a
    window are forgotten, and past ``max_clients`` the least recently seen go first."""

    def __init__(self, *, limit: int, window: float, max_clients: int = 10_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._seen: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def _events(self, client: str, now: float) -> deque:
        q = self._seen.get(client)
        if q is None:
            q = self._seen[client] = deque()
        self._seen.move_to_end(client)
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def _forget(self, now: float) -> None:
        while self._seen:
            oldest, q = next(iter(self._seen.items()))
            if len(self._seen) > self.max_clients or not q or now - q[-1] > self.window:
                del self._seen[oldest]
            else:
                break

    def blocked(self, client: str) -> bool:
        with self._lock:
            now = time.monotonic()
            blocked = len(self._events(client, now)) >= self.limit
            self._forget(now)
            return blocked

    def record(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._events(client, now).append(now)
            self._forget(now)

    def __len__(self) -> int:
        return len(self._seen)


class BodyLimits:
    """ASGI middleware for request bodies, counted as they arrive (with a Content-Length or chunked): a body
    larger than ``max_bytes(scope)`` ends with 413 at the byte that passes the limit, one that stops arriving
    for ``idle`` seconds or is not complete after ``total`` seconds with 408; either way the connection is
    closed and the app sees a client that went away, so nothing past the limit is read or stored (uvicorn
    itself waits for ever and reads any length)."""

    def __init__(self, app, *, idle: float, total: float, max_bytes: Callable[[dict], int]):
        self.app, self.idle, self.total, self.max_bytes = app, idle, total, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total
        limit = self.max_bytes(scope)
        received = 0
        stopped: tuple[int, str] | None = None      # the status and reason that replace the app's answer

        async def limited_receive():
            nonlocal received, stopped
            if stopped:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), max(0.0, min(self.idle, deadline - loop.time())))
            except asyncio.TimeoutError:
                stopped = (408, f"the request body did not arrive in time (idle limit {self.idle:g} s, "
                                f"total {self.total:g} s)")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    stopped = (413, f"the request body is larger than the limit of {limit / 2**20:.2f} MB")
                    return {"type": "http.disconnect"}
            return message

        replied = False

        async def reply():
            nonlocal replied
            replied = True
            status, detail = stopped
            await send_json(send, status, {"detail": detail}, close=True)

        async def guarded_send(message):
            if not stopped:
                return await send(message)
            if message["type"] == "http.response.start" and not replied:
                await reply()                          # the app's own reply to the "disconnect" is replaced

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not stopped:
                raise
        if stopped and not replied:
            await reply()


class UploadAuth:
    """ASGI middleware: an upload's token is checked before a byte of its body is read (FastAPI reads a
    form before it runs the route's dependencies), with ``check(headers, client)``, which raises
    :class:`HTTPException` (401, 429) for a request that may not upload."""

    def __init__(self, app, *, check: Callable):
        self.app, self.check = app, check

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") == UPLOAD_PATH:
            headers = Headers(scope=scope)
            client = (scope.get("client") or ("?", 0))[0]
            try:
                await run_in_threadpool(self.check, headers.get("authorization"), client)
            except HTTPException as exc:
                return await send_json(send, exc.status_code, {"detail": exc.detail}, close=True,
                                       headers=exc.headers)
        return await self.app(scope, receive, send)


async def send_json(send, status: int, body: dict, *, close: bool = False, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def install(app: FastAPI, *, max_upload_bytes: int, allowed_hosts: list[str], allowed_origins: list[str],
            body_idle_seconds: float, body_total_seconds: float, check_upload: Callable) -> None:
    """Add the guards to ``app`` (the outermost runs first: hosts, body limits, origins and declared sizes,
    then the upload's token; ``check_upload(authorization, client)`` raises for a request that may not upload)."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError):
        # FastAPI's own handler puts each bad input into the reply: a 10 MB body came back whole
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()[:20]]
        return JSONResponse({"detail": errors}, status_code=422)

    upload_limit = max_upload_bytes + MULTIPART_SLACK
    app.add_middleware(UploadAuth, check=check_upload)     # each middleware added wraps those before it

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        if request.method in WRITE_METHODS and not _same_origin(request, allowed_origins):
            return JSONResponse({"detail": "cross-origin writes are not allowed (see serve --allowed-origin)"},
                                status_code=403)
        if request.method == "POST" and request.url.path == UPLOAD_PATH:
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > upload_limit):
                return JSONResponse({"detail": f"larger than the {max_upload_bytes / 2**20:g} MB upload limit"},
                                    status_code=413, headers={"Connection": "close"})
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            if k == "Content-Security-Policy" and request.url.path.startswith(DOCS_PATHS):
                continue
            response.headers.setdefault(k, v)
        return response

    app.add_middleware(BodyLimits, idle=body_idle_seconds, total=body_total_seconds,
                       max_bytes=lambda scope: upload_limit if scope.get("path") == UPLOAD_PATH else MAX_BODY_BYTES)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)


def _same_origin(request: Request, allowed: list[str]) -> bool:
    """A write from a page of this server (or a listed origin), or from a client that sends no Origin. The
    scheme counts too: a plain-http server's own pages are never ``https://``."""
    origin = request.headers.get("origin")
    if origin is None:                 # curl, scripts, the CLI: not a browser page of another site
        return True
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme == request.url.scheme and parts.netloc == request.headers.get("host", "")
