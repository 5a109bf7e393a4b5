"""Prediction speed with the packaged default model: a warm process on a 30 s clip and a 10-minute track,
`genrefuse predict` on one clip from a cold start, and `genrefuse classify` throughput.

    python benchmarks/predict.py [--json FILE]

Aims (the real-music issue): 30 s clip <= 0.5 s and 10-minute track <= 4 s warm, cold `predict` <= 2.5 s,
`classify` >= 3 clips/s, on this project's 2-core machine. The clips are real GTZAN clips from
../shared/data when present, else synthetic ones.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))
AIMS = {"clip_s": 0.5, "ten_minutes_s": 4.0, "cold_cli_s": 2.5, "classify_clips_per_s": 3.0}


def clips(folder: Path, n: int) -> list[Path]:
    real = sorted((SHARED / "gtzan-clips").rglob("*.au"))
    if real:
        return [real[i % len(real)] for i in range(n)]
    from genrefuse.datasets.synth import synthesize

    return synthesize(folder / "synth", per_genre=max(1, n // 6 + 1), seconds=30.0, seed=0, jobs=2, progress=False)[:n]


def long_track(path: Path, source: Path, minutes: float) -> Path:
    y, sr = sf.read(source, dtype="float32")
    n = int(minutes * 60 * sr)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for start in range(0, n, len(y)):
            f.write(y[: min(len(y), n - start)])
    return path


def timed(fn, repeats: int) -> float:
    fn()                                             # warm: caches, JIT, sessions
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats of each warm measurement (median)")
    ap.add_argument("--classify-clips", type=int, default=60, help="files for the classify throughput")


def measure(a: argparse.Namespace) -> Report:
    from genrefuse import load_model

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = clips(tmp, a.classify_clips)
        model = load_model()
        r = {"model": "default", "threads": len(os.sched_getaffinity(0))}
        r["clip_s"] = timed(lambda: model.predict(files[0]), a.repeats)
        ten = long_track(tmp / "ten.wav", files[0], 10)
        r["ten_minutes_s"] = timed(lambda: model.predict(ten), max(1, a.repeats // 2))
        r["ten_minutes_windows"] = model.predict(ten).windows
        cold = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", str(files[1])], check=True,
                           capture_output=True)
            cold.append(time.perf_counter() - t)
        r["cold_cli_s"] = statistics.median(cold)
        lib = tmp / "library"
        for i, f in enumerate(files):
            (lib / f"{i:03d}{f.suffix}").parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f, lib / f"{i:03d}{f.suffix}")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genrefuse.cli", "classify", str(lib), "--out", str(tmp / "out.csv")],
                       check=True, capture_output=True)
        r["classify_clips_per_s"] = len(files) / (time.perf_counter() - t)
    rows = [("30 s clip, warm process", "clip_s", "s", "<="), ("10-minute track, warm process", "ten_minutes_s", "s", "<="),
            ("`genrefuse predict` one clip, cold start", "cold_cli_s", "s", "<="),
            (f"`genrefuse classify`, {a.classify_clips} clips (start-up included)", "classify_clips_per_s", "clips/s", ">=")]
    table = []
    for label, key, unit, cmp in rows:
        met = r[key] <= AIMS[key] if cmp == "<=" else r[key] >= AIMS[key]
        r[f"{key}_met"] = met
        table.append([label, f"{r[key]:.2f} {unit}", f"{cmp} {AIMS[key]}", "yes" if met else "no"])
    return Report({"benchmark": "predict speed, default model", "aims": AIMS, "results": r},
                  [Table(["measurement", "result", "aim", "met"], table)])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
