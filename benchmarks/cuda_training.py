"""Training and prediction on CUDA: the paper's fusion net on synthetic inputs, fp16 mixed precision
(the default on CUDA) against the CPU, and the same probabilities from the GPU and the CPU. With CUDA,
also the data-parallel path of `train --nproc 1`: one process of a launched group (NCCL, world size 1),
DistributedDataParallel and a DistributedSampler, fp16.

    python benchmarks/cuda_training.py --json out/bench/cuda.json

Needs only PyTorch and numpy (runs on a bare GPU machine with PYTHONPATH=src). The inputs are random Mel
matrices and tables with a class-dependent shift, so that a net can learn them in a few epochs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, run  # noqa: E402


def data(n: int, classes: int, frames: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    mel = rng.random((n, 128, frames), dtype=np.float32) * 0.5
    for c in range(classes):                     # each class brightens its own band of Mel rows
        mel[y == c, 20 * c:20 * c + 20] += 0.3
    table = rng.standard_normal((n, 57)).astype(np.float32) + y[:, None] * 0.5
    return mel, table, y


def arguments(ap) -> None:
    ap.add_argument("--clips", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=6)


def measure(a) -> Report:
    import torch

    from genrefuse.models.fusion import Architecture, GenreNet
    from genrefuse.models.predictor import TorchPredictor
    from genrefuse.training.trainer import ClipDataset, TrainConfig, fit, seed_everything

    frames = 1300
    mel, table, y = data(a.clips, 4, frames, 0)
    tm, tt, ty = data(200, 4, frames, 1)
    cut = int(0.85 * a.clips)
    train = ClipDataset(mel[:cut], table[:cut], y[:cut])
    valid = ClipDataset(mel[cut:], table[cut:], y[cut:])
    result = {"cuda": torch.cuda.is_available(),
              "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__}
    lines = [f"torch {torch.__version__}, CUDA: {result['device_name']}"]
    for device in (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]:
        seed_everything(0)
        net = GenreNet(Architecture(kind="fusion", n_classes=4))
        cfg = TrainConfig(epochs=a.epochs, batch_size=100, device=device, seed=0)
        t = time.perf_counter()
        history = fit(net, train, valid, cfg, progress=False)
        seconds = time.perf_counter() - t
        proba = TorchPredictor(net, device=device).probabilities(mel=tm, table=tt)
        on_cpu = TorchPredictor(net.cpu(), device="cpu").probabilities(mel=tm, table=tt)
        result[device] = {"seconds_per_epoch": seconds / a.epochs, "final": history[-1],
                          "test_accuracy": float(np.mean(proba.argmax(1) == ty)),
                          "max_probability_difference_vs_cpu": float(np.abs(proba - on_cpu).max())}
        lines.append(f"{device}: {seconds / a.epochs:.2f} s/epoch ({'fp16 mixed precision' if device == 'cuda' else 'fp32'}), "
              f"last epoch {history[-1]}, test accuracy {result[device]['test_accuracy']:.3f}, "
              f"max |p_{device} - p_cpu| {result[device]['max_probability_difference_vs_cpu']:.1e}")
    if torch.cuda.is_available():
        import os
        import socket

        from genrefuse.training import distributed

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                           "MASTER_PORT": str(port)})
        distributed.init("cuda")
        import torch.distributed as dist

        seed_everything(0)
        net = GenreNet(Architecture(kind="fusion", n_classes=4))
        cfg = TrainConfig(epochs=a.epochs, batch_size=100, device="cuda", seed=0, precision="fp16")
        t = time.perf_counter()
        history = fit(net, train, valid, cfg, progress=False)
        seconds = time.perf_counter() - t
        proba = TorchPredictor(net, device="cuda").probabilities(mel=tm, table=tt)
        result["cuda_ddp"] = {"backend": dist.get_backend(), "world_size": dist.get_world_size(),
                              "seconds_per_epoch": seconds / a.epochs, "final": history[-1],
                              "test_accuracy": float(np.mean(proba.argmax(1) == ty))}
        distributed.finish()
        lines.append(f"cuda, data-parallel ({result['cuda_ddp']['backend']}, world size 1, fp16): "
              f"{seconds / a.epochs:.2f} s/epoch, last epoch {history[-1]}, "
              f"test accuracy {result['cuda_ddp']['test_accuracy']:.3f}")
    return Report(result, lines=lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
