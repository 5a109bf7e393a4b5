"""Model inference per clip: eager PyTorch against ONNX Runtime, at batch 1 and batch 64 (features excluded).

    python benchmarks/inference.py --json out/bench/inference.json [--model RUN_DIR/model]

Without --model, an untrained fusion model of the paper's size (10 genres, 128 x 1300 input) is used:
the cost does not depend on the weights.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

from genrefuse.features.params import DEFAULT_PARAMS  # noqa: E402
from genrefuse.inference.predict import GenreModel  # noqa: E402
from genrefuse.preprocess import ModelInputs  # noqa: E402
from genrefuse.models.bundle import Bundle  # noqa: E402
from genrefuse.models.fusion import Architecture, GenreNet  # noqa: E402


def timed(fn, repeats: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--model", type=Path)


def measure(a: argparse.Namespace) -> Report:
    model_dir = a.model
    if model_dir is None:
        torch.manual_seed(0)
        net = GenreNet(Architecture(kind="fusion", n_classes=10)).eval()
        model_dir = Path(tempfile.mkdtemp()) / "model"
        Bundle("fusion", net, [f"g{i}" for i in range(10)], DEFAULT_PARAMS, np.zeros(57), np.ones(57), {}).save(model_dir)
    torch_model = GenreModel.load(model_dir, backend="torch")
    onnx_model = GenreModel.load(model_dir, backend="onnx")
    p = torch_model.params
    rng = np.random.default_rng(0)
    result = {"model": str(a.model or "untrained fusion (paper size)"), "torch_threads": torch.get_num_threads()}
    rows = []
    for batch, repeats in ((1, 20), (64, 3)):
        mel = rng.random((batch, p.n_mels, p.n_frames), dtype=np.float32)
        table = rng.standard_normal((batch, 57))
        inputs = ModelInputs(table, mel)
        pt = torch_model.forward(inputs)
        po = onnx_model.forward(inputs)
        t_torch = timed(lambda: torch_model.forward(inputs), repeats) / batch
        t_onnx = timed(lambda: onnx_model.forward(inputs), repeats) / batch
        diff = float(np.abs(pt - po).max())
        result[f"batch{batch}"] = {"torch_s_per_clip": t_torch, "onnx_s_per_clip": t_onnx, "speedup": t_torch / t_onnx,
                                   "max_abs_probability_difference": diff}
        rows.append([batch, f"{1000 * t_torch:.2f}", f"{1000 * t_onnx:.2f}", f"{t_torch / t_onnx:.2f}x", f"{diff:.1e}"])
    return Report(result, [Table(["batch", "torch ms/clip", "onnx ms/clip", "speedup", "largest probability difference"], rows)])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
