"""Progress bars: live on a terminal's stderr, and nowhere else (a bar written into a log or a file that
also holds results runs into their lines; a command's results and its log say what was done)."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

def progress_bar(iterable=None, *, progress: bool = True, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)``, drawn only when ``progress`` and stderr is a terminal."""
    from tqdm.auto import tqdm          # here: tqdm.auto imports asyncio, which the CLI's start-up need not pay

    return tqdm(iterable, disable=not progress or not _is_terminal(), dynamic_ncols=True, **kwargs)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):     # replaced or closed stderr
        return False
