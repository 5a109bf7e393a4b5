"""The musicnn branch's inputs for a dataset: per-track taggram summaries, from an embeddings file
(joined by file stem) or computed from the audio with the ported musicnn and kept in the one input cache
(:mod:`genrefuse.preprocess.cache`) under the file's content hash."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..features.params import RECIPE_VERSIONS
from ..preprocess.cache import ArrayCache
from ..parallel import map_items
from ..pretrained.embed import file_taggram, tag_summary, track_stem, track_summaries

log = logging.getLogger(__name__)



def join_embeddings(tracks: list[str], embeddings: str | Path, *, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``tracks`` (of ``source``) found in ``embeddings`` by file stem: (row indices, summaries
    (k, 100)). Tracks without embeddings are left out, and said so; none at all is a :class:`DataError`."""
    summaries = track_summaries(embeddings)
    keep = [i for i, t in enumerate(tracks) if track_stem(t) in summaries]
    if not keep:
        raise DataError(f"{embeddings}: no track of {source} has embeddings (joined by file stem, "
                        f"e.g. {track_stem(tracks[0]) if tracks else '?'})")
    if len(keep) < len(tracks):
        log.warning("embeddings: %d of %d tracks of %s have none in %s and are left out", len(tracks) - len(keep),
                    len(tracks), source, embeddings)
    return np.array(keep, dtype=np.int64), np.stack([summaries[track_stem(tracks[i])] for i in keep])


def _cached_summary(job: tuple[Path, str], *, cache_dir: Path) -> np.ndarray:
    path, digest = job
    cache, recipe = ArrayCache(cache_dir), RECIPE_VERSIONS["taggram"]
    got = cache.get(digest, recipe)
    if got is not None and "taggram" in got and got["taggram"].ndim == 2 and got["taggram"].shape[1] == 50:
        return tag_summary(got["taggram"])    # else a damaged or foreign entry: computed again below
    taggram = file_taggram(path)
    cache.put(digest, recipe, taggram=np.asarray(taggram, np.float32))
    return tag_summary(taggram)


def audio_summaries(paths: list[Path], hashes: list[str], cache_dir: str | Path, *, jobs: int | None = None,
                    progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """Taggram summaries (n, 100) of audio files (with their content hashes, as the feature cache has
    them) through the cache; rows of failed files are NaN and their errors are returned."""
    import functools

    out = np.full((len(paths), 100), np.nan, np.float32)
    errors = []
    jobs_ = list(zip(paths, hashes))
    index = {job: i for i, job in enumerate(jobs_)}
    work = functools.partial(_cached_summary, cache_dir=Path(cache_dir))
    for o in map_items(work, jobs_, jobs=jobs, desc="musicnn", progress=progress):
        if o.ok:
            out[index[o.item]] = o.value
        else:
            errors.append(o.error)
    return out, errors
