"""Every file of the hostile corpus (tests/badfiles.py) through `genrefuse predict` in a fresh process:
the answer or the error, the time and the peak memory. Aim (the hardening issue): at most 800 MB and 20 s
for any input on 2 cores.

Then the server: `genrefuse serve` (the packaged model) gets the four heaviest files of the corpus
uploaded at once, for each ``--max-analyses`` setting; its peak resident memory (VmHWM) is reported.

    python benchmarks/bad_inputs.py --json out/bench/bad_inputs.json
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from _common import serving  # noqa: E402
from _harness import Report, Table, run  # noqa: E402
from badfiles import make_corpus  # noqa: E402

BOUND_MB, BOUND_S = 800, 20.0
WRAPPER = ("import resource, subprocess, sys, json; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
           "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


HEAVY = ("eight_channels_48k_20min.flac", "clicks_1h_8k.flac", "silent_1h_8k.flac", "half.flac")


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_run(corpus: dict, tmp: Path, analyses: int) -> dict:
    """Four hostile uploads at once against a fresh server; its peak memory and the answers."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    with serving(tmp / f"lib-{analyses}", "--max-analyses", str(analyses), "--max-upload-mb", "64") as (proc, url):
        token = httpx.post(url + "/api/users", json={"name": "bench", "likes": []}).json()["token"]
        idle = peak_rss_mb(proc.pid)
        files = [p for p in corpus if p.name in HEAVY]

        def send(p: Path):
            with open(p, "rb") as f:
                r = httpx.post(url + "/api/tracks", files={"file": (p.name, f)}, timeout=600,
                               headers={"Authorization": f"Bearer {token}"})
            return p.name, r.status_code

        t = time.perf_counter()
        with ThreadPoolExecutor(len(files)) as pool:
            answers = dict(pool.map(send, files))
        return {"max_analyses": analyses, "uploads": answers, "seconds": round(time.perf_counter() - t, 1),
                "idle_peak_mb": round(idle), "peak_mb": round(peak_rss_mb(proc.pid))}


def arguments(ap) -> None:
    ap.add_argument("--server-analyses", default="2,4",
                    help="comma-separated --max-analyses settings for the server run ('' skips it; default 2,4)")


def measure(a) -> Report:
    rows, server = [], []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(Path(tmp) / "corpus")
        for n in [int(x) for x in a.server_analyses.split(",") if x.strip()]:
            server.append(server_run(corpus, Path(tmp), n))
        for path, expect in corpus.items():
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "genrefuse.cli", "predict",
                                "--json", str(path)], capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - t
            res = json.loads(r.stdout)
            line = json.loads(res["out"].splitlines()[-1])
            outcome = line.get("error", "").replace(str(path) + ": ", "") or f"{line['genre']} ({line['windows']} windows)"
            rows.append({"file": path.name, "size_kb": round(path.stat().st_size / 1024) if path.is_file() else 0,
                         "expected": "refused" if expect is not None else "answered",
                         "as_expected": (expect is None) == ("error" not in line), "outcome": outcome,
                         "seconds": round(seconds, 2), "peak_mb": round(res["kb"] / 1024),
                         "within_bounds": res["kb"] / 1024 <= BOUND_MB and seconds <= BOUND_S})
    tables = [Table(["file", "size", "outcome", "time", "peak memory"],
                    [[r["file"], f"{r['size_kb']} KB", r["outcome"], f"{r['seconds']:.1f} s", f"{r['peak_mb']} MB"]
                     for r in rows])]
    worst_mb, worst_s = max(r["peak_mb"] for r in rows), max(r["seconds"] for r in rows)
    lines = [f"{len(rows)} files, {sum(r['as_expected'] for r in rows)} as expected; worst peak {worst_mb} MB, "
             f"slowest {worst_s:.1f} s (each a fresh process, start-up included); bounds {BOUND_MB} MB and {BOUND_S:g} s"]
    if server:
        tables.append(Table(["server, 4 hostile uploads at once", "answers", "time", "peak memory (idle)"],
                            [[f"--max-analyses {r['max_analyses']}",
                              ", ".join(f"{k} {v}" for k, v in r["uploads"].items()), f"{r['seconds']:.1f} s",
                              f"{r['peak_mb']} MB ({r['idle_peak_mb']} MB)"] for r in server]))
    return Report({"benchmark": "bad inputs through predict", "bound_mb": BOUND_MB, "bound_s": BOUND_S,
                   "results": rows, "server": server}, tables, lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
