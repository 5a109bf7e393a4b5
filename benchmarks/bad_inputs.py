"""Every file of the hostile corpus (tests/badfiles.py) through `genrefuse predict` in a fresh process:
the answer or the error, the time and the peak memory. Aim (the hardening issue): at most 800 MB and 20 s
for any input on 2 cores.

    python benchmarks/bad_inputs.py --json out/bench/bad_inputs.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from _common import write_json  # noqa: E402
from badfiles import make_corpus  # noqa: E402

BOUND_MB, BOUND_S = 800, 20.0
WRAPPER = ("import resource, subprocess, sys, json; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
           "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(Path(tmp) / "corpus")
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
    print(f"| file | size | outcome | time | peak memory |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['file']} | {r['size_kb']} KB | {r['outcome']} | {r['seconds']:.1f} s | {r['peak_mb']} MB |")
    worst_mb, worst_s = max(r["peak_mb"] for r in rows), max(r["seconds"] for r in rows)
    print(f"\n{len(rows)} files, {sum(r['as_expected'] for r in rows)} as expected; worst peak {worst_mb} MB, "
          f"slowest {worst_s:.1f} s (each a fresh process, start-up included); bounds {BOUND_MB} MB and {BOUND_S:g} s")
    write_json(a.json, {"benchmark": "bad inputs through predict", "bound_mb": BOUND_MB, "bound_s": BOUND_S,
                        "results": rows})


if __name__ == "__main__":
    main()
