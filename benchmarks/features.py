"""Per-clip cost of both model inputs: the librosa reference path against the fast path, in one process.

    python benchmarks/features.py --clips 8 [--json FILE]

Prints a table and writes reference_s_per_clip, fast_s_per_clip, speedup and max_z_error (the
largest per-column error of the fast path against the reference, in units of the column's standard
deviation over the public features_30_sec.csv, or over these clips when that file is absent).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

from genrefuse.datasets.synth import SYNTH_GENRES, render_clip  # noqa: E402
from genrefuse.features.clip import clip_inputs  # noqa: E402
from genrefuse.features.table import FEATURE_COLUMNS  # noqa: E402

TABLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gtzan-features" / "features_30_sec.csv"


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clips", type=int, default=8, help="synthetic 30 s clips (default 8)")
    ap.add_argument("--seconds", type=float, default=30.0)


def measure(a: argparse.Namespace) -> Report:
    clips = [render_clip(SYNTH_GENRES[i % len(SYNTH_GENRES)], seconds=a.seconds, index=100 + i) for i in range(a.clips)]
    for method in ("reference", "fast"):        # warm-up: numba compilation, FFT plans
        clip_inputs(clips[0], method=method)
    times = {"reference": [], "fast": []}
    tables = {"reference": [], "fast": []}
    for y in clips:                              # interleaved, so drift of the machine hits both alike
        for method in ("reference", "fast"):
            t = time.perf_counter()
            _, table = clip_inputs(y, method=method)
            times[method].append(time.perf_counter() - t)
            tables[method].append(table)
    ref, fast = np.array(tables["reference"]), np.array(tables["fast"])
    if TABLE.exists():
        rows = list(csv.DictReader(open(TABLE)))
        std = np.array([[float(r[c]) for c in FEATURE_COLUMNS] for r in rows]).std(axis=0)
        scale = "features_30_sec.csv"
    else:
        std = np.where(ref.std(axis=0) > 0, ref.std(axis=0), 1.0)
        scale = "these clips"
    z = np.abs(fast - ref) / std
    r, f = float(np.median(times["reference"])), float(np.median(times["fast"]))
    result = {"clips": a.clips, "seconds_per_clip_audio": a.seconds, "reference_s_per_clip": r,
              "fast_s_per_clip": f, "speedup": r / f, "max_z_error": float(z.max()),
              "worst_column": FEATURE_COLUMNS[int(np.argmax(z.max(axis=0)))], "z_scale": scale,
              "reference_clips_per_s": 1 / r, "fast_clips_per_s": 1 / f}
    return Report(result, [Table(["path", "s/clip (median)", "clips/s"],
                                 [["reference", f"{r:.3f}", f"{1 / r:.2f}"], ["fast", f"{f:.3f}", f"{1 / f:.2f}"]])],
                  [f"speedup {r / f:.2f}x; max error {z.max():.1e} standard deviations ({result['worst_column']}, "
                   f"scale: {scale})"])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
