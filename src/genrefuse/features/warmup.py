"""Compile librosa's numba functions once, in one process, before worker processes start.

On a fresh install several processes compiling and caching the same numba functions at once
crashed a worker (a segfault in a numba gufunc). Warming up in the parent first means workers only
read the cache.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

_done = False


def warm_up() -> None:
    """Run every feature once on a short signal (about 40 s the first time after install, then < 1 s)."""
    global _done
    if _done:
        return
    from .clip import clip_inputs
    from .params import DEFAULT_PARAMS

    # the first run after installing compiles for about 40 s: say so rather than sit silent
    note = threading.Timer(NOTE_AFTER, lambda: print(
        "genrefuse: preparing the audio features (compiling once after installing, about 40 s; later runs skip "
        "this)...", file=sys.stderr, flush=True))
    note.daemon = True
    note.start()
    try:
        _exercise(clip_inputs, DEFAULT_PARAMS)
    finally:
        note.cancel()
    _done = True


NOTE_AFTER = 2.0      # seconds of warming up after which the user is told why nothing happens yet


def _exercise(clip_inputs, params) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(3 * params.sr) / params.sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    clip_inputs(y, method="reference")
    clip_inputs(y, method="fast")
