"""The features of every library track, cached with the library (``LIBRARY/.features``) in the one input
cache (:mod:`genrefuse.preprocess.cache`), keyed by the track's audio (the hash of its decoded samples,
which a genre tag written into the file does not change) and the feature recipe, so that re-learning a
library never decodes its audio again."""
from __future__ import annotations

from pathlib import Path

from ..features.params import recipe_id  # noqa: F401  (the cache's key; re-exported for callers)
from ..preprocess.cache import ArrayCache, get_inputs, put_inputs
from ..preprocess.track import ModelInputs

FOLDER = ".features"


def save_features(library_dir: Path, identity: str, recipe: str, inputs: ModelInputs) -> Path | None:
    """Cache a track's table and taggram rows under ``identity`` (its audio hash)."""
    return put_inputs(ArrayCache(Path(library_dir) / FOLDER), identity, recipe, inputs)


def load_features(library_dir: Path, identity: str, recipe: str) -> ModelInputs | None:
    """The cached rows of a track, or None when there are none (or they cannot be read)."""
    return get_inputs(ArrayCache(Path(library_dir) / FOLDER), identity, recipe)
