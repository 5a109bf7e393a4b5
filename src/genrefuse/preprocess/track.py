"""From a file or a waveform to a model's inputs, one analysis window at a time.

``track_inputs`` walks the windows that the model's :class:`~genrefuse.audio.WindowPolicy` picks,
decoding each on its own (so memory is bounded by a window, not by the track), and for each window
computes what the model reads: the 57 table features, the Mel input, and the musicnn taggram of its
3 s patches (and, for a model whose answers hear the second tagger, MTT_musicnn's tags of the same patches). Prediction, batch classification, ingest, the service and evaluation all come through
here, so they agree on the same file.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import WindowPolicy, iter_windows, resample
from ..features import musicnn_input as mi
from ..features.clip import clip_inputs
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..parallel import beside
from ..pretrained.embed import tag_summary


@dataclass
class ModelInputs:
    """Row-aligned model inputs, one row per analysis window (or per track, from a feature table).

    ``table`` ``(n, 57)`` float64, raw (not standardised); ``mel`` ``(n, n_mels, n_frames)`` float32 in
    [0, 1] or None; ``tags`` ``(n, 100)`` float32 musicnn taggram summaries (the track's, repeated per
    window) or None; ``mtt`` ``(n, 50)`` float32, the MTT tagger's mean tag scores (the track's, repeated
    per window), or None where not heard (no model input: only the answer's rules read it); ``deep``
    ``(n, 400)`` float32, the MSD tagger's 200 penultimate features summarised as ``tags`` are (each one's mean
    over the patches, then its spread; the track's, repeated per window), or None where the model reads none.
    """

    table: np.ndarray
    mel: np.ndarray | None = None
    tags: np.ndarray | None = None
    mtt: np.ndarray | None = None
    deep: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.table)

    @classmethod
    def concat(cls, parts: list["ModelInputs"]) -> "ModelInputs":
        """Rows of several tracks one after another (for one batched inference)."""
        stack = lambda xs: None if any(x is None for x in xs) else np.concatenate(xs)  # noqa: E731
        return cls(np.concatenate([p.table for p in parts]), stack([p.mel for p in parts]),
                   stack([p.tags for p in parts]), stack([p.mtt for p in parts]), stack([p.deep for p in parts]))


_TAGGER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genrefuse-tagger")


# the MTT tagger hears every MTT_STRIDE-th of the patches the MSD tagger hears (it only feeds means: the answer's
# evidence and the embedding), at half its cost; see docs/model.md for what that changed on real-dev
MTT_STRIDE = 2


def _window_taggram(y: np.ndarray, sr: int, hop: float, backend: str, hear: bool
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The MSD taggram ``(n_patches, 50)`` of a window, with ``hear`` the MTT one of every
    :data:`MTT_STRIDE`-th of the same patches, and the MSD tagger's penultimate features ``(n_patches, 200)``."""
    from ..pretrained.tagger import load_tagger
    from ..pretrained.weights import MTT

    P = mi.tagger_patches(y, sr, hop_seconds=hop)
    msd, pen = load_tagger(backend=backend).taggram(P)
    return msd, load_tagger(backend=backend, model=MTT).taggram(P[::MTT_STRIDE])[0] if hear else None, pen


def track_inputs(
    x: str | Path | np.ndarray, *, sr: int | None = None, params: FeatureParams = DEFAULT_PARAMS,
    policy: WindowPolicy | None = None, mel: bool = True, tags: bool = False, tag_backend: str = "auto",
    name: str | None = None, hear: bool = False, deep: bool = False,
) -> ModelInputs:
    """The inputs of every analysed window of ``x``: an audio file, or a waveform (mono, or
    ``(channels, samples)``) at ``sr`` Hz. ``mel`` and ``tags`` say whether the model reads the Mel
    input and the musicnn summary; the table is always computed (it is cheap beside the Mel input and
    every report carries it). ``hear`` (with ``tags``): also the MTT tagger's mean tags of the same patches;
    ``deep`` (with ``tags``): also the summary of the MSD tagger's penultimate features (the same pass).

    The musicnn summary is the mean and standard deviation of each tag over the 3 s patches (every
    ``policy.patch_hop_seconds``, 1 s by default) of every analysed window; for a clip of one window
    at a 1 s hop that is the whole clip's taggram, as the published GTZAN taggrams are made.

    Returns
    -------
    ModelInputs with one row per window: table ``(n, 57)``, mel ``(n, n_mels, n_frames)`` or None,
    tags ``(n, 100)`` or None, mtt ``(n, 50)`` or None, deep ``(n, 400)`` or None.
    """
    policy = policy or WindowPolicy(window_seconds=params.window_seconds)
    tables, mels, grams, heard, pens = [], [], [], [], []
    for y, y_sr in iter_windows(x, sr=sr, policy=policy, name=name):
        # decoded once, resampled once to the analysis rate (GTZAN's and the real training recordings' 22050 Hz),
        # which both the table and the tagger (from there to its 16 kHz) read
        y = resample(y, y_sr, params.sr)
        y_sr = params.sr
        # the tagger (ONNX Runtime, which releases the GIL) runs beside the table features where the process has cores
        # to spare; in a worker pool's process it runs first, in this thread (there the two threads only took turns on
        # the worker's core: classify --jobs 2 spent a twentieth more CPU a clip)
        pending = beside(_TAGGER, _window_taggram, y, y_sr, policy.patch_hop_seconds, tag_backend, hear) if tags else None
        try:
            m, t = clip_inputs(y, params=params)
        finally:
            gram = pending.result() if pending is not None else None
        tables.append(t)
        if mel:
            mels.append(m)
        if gram is not None:
            grams.append(gram[0])
            pens.append(gram[2])
            if gram[1] is not None:
                heard.append(gram[1])
    n = len(tables)
    summary = np.repeat(tag_summary(np.concatenate(grams))[None], n, axis=0) if tags else None
    mtt = np.repeat(np.concatenate(heard).mean(axis=0, dtype=np.float64).astype(np.float32)[None], n, axis=0) \
        if heard else None
    pen = np.repeat(tag_summary(np.concatenate(pens))[None], n, axis=0) if tags and deep else None
    return ModelInputs(np.stack(tables), np.stack(mels) if mel else None, summary, mtt, pen)


def file_inputs(path: str | Path, *, params: FeatureParams = DEFAULT_PARAMS, policy: WindowPolicy | None = None,
                mel: bool = True, tags: bool = False, tag_backend: str = "auto", hear: bool = False,
                deep: bool = False) -> ModelInputs:
    """:func:`track_inputs` of a file, for worker pools (a module-level function pickles)."""
    return track_inputs(path, params=params, policy=policy, mel=mel, tags=tags, tag_backend=tag_backend, hear=hear,
                        deep=deep)
