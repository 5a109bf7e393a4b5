"""One cache of computed inputs for every face: arrays per (identity, recipe), one safetensors file each,
written whole and then renamed into place, read back only when whole and of the expected shapes.

The identity is what names the audio: the hash of its decoded samples (``fingerprint.audio_hash``) for a
library's and the beets plugin's tracks, whose tags change their bytes but not their audio; a dataset's own
key for training files (their content hash: decoding every training file only to look its entry up would
cost more than the cache saves). The recipe names what was computed (feature parameters, window policy,
the recipes' versions), so a change of recipe is a miss, never a wrong answer.

Layout: ``FOLDER/<recipe>/<id[:2]>/<id>.safetensors``. Users: the library's ``.features``
(:mod:`genrefuse.library.features`), the beets plugin's ``~/.cache/genrefuse/beets``, the training feature
cache (:class:`genrefuse.datasets.cache.FeatureCache`) and the dataset taggram cache
(:mod:`genrefuse.datasets.tags`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_path
from .track import ModelInputs


class ArrayCache:
    """Named arrays per ``(identity, recipe)`` under ``folder``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, identity: str, recipe: str) -> Path:
        return self.folder / recipe / identity[:2] / f"{identity}.safetensors"

    def has(self, identity: str, recipe: str) -> bool:
        return self.path(identity, recipe).is_file()

    def put(self, identity: str, recipe: str, **arrays: np.ndarray) -> Path:
        from safetensors.numpy import save_file

        path = self.path(identity, recipe)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, suffix=".safetensors") as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp))
        return path

    def get(self, identity: str, recipe: str) -> dict[str, np.ndarray] | None:
        """The entry's arrays, or None when there is none or it cannot be read (a damaged or foreign file)."""
        path = self.path(identity, recipe)
        if not path.is_file():
            return None
        from safetensors.numpy import load_file

        try:
            return load_file(str(path))
        except (OSError, ValueError, RuntimeError):
            return None


def put_inputs(cache: ArrayCache, identity: str, recipe: str, inputs: ModelInputs) -> Path | None:
    """Cache a track's table ``(n_windows, 57)`` and taggram ``(n_windows, 100)`` rows, and the MTT tagger's
    ``(n_windows, 50)`` and the penultimate features' summary ``(n_windows, 400)`` where computed (nothing for
    inputs without a taggram: Mel inputs are large and quick to remake)."""
    if inputs.tags is None:
        return None
    heard = {} if inputs.mtt is None else {"mtt": np.asarray(inputs.mtt, np.float32)}
    if inputs.deep is not None:
        heard["deep"] = np.asarray(inputs.deep, np.float32)
    return cache.put(identity, recipe, table=np.asarray(inputs.table, np.float64),
                     tags=np.asarray(inputs.tags, np.float32), **heard)


def get_inputs(cache: ArrayCache, identity: str, recipe: str) -> ModelInputs | None:
    """A track's cached rows, or None (none cached, or not rows of this recipe's shapes)."""
    arrays = cache.get(identity, recipe)
    if arrays is None or "table" not in arrays or "tags" not in arrays:
        return None
    table, tags = arrays["table"], arrays["tags"]
    if table.ndim != 2 or table.shape[1] != 57 or tags.shape != (len(table), 100):
        return None
    mtt, deep = arrays.get("mtt"), arrays.get("deep")
    return ModelInputs(table, tags=tags, mtt=mtt if mtt is not None and mtt.shape == (len(table), 50) else None,
                       deep=deep if deep is not None and deep.shape == (len(table), 400) else None)


def complete(inputs: ModelInputs | None, bundle) -> bool:
    """Whether cached ``inputs`` hold all that ``bundle``'s model and rules read (rows cached before the MTT
    tagger was heard, or before the penultimate features were an input, are not)."""
    return inputs is not None and not (bundle.uses_tags and inputs.mtt is None) and \
        not (bundle.uses_deep and inputs.deep is None)
