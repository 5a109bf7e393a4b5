"""What the routers share, through FastAPI dependencies: the service's state (the library, its settings,
limits and in-memory indexes) and the listener a request's token names."""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sqlalchemy.exc import SQLAlchemyError

from ..library.db import User, database_problem
from ..library.library import Library
from ..library.recommend import TrackIndex, load_collaborative
from ..library.similar import SimilarIndex
from ..library.users import user_by_token
from .guards import ClientLimiter
from .settings import ServeSettings


ALL = "*"          # the key under which a limiter counts every client address together


@dataclass
class ServiceState:
    library: Library
    settings: ServeSettings
    wrong_tokens: ClientLimiter = field(init=False)
    wrong_tokens_total: ClientLimiter = field(init=False)     # every address together, under the key ALL
    signups: ClientLimiter = field(init=False)
    signups_total: ClientLimiter = field(init=False)
    analyses: threading.BoundedSemaphore = field(init=False)
    track_index: TrackIndex = field(init=False)        # kept in memory, topped up per request
    similar_index: SimilarIndex = field(init=False)    # the tracks' embeddings, in memory, topped up per request
    collaborative: dict = field(init=False)
    confirmed: str = ""                 # digest of the confirmed labels when the library last learned
    _checked: tuple = (-1e9, None)      # (when, what) the last quick check of the database found

    def __post_init__(self) -> None:
        self.wrong_tokens = ClientLimiter(limit=self.settings.wrong_tokens_per_minute, window=60.0)
        self.wrong_tokens_total = ClientLimiter(limit=self.settings.wrong_tokens_per_minute_total, window=60.0)
        self.signups = ClientLimiter(limit=self.settings.signups_per_hour, window=3600.0)
        self.signups_total = ClientLimiter(limit=self.settings.signups_per_hour_total, window=3600.0)
        self.analyses = threading.BoundedSemaphore(max(1, self.settings.max_analyses))
        self.track_index = TrackIndex(self.library.genres)
        self.similar_index = SimilarIndex(approximate=True, approximate_from=self.settings.similar_graph_from)
        self.collaborative = {"model": load_collaborative(self.library.dir), "feedback": -1}

    def database_damage(self) -> str | None:
        """What SQLite's own quick check finds wrong with the library's database, or None. It runs on a
        connection of its own, since pages overwritten under a running server still read well from the
        pool's caches; at most once per ``settings.database_check_seconds``, the last answer kept meanwhile."""
        now = time.monotonic()
        if now - self._checked[0] < self.settings.database_check_seconds:
            return self._checked[1]
        url = self.library.engine.url
        problem = None
        if url.get_backend_name() == "sqlite" and url.database:
            import sqlite3

            try:
                with contextlib.closing(sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, timeout=5)) as db:
                    found = [r for (r,) in db.execute("PRAGMA quick_check(3)") if r != "ok"]
            except sqlite3.Error as exc:
                found = [str(exc)]
            if found:
                problem = (f"{url.database}: the library's database is damaged ({found[0][:200]}); nothing is "
                           f"stored; restore a backup and see `genrefuse library check --library {Path(url.database).parent}`")
        self._checked = (now, problem)
        return problem

    def user_for(self, authorization: str | None, client: str) -> User:
        """The listener of an ``Authorization: Bearer TOKEN`` header, else 401. A client that sent too many
        wrong tokens gets 429 without its token being looked at (a right guess is no better than a wrong
        one), and so does everyone while the server as a whole receives too many; 503 when the database
        cannot be read."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if token:
            for limiter, key, whose in ((self.wrong_tokens, client, "this address"),
                                        (self.wrong_tokens_total, ALL, "all addresses")):
                if limiter.blocked(key):
                    raise HTTPException(429, f"too many wrong tokens from {whose}; wait a minute",
                                        headers={"Retry-After": str(int(limiter.window))})
            try:
                with self.library.Session() as s:
                    user = user_by_token(s, token)
            except SQLAlchemyError as exc:
                message = database_problem(exc, str(self.library.engine.url)) or "the library's database fails"
                raise HTTPException(503, message) from None
            if user is not None:
                return user
            self.wrong_tokens.record(client)
            self.wrong_tokens_total.record(ALL)
        raise HTTPException(401, "missing or invalid API token (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})


def client_address(request: Request) -> str:
    """The peer's address (a proxy's X-Forwarded-For only when serve --forwarded-allow-ips trusts it)."""
    return request.client.host if request.client else "?"


def get_state(request: Request) -> ServiceState:
    return request.app.state.service


def get_library(request: Request) -> Library:
    return request.app.state.service.library


_bearer = HTTPBearer(auto_error=False)     # declares the scheme in the schema; the check is ours


def current_user(request: Request, state: Annotated[ServiceState, Depends(get_state)],
                 _cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    return state.user_for(request.headers.get("authorization"), client_address(request))


State = Annotated[ServiceState, Depends(get_state)]
Lib = Annotated[Library, Depends(get_library)]
Listener = Annotated[User, Depends(current_user)]


def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take (``?genra=rock`` would otherwise list everything)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {q.alias for q in _all_query_params(dependant)}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError([{"type": "extra_forbidden", "loc": ["query", name],
                                       "msg": f"unknown query parameter {name!r}"} for name in unknown[:20]])


def _all_query_params(dependant):
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _all_query_params(sub)
