"""Both model inputs of one clip."""
from __future__ import annotations

import numpy as np

from .params import DEFAULT_PARAMS, FeatureParams
from .spectral import mel_input
from .table import table_vector


def clip_inputs(y: np.ndarray, *, params: FeatureParams = DEFAULT_PARAMS) -> tuple[np.ndarray, np.ndarray]:
    """The CNN input and the table features of a clip.

    Returns
    -------
    mel : np.ndarray, shape (n_mels, n_frames), float32 in [0, 1]
    table : np.ndarray, shape (57,), float64
    """
    return mel_input(y, params=params), table_vector(y, params=params)
