"""Connection hygiene for `genrefuse serve` (uvicorn): a deadline for a request's head, as many descriptors as
the system allows, and the event loop's accept errors logged once per interval rather than once per attempt.

uvicorn closes idle keep-alive connections but waits for ever on a connection that sends half a request
head; thousands of those use up the process's file descriptors, after which every accept fails and asyncio
logs a traceback for each failure (158 MB in a minute, measured).
"""
from __future__ import annotations

import asyncio
import logging
import time

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline: a connection that has not sent a whole request head
    ``header_timeout`` seconds after it opened, or after its previous response, is closed."""

    header_timeout = 10.0           # set by :func:`protocol_with_deadline`

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.header_timeout, self._expire, self.cycle)

    def _expire(self, cycle) -> None:
        # no new request began since the deadline was set (a request in progress has its own body limits)
        if self.cycle is cycle and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
        super().connection_lost(exc)


def protocol_with_deadline(seconds: float) -> type[H11Protocol]:
    return type("HeaderDeadlineProtocol", (HeaderDeadline,), {"header_timeout": float(seconds)})


class OncePerInterval(logging.Filter):
    """Let a record whose message starts with one of ``prefixes`` through once per ``interval`` seconds,
    with the count of those held back since."""

    def __init__(self, prefixes: tuple[str, ...], interval: float = 60.0):
        super().__init__()
        self.prefixes, self.interval = prefixes, interval
        self._last: float = -1e9
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefixes):
            return True
        now = time.monotonic()
        if now - self._last < self.interval:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} more like it in the last {self.interval:g} s)"
        record.exc_info, record.exc_text = None, None      # the traceback is always the same one
        self._last, self._held = now, 0
        return True


# what asyncio logs when accept() fails for want of descriptors or memory
ACCEPT_ERRORS = ("socket.accept() out of system resource", "Error on reading from the event loop self pipe")


def install_log_limits(interval: float = 60.0) -> OncePerInterval:
    flt = OncePerInterval(ACCEPT_ERRORS, interval)
    logging.getLogger("asyncio").addFilter(flt)
    return flt


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; returns the limit in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
