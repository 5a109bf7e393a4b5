"""ONNX Runtime inference for the neural models: exported once from the bundle, cached beside it.

The file is named by the hash of the weights (``model-<sha12>.onnx``), so a stale export is never
used; where the bundle folder is read-only it goes to ``~/.cache/genrefuse/onnx``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..models.bundle import Bundle
from ..models.ensemble import NEURAL_MODELS
from ..models.fusion import GenreNet


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Probabilities:
    """GenreNet + softmax with both inputs always present (ONNX graphs take a fixed input list)."""

    def __new__(cls, net: GenreNet):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, mel, table):
                return torch.softmax(self.net(mel if net.cnn is not None else None,
                                              table if net.mlp is not None else None), dim=1)

        return Wrapped().eval()


def export_module(module, args: tuple, path: Path, *, inputs: list[str], outputs: list[str]) -> Path:
    """Export ``module`` (batch axis dynamic) to ``path``, written whole and then renamed into place."""
    import warnings

    import torch

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs, dynamo=False,
                          dynamic_axes={name: {0: "n"} for name in inputs + outputs})
    os.replace(tmp, path)
    return path


def export(bundle: Bundle, path: Path) -> Path:
    import torch

    p = bundle.feature_params
    args = (torch.zeros(2, p.n_mels, p.n_frames), torch.zeros(2, len(bundle.table_mean)))
    return export_module(_Probabilities(bundle.model), args, path, inputs=["mel", "table"], outputs=["probabilities"])


def session(path: Path, *, threads: int | None = None):
    """An ONNX Runtime CPU session; ``threads`` defaults to torch's (1 inside a worker pool, see
    ``parallel.limit_threads``)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def export_once(name: str, folders: list[Path], make: Callable[[Path], Path]) -> Path:
    """``folder/name`` from the first folder that has it, else made by ``make(path)`` in the first
    writable one (a bundle or weights folder may be read-only)."""
    for folder in folders:
        path = folder / name
        if path.is_file():
            return path
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return make(path)
        except OSError:
            continue
    raise OSError(f"{folders[0]}: nowhere to write the ONNX export {name}")


def cached_export(bundle: Bundle, model_dir: Path) -> Path:
    from ..datasets.cache import file_hash

    name = f"model-{file_hash(model_dir / 'model.safetensors')[:12]}.onnx"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "genrefuse" / "onnx"
    return export_once(name, [model_dir, cache], lambda path: export(bundle, path))


class OnnxRunner:
    def __init__(self, path: Path, *, threads: int | None = None):
        self.session = session(path, threads=threads)
        self.path = path
        self.inputs = {i.name for i in self.session.get_inputs()}   # the exporter drops an unused branch's input

    def probabilities(self, mel: np.ndarray | None, table: np.ndarray, *, n_mels: int, n_frames: int) -> np.ndarray:
        feed = {"table": table}
        if "mel" in self.inputs:
            feed["mel"] = mel if mel is not None else np.zeros((len(table), n_mels, n_frames), np.float32)
        feed = {k: np.ascontiguousarray(v, np.float32) for k, v in feed.items() if k in self.inputs}
        return self.session.run(None, feed)[0].astype(np.float64)


def exportable(bundle: Bundle) -> bool:
    """Neural bundles on the Mel and table inputs; the musicnn kinds stay in PyTorch (the port runs there)."""
    return isinstance(bundle.model, NEURAL_MODELS) and not bundle.uses_tags


def runner_for(bundle: Bundle, model_dir: str | Path) -> OnnxRunner | None:
    """An ONNX Runtime session for an exportable bundle when onnxruntime is installed, else None."""
    if not exportable(bundle) or not available():
        return None
    return OnnxRunner(cached_export(bundle, Path(model_dir)))
