"""Compile librosa's numba functions once, in one process, before worker processes start.

On a fresh install several processes compiling and caching the same numba functions at once
crashed a worker (a segfault in a numba gufunc). Warming up in the parent first means workers only
read the cache.
"""
from __future__ import annotations

import numpy as np

_done = False


def warm_up() -> None:
    """Run every feature once on a short signal (about 40 s the first time after install, then < 1 s)."""
    global _done
    if _done:
        return
    from .clip import clip_inputs
    from .params import DEFAULT_PARAMS

    rng = np.random.default_rng(0)
    t = np.arange(3 * DEFAULT_PARAMS.sr) / DEFAULT_PARAMS.sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    clip_inputs(y, method="reference")
    clip_inputs(y, method="fast")
    _done = True
