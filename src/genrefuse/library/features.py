"""The features of every library track, cached with the library (``LIBRARY/.features``), keyed by the
file's content hash and the feature recipe (feature parameters and window policy), so that re-learning a
library never decodes its audio again. One safetensors file per track: ``table`` ``(n_windows, 57)`` and
``tags`` ``(n_windows, 100)``; written whole, then renamed into place."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..features.params import recipe_id  # noqa: F401  (the cache's key; re-exported for callers)
from ..io import atomic_path
from ..preprocess.track import ModelInputs

FOLDER = ".features"




def cache_path(library_dir: Path, digest: str, recipe: str) -> Path:
    return Path(library_dir) / FOLDER / digest[:2] / f"{digest}-{recipe}.safetensors"


def save_features(library_dir: Path, digest: str, recipe: str, inputs: ModelInputs) -> Path | None:
    """Cache a track's table and taggram rows (nothing for inputs without taggrams)."""
    if inputs.tags is None:
        return None
    from safetensors.numpy import save_file

    path = cache_path(library_dir, digest, recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file({"table": np.ascontiguousarray(inputs.table, np.float64),
                   "tags": np.ascontiguousarray(inputs.tags, np.float32)}, str(tmp))
    return path


def load_features(library_dir: Path, digest: str, recipe: str) -> ModelInputs | None:
    """The cached rows of a track, or None when there are none (or they cannot be read)."""
    path = cache_path(library_dir, digest, recipe)
    if not path.is_file():
        return None
    from safetensors.numpy import load_file

    try:
        arrays = load_file(str(path))
        table, tags = arrays["table"], arrays["tags"]
    except (OSError, KeyError, ValueError):
        return None
    if table.ndim != 2 or table.shape[1] != 57 or tags.shape != (len(table), 100):
        return None                        # not rows of this recipe: computed again
    return ModelInputs(table, tags=tags)
