"""Start-up: `genrefuse --help` and a cold `genrefuse predict` of one 30 s clip with the packaged model, each in
fresh processes (best of 5): wall time, peak memory, and which heavy libraries were imported.

    python benchmarks/startup.py [--json benchmarks/results/startup.json] [--runs 5] [--baseline-src OLD/src]

Aims (the second fast-and-light issue): `--help` <= 0.3 s; cold predict <= 0.5 s and <= 200 MB; predict imports
none of torch, librosa, numba, sklearn, matplotlib, sqlalchemy. Bare Python, `import numpy` and importing what a
prediction cannot do without (numpy, soundfile, onnxruntime) are measured in the same run as the floor; with
`--baseline-src`, an older source tree's cold predict too. The clip is a real GTZAN clip from ../shared/data when present, else synthetic.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))
HEAVY = ("torch", "librosa", "numba", "sklearn", "matplotlib", "sqlalchemy")
AIMS = {"help_s": 0.3, "predict_s": 0.5, "predict_mb": 200}       # the second fast-and-light issue
PREDICT = "genrefuse predict (packaged model, 30 s clip)"


def genrefuse() -> list[str]:
    script = Path(sys.executable).with_name("genrefuse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "genrefuse.cli"]


def measure(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-500:]}")
    return wall, usage.ru_maxrss / 1024


def imported(cmd: list[str], env: dict) -> list[str]:
    """The heavy top-level modules the command imports (from ``python -X importtime``)."""
    args = cmd[1:] if cmd[0] == sys.executable else ["-m", "genrefuse.cli", *cmd[1:]]
    err = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=env).stderr
    names = {m.group(1) for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s?(\S+)$", err, re.M)}
    return [h for h in HEAVY if h in names]


def the_clip(tmp: Path) -> Path:
    real = sorted((SHARED / "gtzan-clips").rglob("*.au"))
    if real:
        return real[0]
    from genrefuse.datasets.synth import synthesize

    return synthesize(tmp / "synth", per_genre=1, seconds=30.0, seed=0, jobs=1, progress=False)[0]


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline-src", type=Path, help="an older genrefuse source tree (its src folder, e.g. of a `git "
                                                      "worktree`) whose cold predict is measured in the same run")


def measure_all(a: argparse.Namespace) -> Report:
    with tempfile.TemporaryDirectory() as tmp:
        clip = the_clip(Path(tmp))
        # an empty cache each run: nothing prepared by an earlier run is reused
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"), "GENREFUSE_MUSICNN_CACHE": str(Path(tmp) / "musicnn")}
        cases = {"python (floor)": ([sys.executable, "-c", "pass"], env),
                 "import numpy (floor)": ([sys.executable, "-c", "import numpy"], env),
                 "import numpy, soundfile, onnxruntime (floor)":
                     ([sys.executable, "-c", "import numpy, soundfile, onnxruntime"], env),
                 "genrefuse --help": ([*genrefuse(), "--help"], env),
                 PREDICT: ([*genrefuse(), "predict", str(clip)], env)}
        if a.baseline_src:
            cases[f"{PREDICT}, from {a.baseline_src}"] = (
                [sys.executable, "-m", "genrefuse.cli", "predict", str(clip)],
                {**env, "PYTHONPATH": str(a.baseline_src.resolve())})
        rows, result = [], {"clip": str(clip), "runs": a.runs, "aims": AIMS, "cases": {}}
        for name, (cmd, case_env) in cases.items():
            runs = [measure(cmd, case_env) for _ in range(a.runs)]
            best_s, best_mb = min(r[0] for r in runs), min(r[1] for r in runs)
            heavy = imported(cmd, case_env) if "genrefuse" in name else []
            result["cases"][name] = {"wall_s": [round(r[0], 3) for r in runs], "best_s": round(best_s, 3),
                                     "peak_mb": [round(r[1], 1) for r in runs], "best_mb": round(best_mb, 1),
                                     "heavy_imports": heavy}
            rows.append([name, f"{best_s:.2f}", f"{best_mb:.0f}", ", ".join(heavy) or "none"])
    h, p = result["cases"]["genrefuse --help"], result["cases"][PREDICT]
    result["met"] = {"help": h["best_s"] <= AIMS["help_s"], "predict_time": p["best_s"] <= AIMS["predict_s"],
                     "predict_memory": p["best_mb"] <= AIMS["predict_mb"], "predict_imports": not p["heavy_imports"]}
    line = (f"aims: --help <= {AIMS['help_s']} s, predict <= {AIMS['predict_s']} s and <= {AIMS['predict_mb']} MB with "
            f"none of {', '.join(HEAVY)}: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in result["met"].items()))
    return Report(result, [Table(["command", f"best of {a.runs} (s)", "peak RSS (MB)", "heavy libraries imported"], rows)],
                  [line])


if __name__ == "__main__":
    run(measure_all, doc=__doc__, arguments=arguments)
