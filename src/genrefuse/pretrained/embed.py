"""Taggrams of audio with the ported musicnn, the embeddings file format, and per-track summaries.

An embeddings file (``genrefuse embed``) is an npz with ``X`` (patches x 50 tag probabilities,
float32), ``Y`` (genre index per patch, -1 without a label), ``IDS`` (``<genre>/<file>`` or ``<file>``
per patch) and ``GENRES`` (the names ``Y`` indexes); ``P`` (patches x 200, the penultimate features)
when asked for. The published GTZAN taggrams use the same ``X``/``Y``/``IDS`` layout.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..audio import check_signal, load_native
from ..errors import DataError
from ..io import atomic_path
from ..features import musicnn_input as mi

N_TAGS = 50


def taggram(y: np.ndarray, *, hop: float = 1.0, penultimate: bool = False, backend: str = "auto",
            precision: str | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Tag probabilities of every 3 s patch (``hop`` seconds apart) of ``y``, mono at 16 kHz, by the ported
    musicnn (``backend``: auto, onnx or torch; ``precision``: int8 or float32, by default what prediction
    runs; see :func:`.tagger.load_tagger`).

    Returns ``(n_patches, 50)`` float32, and the ``(n_patches, 200)`` penultimate features with
    ``penultimate=True``.
    """
    from .tagger import PRECISION, load_tagger

    P = mi.tagger_patches(y, mi.SR, hop_seconds=hop)
    tags, pen = load_tagger(backend=backend, precision=precision or PRECISION).taggram(P)
    return (tags, pen) if penultimate else tags


def file_taggram(path: str | Path, *, hop: float = 1.0, penultimate: bool = False, backend: str = "auto",
                 precision: str | None = None):
    """:func:`taggram` of a whole audio file (decoded, then resampled to 16 kHz as the published taggrams were)."""
    y, sr = load_native(path)
    y = check_signal(mi.resample(y, sr), sr=mi.SR, name=str(path))
    return taggram(y, hop=hop, penultimate=penultimate, backend=backend, precision=precision)


def tag_summary(tags: np.ndarray) -> np.ndarray:
    """A track's ``(n_patches, 50)`` taggram -> ``(100,)``: each tag's mean, then each tag's std."""
    tags = np.asarray(tags, np.float64)
    return np.concatenate([tags.mean(axis=0), tags.std(axis=0)]).astype(np.float32)


def track_stem(track_id: str) -> str:
    """``blues/blues.00029.au`` (or ``blues/blues.00029``) -> ``blues.00029``: the key that joins embeddings
    to table rows. Only an audio extension is removed (GTZAN's names hold a dot of their own)."""
    from ..audio import is_audio_path

    name = Path(str(track_id)).name
    return Path(name).stem if is_audio_path(name) else name


def read_embeddings(path: str | Path) -> dict[str, np.ndarray]:
    """An embeddings npz -> ``{"X", "Y", "IDS"}`` (and ``P``, ``GENRES`` when present), validated."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such embeddings file") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not an embeddings npz ({str(exc).splitlines()[0][:120]})") from None
    missing = [k for k in ("X", "IDS") if k not in arrays]
    if missing:
        raise DataError(f"{path}: embeddings need arrays X and IDS (missing {', '.join(missing)})")
    X, ids = arrays["X"], arrays["IDS"]
    if X.ndim != 2 or X.shape[1] != N_TAGS or len(ids) != len(X):
        raise DataError(f"{path}: X must be (patches, {N_TAGS}) with one IDS entry per patch, got X {X.shape}, IDS {ids.shape}")
    if not np.isfinite(X).all():
        raise DataError(f"{path}: X contains NaN or infinite values")
    return arrays


def track_summaries(path: str | Path) -> OrderedDict[str, np.ndarray]:
    """Per-track :func:`tag_summary` of an embeddings file, keyed by :func:`track_stem`, in file order."""
    arrays = read_embeddings(path)
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for i, t in enumerate(arrays["IDS"]):
        groups.setdefault(track_stem(t), []).append(i)
    return OrderedDict((k, tag_summary(arrays["X"][idx])) for k, idx in groups.items())


def write_embeddings(path: str | Path, *, X: np.ndarray, Y: np.ndarray, IDS: list[str], genres: list[str],
                     P: np.ndarray | None = None) -> Path:
    """Write an embeddings npz whole, then rename it into place."""
    arrays = {"X": np.asarray(X, np.float32).reshape(-1, N_TAGS), "Y": np.asarray(Y, np.int64),
              "IDS": np.asarray(IDS, dtype=str), "GENRES": np.asarray(genres, dtype=str)}
    if P is not None:
        arrays["P"] = np.asarray(P, np.float32)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return Path(path)
