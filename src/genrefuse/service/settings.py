"""The service's settings and their defaults, in one place: ``genrefuse serve``'s flags take their defaults
from here, and :func:`~genrefuse.service.app.create_app` takes one :class:`ServeSettings`."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


@dataclass(frozen=True)
class ServeSettings:
    max_upload_mb: float = 50.0            # an upload's size limit, counted as the body arrives
    max_analyses: int = 2                  # uploads classified at once; the rest wait (about 0.5 GB each at worst)
    body_idle_seconds: float = 15.0        # a request body that stalls this long gets 408
    body_total_seconds: float = 300.0      # ... or that is not complete after this long
    refit_minutes: float = 10.0            # the collaborative model is refitted this often when feedback changed
    signup: bool | None = None             # anyone who reaches the page may create a listener (None: only when
                                           # served on a loopback address)
    signups_per_hour: int = 10             # sign-ups from one client address (the rest get 429)
    signups_per_hour_total: int = 30       # ... and from all addresses together
    wrong_tokens_per_minute: int = 20      # wrong tokens from one client address before 429s
    wrong_tokens_per_minute_total: int = 200   # ... and from all addresses together (then every token check waits)
    local: bool = True                     # served on a loopback address only (set by `serve` from --host)
    header_timeout_seconds: float = 10.0   # a connection that has not sent a whole request head by then is closed
    max_connections: int = 512             # connections served at once; past it new ones get 503
    database_check_seconds: float = 30.0   # SQLite's quick check before writes and health, at most this often
    similar_graph_from: int = 100_000      # embedded tracks from which similar tracks come from an approximate
                                           # graph (library.approximate), built in the background
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    allowed_origins: tuple[str, ...] = ()
    forwarded_allow_ips: tuple[str, ...] = field(default=())   # proxies whose X-Forwarded-For is believed

    @property
    def signup_open(self) -> bool:
        return self.local if self.signup is None else self.signup

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


DEFAULTS = ServeSettings()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (what `serve --host` names) is reachable from this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
