"""`genrefuse classify` throughput over synthetic clips with 1 and 2 worker processes, and its peak memory
on growing numbers of files (it must stay flat).

    python benchmarks/classify.py --clips 200 --memory-clips 250 1000 [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402


def tree_rss_mb(root: int) -> tuple[float, float]:
    """(RSS of ``root``, RSS of all its descendants) in MB, read from /proc."""
    parent, rss = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                rss[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[21]) * resource.getpagesize() / 2**20
            except (OSError, IndexError, ValueError):
                pass

    def descends(pid: int) -> bool:
        while pid in parent and pid != root:
            pid = parent[pid]
        return pid == root

    return rss.get(root, 0.0), sum(v for p, v in rss.items() if p != root and descends(p))


def run_classify(folder: Path, model: Path, jobs: int, out: Path) -> dict:
    """One classify run in a child process: wall time, and the peak RSS of it and of its worker processes
    (sampled from /proc every 0.2 s: forkserver workers are not its direct children)."""
    code = ("import json, sys, time; from genrefuse.inference.classify import classify; "
            f"t = time.perf_counter(); r = classify({str(folder)!r}, model_dir={str(model)!r}, out={str(out)!r}, "
            f"jobs={jobs}, progress=False); w = time.perf_counter() - t; "
            "print(json.dumps({'files': r.done, 'failed': len(r.failures), 'seconds': w}))")
    out.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    peak_parent = peak_workers = 0.0
    while proc.poll() is None:
        p, w = tree_rss_mb(proc.pid)
        peak_parent, peak_workers = max(peak_parent, p), max(peak_workers, w)
        time.sleep(0.2)
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    result.update(parent_peak_mb=peak_parent, workers_peak_mb=peak_workers)
    return result


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clips", type=int, default=200, help="clips for the throughput runs (default 200)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of those clips (default 30)")
    ap.add_argument("--memory-clips", type=int, nargs="*", default=[250, 1000], help="file counts for the memory runs")
    ap.add_argument("--memory-seconds", type=float, default=3.0, help="length of the memory-run clips (default 3)")
    ap.add_argument("--model", type=Path, help="a model folder (default: an mlp trained here on the clips' table)")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one)")


def measure(a: argparse.Namespace) -> Report:
    from genrefuse.datasets.synth import SYNTH_GENRES, synthesize

    work = a.work or Path(tempfile.mkdtemp(prefix="genrefuse-bench-"))
    per = -(-a.clips // len(SYNTH_GENRES))
    data = work / f"clips{a.seconds:g}"
    synthesize(data, per_genre=per, seconds=a.seconds, seed=7, progress=False)
    model = a.model
    if model is None:
        from genrefuse.datasets.extract import features_table
        from genrefuse.datasets.layouts import discover
        from genrefuse.training.run import train_run
        from genrefuse.training.trainer import TrainConfig

        small = work / "train"
        synthesize(small, per_genre=8, seconds=10, seed=8, progress=False)
        features_table(discover(small), work / "table.csv", progress=False)
        train_run(work / "table.csv", work / "run", kind="mlp", config=TrainConfig(epochs=30, batch_size=16), progress=False)
        model = work / "run" / "model"
    result = {"clips": per * len(SYNTH_GENRES), "seconds_per_clip": a.seconds, "model": str(model), "throughput": {}}
    speed = []
    for jobs in (1, 2):
        r = run_classify(data, model, jobs, work / f"out{jobs}.csv")
        r["clips_per_s"] = r["files"] / r["seconds"]
        result["throughput"][str(jobs)] = r
        speed.append([jobs, f"{r['clips_per_s']:.2f}", f"{r['seconds']:.1f}"])
    result["scaling_2_vs_1"] = result["throughput"]["2"]["clips_per_s"] / result["throughput"]["1"]["clips_per_s"]
    result["memory"], memory = {}, []
    for n in a.memory_clips:
        folder = work / f"mem{n}"
        synthesize(folder, per_genre=-(-n // len(SYNTH_GENRES)), seconds=a.memory_seconds, seed=9, progress=False)
        r = run_classify(folder, model, 2, work / f"mem{n}.csv")
        result["memory"][str(n)] = r
        memory.append([r["files"], f"{r['parent_peak_mb']:.0f}", f"{r['workers_peak_mb']:.0f}"])
    tables = [Table(["workers", "clips/s", "seconds"], speed)]
    if memory:
        tables.append(Table(["files", "parent MB", "workers MB"], memory))
    return Report(result, tables, [f"2 workers vs 1: {result['scaling_2_vs_1']:.2f}x"])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
