"""The ported musicnn, run by ONNX Runtime (3x faster on this CPU than PyTorch).

Two taggers, one architecture: MSD_musicnn (the default) and MTT_musicnn (``model=``). The wheel's weights
run from the graphs shipped in the package (``graph.py``): no PyTorch needed. Other
weights are exported once and cached beside them, named by their hash (``<stem>-<sha12>.onnx``), so
a stale export is never used; without ONNX Runtime the PyTorch port stands in.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .. import onnxrt as onnx
from ..io import file_hash
from .graph import PRECISIONS, export_graph, shipped_graph
from .weights import DENSE, MSD, TAGS, converted_path, weights_cache_dir

BACKENDS = ("auto", "onnx", "torch")
# What prediction, training and the library run: the shipped graphs with the timbral convolutions as int8 matrix
# products (graph.py): about half the float32 graph's time a patch on this project's CPU (AMX), the tags and penultimate
# features moved a little (`benchmarks/musicnn.py`; the table and the grouped cross-validation beside float32 are in
# docs/model.md). float32 (the port's exact graph) stays for parity with TensorFlow and the published taggrams.
PRECISION = "int8"
# patches per ONNX Runtime call. With both taggers (MSD and MTT) over 40 patches, one core, best of 3, peak RSS
# of the process (2026-12-03): batches of 4 48.8 + 45.6 ms a patch and 335 MB, of 2 41.1 + 38.6 ms and 208 MB,
# of 1 39.2 + 38.8 ms and 145 MB: each session's arena grows with the batch, the speed does not
BATCH = 1


class OnnxMusiCNN:
    """:meth:`MusiCNN.taggram` through an ONNX Runtime session."""

    def __init__(self, path: Path, *, threads: int | None = None):
        self.session = onnx.session(path, threads=threads, memory_pattern=False)
        self.path = path

    def taggram(self, patches, *, batch_size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """Tag probabilities ``(n, 50)`` and penultimate features ``(n, 200)`` of ``(n, 187, 96)`` patches."""
        patches = np.ascontiguousarray(patches, np.float32)
        if not len(patches):
            n_tags = self.session.get_outputs()[0].shape[-1]
            return np.zeros((0, n_tags if isinstance(n_tags, int) else 50), np.float32), np.zeros((0, DENSE), np.float32)
        outs = [self.session.run(None, {"patches": patches[s:s + batch_size]})
                for s in range(0, len(patches), batch_size)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


def export(weights: Path) -> Path:
    """The ONNX export of converted musicnn weights, made once next to them (or, where that folder is
    read-only, in the musicnn cache folder)."""
    def make(path: Path) -> Path:
        return export_graph(weights, path)

    name = f"{weights.stem}-{file_hash(weights)[:12]}.onnx"
    try:
        return onnx.export_once(name, [weights.parent, weights_cache_dir()], make)
    except onnx.ExportUnavailable:
        raise
    except OSError as exc:
        raise ModelError(str(exc)) from None


@functools.lru_cache(maxsize=2)
def _onnx_tagger(weights: Path) -> OnnxMusiCNN:
    return _onnx_session(export(weights))       # cached: export() hashes the weights


def load_tagger(weights: str | Path | None = None, *, backend: str = "auto", model: str = MSD,
                precision: str = PRECISION):
    """The pretrained tagger: anything with ``taggram(patches) -> (tags, penultimate)``.

    ``backend``: ``auto`` (ONNX Runtime when installed), ``onnx`` or ``torch``. ``model``: which of the
    wheel's taggers (MSD_musicnn, MTT_musicnn) when ``weights`` is not given. ``precision``: ``int8`` (the
    shipped quantised graph, :data:`PRECISION`) or ``float32``; other weights, and the PyTorch port, are float32.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if model not in TAGS:
        raise ValueError(f"unknown tagger {model!r}; choose from {', '.join(TAGS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if backend == "torch" or (backend == "auto" and not onnx.available()):
        return _torch_tagger(weights, model)
    if not onnx.available():
        raise ModelError("ONNX Runtime is not installed (pip install onnxruntime), so the onnx backend is not available")
    if weights is None and shipped_graph(model, precision=precision) is not None:
        return _onnx_session(shipped_graph(model, precision=precision))
    try:
        return _onnx_tagger(_weights(weights, model))
    except onnx.ExportUnavailable as exc:
        if backend == "onnx":
            raise ModelError(f"the musicnn tagger cannot run in ONNX Runtime: {exc}") from None
        onnx.fallback_warning("the musicnn tagger", exc)
        return _torch_tagger(weights, model)


def _torch_tagger(weights: str | Path | None, model: str = MSD):
    """The PyTorch port (the ``[train]`` extra and the musicnn wheel)."""
    try:
        from .musicnn import load_musicnn
    except ImportError as exc:
        raise ModelError(f"the musicnn tagger needs ONNX Runtime (pip install onnxruntime) or PyTorch "
                         f"(pip install 'genrefuse[train]'): {exc}") from None
    return load_musicnn(weights, model=model)


@functools.lru_cache(maxsize=4)
def _onnx_session(path: Path) -> OnnxMusiCNN:
    return OnnxMusiCNN(path)


def _weights(weights: str | Path | None, model: str = MSD) -> Path:
    """``weights``, or the converted wheel checkpoint (converting it, with PyTorch, only the first time)."""
    if weights is not None:
        return Path(weights)
    if converted_path(model).is_file():
        return converted_path(model)
    from .musicnn import weights_path

    return weights_path(model=model)
