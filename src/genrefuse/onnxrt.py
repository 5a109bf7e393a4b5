"""ONNX Runtime helpers shared by the musicnn tagger and the genre models: export once, run on CPU.

An export is named by the hash of the weights it was made from, so a stale one is never used, and is
written whole before it is renamed into place.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from .io import atomic_path

log = logging.getLogger(__name__)


def available() -> bool:
    """Whether onnxruntime is installed (a core dependency; a broken or stripped install may lack it)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class ExportUnavailable(OSError):
    """An export that does not exist yet and cannot be made here (the ``onnx`` package is missing)."""


def can_export() -> bool:
    """Whether PyTorch's ONNX exporter can run: it needs the ``onnx`` package beside ONNX Runtime."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def fallback_warning(what: str, exc: Exception) -> None:
    """One line on stderr, once per ``what``, when ONNX Runtime cannot be used and PyTorch stands in."""
    if what not in _WARNED:
        _WARNED.add(what)
        log.warning("%s runs in PyTorch, not ONNX Runtime: %s", what, exc)


_WARNED: set[str] = set()


def graph_of(module, forward: Callable):
    """A ``torch.nn.Module`` that holds ``module`` and computes ``forward(module, *inputs)``: the graph to export."""
    import torch

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *inputs):
            return forward(self.inner, *inputs)

    return Graph().eval()


def export_module(module, args: tuple, path: Path, *, inputs: list[str], outputs: list[str]) -> Path:
    """Export ``module`` (batch axis dynamic) to ``path``, written whole and then renamed into place."""
    import warnings

    import torch

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs, dynamo=False,
                          dynamic_axes={name: {0: "n"} for name in inputs + outputs})
    return path


def export_once(name: str, folders: list[Path], make: Callable[[Path], Path]) -> Path:
    """``folder/name`` from the first folder that has it, else made by ``make(path)`` in the first
    writable one (a bundle or weights folder may be read-only)."""
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    if not can_export():
        raise ExportUnavailable(f"its ONNX graph {name} is not made yet and making it needs the onnx package "
                                "(pip install onnx)")
    log.info("preparing the ONNX graph %s (once, a few seconds)...", name)
    for folder in folders:
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return make(path)
        except OSError:
            continue
    raise OSError(f"{folders[0]}: nowhere to write the ONNX export {name}")


def session(path: Path, *, threads: int | None = None, memory_pattern: bool = True):
    """An ONNX Runtime CPU session; ``threads`` defaults to ``$OMP_NUM_THREADS`` (1 inside a worker pool,
    see ``parallel.limit_threads``), else every core. ``memory_pattern=False`` keeps peak memory near what one batch needs
    (for the musicnn tagger the pattern planner held 540 MB more, for no speed).

    Idle intra-op threads sleep rather than spin: the tagger runs beside the clip's features, whose threads
    the spinning robbed (a cold ``predict`` took about 0.04 s longer; a tagger alone runs about a tenth slower
    without it, on a tenth less CPU)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.enable_mem_pattern = memory_pattern
    if threads is None:
        threads = int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
