"""Progress bars: live on a terminal, a line every ``LOG_INTERVAL`` seconds when output goes to a log."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

LOG_INTERVAL = 15.0     # seconds between lines when stderr is not a terminal (a tqdm refresh is one line there)


def progress_bar(iterable=None, *, progress: bool = True, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)``, off unless ``progress``; refreshed rarely in logs."""
    from tqdm.auto import tqdm          # here: tqdm.auto imports asyncio, which the CLI's start-up need not pay

    if not _is_terminal():
        kwargs.setdefault("mininterval", LOG_INTERVAL)
    return tqdm(iterable, disable=not progress, dynamic_ncols=True, **kwargs)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):     # replaced or closed stderr
        return False
