"""One training epoch of the paper's fusion model on 700 clips (batch 100) on CPU: the default allocator
against tcmalloc, and fp32 against bf16 autocast. Each setting runs in its own process.

    python benchmarks/training.py --json out/bench/training.json [--clips 700]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def one_epoch(clips: int, precision: str) -> dict:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from genrefuse.models.fusion import Architecture, GenreNet
    from genrefuse.training.trainer import ClipDataset, restart_batchnorm_stats, run_epoch, seed_everything

    seed_everything(0)
    rng = np.random.default_rng(0)
    data = ClipDataset(rng.random((clips, 128, 1300), dtype=np.float32), rng.standard_normal((clips, 57)),
                       rng.integers(0, 10, clips))
    net = GenreNet(Architecture(kind="fusion", n_classes=10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = DataLoader(data, batch_size=100, shuffle=True)
    restart_batchnorm_stats(net)
    t = time.perf_counter()
    loss, acc = run_epoch(net, loader, torch.device("cpu"), precision, opt)
    return {"s_per_epoch": time.perf_counter() - t, "loss": loss, "threads": torch.get_num_threads()}


def arguments(ap) -> None:
    ap.add_argument("--clips", type=int, default=700)


def measure(a) -> Report:
    settings = [("default allocator", "", "fp32"), ("tcmalloc", TCMALLOC, "fp32"), ("tcmalloc + bf16", TCMALLOC, "bf16")]
    results, rows = {}, []
    for name, preload, precision in settings:
        if preload and not os.path.exists(preload):
            rows.append([name, f"(no {preload})", ""])
            continue
        env = {**os.environ, "LD_PRELOAD": preload, "GENREFUSE_TCMALLOC": "0"}
        out = subprocess.run([sys.executable, "-c", CHILD, str(a.clips), precision], env=env,
                             capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[name] = r
        rows.append([name, f"{r['s_per_epoch']:.1f}", f"{r['loss']:.3f}"])
    lines = []
    if "tcmalloc" in results:
        results["tcmalloc_speedup"] = results["default allocator"]["s_per_epoch"] / results["tcmalloc"]["s_per_epoch"]
        lines.append(f"tcmalloc: {results['tcmalloc_speedup']:.2f}x faster per epoch")
    return Report({"clips": a.clips, "batch_size": 100, "results": results},
                  [Table(["setting", "s/epoch", "loss"], rows)], lines)


# each setting in a fresh process (the allocator is chosen at its start): one epoch, its result as JSON
CHILD = "import json, sys; from training import one_epoch; print(json.dumps(one_epoch(int(sys.argv[1]), sys.argv[2])))"


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
