"""What the routers share, through FastAPI dependencies: the service's state (the library, its settings,
limits and in-memory indexes) and the listener a request's token names."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..library.db import User
from ..library.ingest import Library
from ..library.recommend import TrackIndex, load_collaborative
from ..library.users import user_by_token
from .guards import ClientLimiter
from .settings import ServeSettings


@dataclass
class ServiceState:
    library: Library
    settings: ServeSettings
    wrong_tokens: ClientLimiter = field(init=False)
    signups: ClientLimiter = field(init=False)
    analyses: threading.BoundedSemaphore = field(init=False)
    track_index: TrackIndex = field(init=False)        # kept in memory, topped up per request
    collaborative: dict = field(init=False)
    confirmed: str = ""                 # digest of the confirmed labels when the library last learned

    def __post_init__(self) -> None:
        self.wrong_tokens = ClientLimiter(limit=self.settings.wrong_tokens_per_minute, window=60.0)
        self.signups = ClientLimiter(limit=self.settings.signups_per_hour, window=3600.0)
        self.analyses = threading.BoundedSemaphore(max(1, self.settings.max_analyses))
        self.track_index = TrackIndex(self.library.genres)
        self.collaborative = {"model": load_collaborative(self.library.dir), "feedback": -1}

    def user_for(self, authorization: str | None, client: str) -> User:
        """The listener of an ``Authorization: Bearer TOKEN`` header. A valid token is always accepted; a
        client that sent too many wrong ones gets 429 for the next, anyone else without a valid one 401."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if token:
            with self.library.Session() as s:
                user = user_by_token(s, token)
            if user is not None:
                return user
            if self.wrong_tokens.blocked(client):
                raise HTTPException(429, "too many wrong tokens from this address; wait a minute",
                                    headers={"Retry-After": str(int(self.wrong_tokens.window))})
            self.wrong_tokens.record(client)
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
