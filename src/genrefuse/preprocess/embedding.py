"""A track's audio embedding for "music like this": what the two musicnn taggers hear, as one unit vector.

The embedding is the MSD tagger's 50 mean tag scores beside the MTT tagger's 50 (both heard on the same 3 s
patches by :func:`~genrefuse.preprocess.track.track_inputs`), each half scaled to unit length and the whole
to unit length again, so that the dot product of two embeddings is their cosine similarity and each tagger
weighs the same. Chosen by ``benchmarks/similar.py`` among the taggers' tags and penultimate layers, alone
and together (real-dev and GTZAN's published taggrams); :data:`RECIPE` names it, and a stored embedding of
another recipe is made again.
"""
from __future__ import annotations

import numpy as np

from ..features.params import RECIPE_VERSIONS

RECIPE = f"tags:{RECIPE_VERSIONS['taggram']}+{RECIPE_VERSIONS['mtt']}:unit-1"
DIM = 100


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def embed(msd: np.ndarray, mtt: np.ndarray) -> np.ndarray:
    """``(100,)`` float32 unit vector of the taggers' mean tags ``(50,)`` each."""
    msd, mtt = np.asarray(msd, np.float64).reshape(-1), np.asarray(mtt, np.float64).reshape(-1)
    if msd.shape != (50,) or mtt.shape != (50,):
        raise ValueError(f"an embedding takes 50 MSD and 50 MTT tag scores, not {msd.shape} and {mtt.shape}")
    return _unit(np.concatenate([_unit(msd), _unit(mtt)])).astype(np.float32)


def embedding(inputs) -> np.ndarray | None:
    """The embedding of a track's :class:`~genrefuse.preprocess.track.ModelInputs` (its first row: the
    track's taggram summary and MTT tags repeat on every window), or None where either tagger was not heard."""
    if inputs.tags is None or inputs.mtt is None or not len(inputs.tags):
        return None
    return embed(inputs.tags[0, :50], inputs.mtt[0])
