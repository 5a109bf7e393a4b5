"""One training epoch of the paper's fusion model on 700 clips (batch 100) on CPU: the default allocator
against tcmalloc, and fp32 against bf16 autocast. Each setting runs in its own process.

    python benchmarks/training.py --json out/bench/training.json [--clips 700]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=700)
    ap.add_argument("--json")
    ap.add_argument("--child", nargs=2, metavar=("CLIPS", "PRECISION"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one_epoch(int(a.child[0]), a.child[1])))
        return
    settings = [("default allocator", "", "fp32"), ("tcmalloc", TCMALLOC, "fp32"), ("tcmalloc + bf16", TCMALLOC, "bf16")]
    results = {}
    print(f"{'setting':<22}{'s/epoch':>10}{'loss':>8}")
    for name, preload, precision in settings:
        if preload and not os.path.exists(preload):
            print(f"{name:<22}{'(no ' + preload + ')':>10}")
            continue
        env = {**os.environ, "LD_PRELOAD": preload, "GENREFUSE_TCMALLOC": "0"}
        out = subprocess.run([sys.executable, __file__, "--child", str(a.clips), precision], env=env,
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[name] = r
        print(f"{name:<22}{r['s_per_epoch']:>10.1f}{r['loss']:>8.3f}")
    if "tcmalloc" in results:
        results["tcmalloc_speedup"] = results["default allocator"]["s_per_epoch"] / results["tcmalloc"]["s_per_epoch"]
        print(f"tcmalloc: {results['tcmalloc_speedup']:.2f}x faster per epoch")
    write_json(a.json, {"clips": a.clips, "batch_size": 100, "results": results})


if __name__ == "__main__":
    main()
