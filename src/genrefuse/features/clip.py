"""Both model inputs of one clip, by the fast path (default) or the librosa reference path."""
from __future__ import annotations

import numpy as np

from .params import DEFAULT_PARAMS, FeatureParams

METHODS = ("fast", "reference")


def clip_inputs(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS, method: str = "fast"
                ) -> tuple[np.ndarray, np.ndarray]:
    """The CNN input and the table features of a clip.

    ``method='fast'`` shares one STFT (``fast.py``); ``'reference'`` calls librosa feature by feature,
    as the public table's recipe does. Both give the same numbers (within 1e-6 of each column's
    standard deviation over the public table).

    Returns
    -------
    mel : np.ndarray, shape (n_mels, n_frames), float32 in [0, 1]
    table : np.ndarray, shape (57,), float64
    """
    if method == "fast":
        from .fast import fast_clip_inputs

        return fast_clip_inputs(y, params=params)
    if method == "reference":
        from .spectral import mel_input
        from .table import table_vector

        return mel_input(y, params=params), table_vector(y, params=params)
    raise ValueError(f"unknown feature method {method!r}; choose from {METHODS}")
