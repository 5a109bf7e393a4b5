"""ONNX Runtime inference for the neural models: exported once from the bundle, cached beside it.

The file is named by the hash of the weights (``model-<sha12>.onnx``), so a stale export is never
used; where the bundle folder is read-only it goes to ``~/.cache/genrefuse/onnx``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import onnxrt
from ..io import cache_dir
from ..models.bundle import Bundle, weights_hash


def _probabilities(net, mel, table):
    """The exported graph: both inputs always present (ONNX graphs take a fixed input list), softmax out."""
    import torch

    return torch.softmax(net(mel if net.cnn is not None else None, table if net.mlp is not None else None), dim=1)


def export(bundle: Bundle, path: Path) -> Path:
    import torch

    p = bundle.feature_params
    args = (torch.zeros(2, p.n_mels, p.n_frames), torch.zeros(2, len(bundle.table_mean)))
    return onnxrt.export_module(onnxrt.graph_of(bundle.model, _probabilities), args, path,
                                inputs=["mel", "table"], outputs=["probabilities"])


def cached_export(bundle: Bundle, model_dir: Path) -> Path:
    name = f"model-{weights_hash(model_dir)[:12]}.onnx"
    return onnxrt.export_once(name, [model_dir, cache_dir("onnx")], lambda path: export(bundle, path))


class OnnxPredictor:
    """A bundle's net in an ONNX Runtime session, with the :class:`~genrefuse.models.predictor.Predictor`
    interface."""

    def __init__(self, path: Path, *, n_mels: int, n_frames: int, threads: int | None = None):
        self.session = onnxrt.session(path, threads=threads)
        self.path, self.n_mels, self.n_frames = path, n_mels, n_frames
        self.inputs = {i.name for i in self.session.get_inputs()}   # the exporter drops an unused branch's input

    def probabilities(self, *, mel=None, table=None, tags=None) -> np.ndarray:
        n = len(table if table is not None else mel)
        feed = {"table": table if table is not None else np.zeros((n, 1), np.float32)}
        if "mel" in self.inputs:
            feed["mel"] = mel if mel is not None else np.zeros((n, self.n_mels, self.n_frames), np.float32)
        feed = {k: np.ascontiguousarray(v, np.float32) for k, v in feed.items() if k in self.inputs}
        return self.session.run(None, feed)[0].astype(np.float64)


def exportable(bundle: Bundle) -> bool:
    """Neural bundles on the Mel and table inputs; the musicnn kinds' heads stay in PyTorch."""
    return bundle.spec.neural and not bundle.uses_tags


def predictor_for(bundle: Bundle, model_dir: str | Path) -> OnnxPredictor | None:
    """An ONNX Runtime predictor for an exportable bundle when onnxruntime is installed, else None."""
    if not exportable(bundle) or not onnxrt.available():
        return None
    p = bundle.feature_params
    try:
        path = cached_export(bundle, Path(model_dir))
    except onnxrt.ExportUnavailable as exc:
        onnxrt.fallback_warning("the genre model", exc)
        return None
    return OnnxPredictor(path, n_mels=p.n_mels, n_frames=p.n_frames)
