"""Reading a large library into the recommendation index (``library.recommend.TrackIndex``): how long the
first read takes and how much memory it holds at its peak, each in a fresh process, against an older source
tree in the same run.

Builds a real SQLite library database of N tracks (``recommend_scale.build``: random genre probabilities over
GTZAN's ten genres), then runs ``TrackIndex(genres).refresh(session)`` in a new Python process per source tree
and repeat, and reports the wall time and the process's peak resident memory (``ru_maxrss``) before and after.
A served library does this read once, in the background as it starts (``genrefuse serve``).

    python benchmarks/track_index.py --tracks 1000000 [--baseline-src OLD/src [--baseline-name NAME]] [--json out.json]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402
from recommend_scale import build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

READ = """
import json, resource, sys, time
from genrefuse.genres import GTZAN_GENRES
from genrefuse.library.db import make_engine, session_factory
from genrefuse.library.recommend import TrackIndex
Session = session_factory(make_engine(sys.argv[1]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with Session() as s:
    index = TrackIndex(list(GTZAN_GENRES)).refresh(s)
print(json.dumps({"tracks": len(index.ids), "seconds": time.perf_counter() - start, "rss_before_mb": before / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def read_once(src: Path, url: str) -> dict:
    """One fresh process reading the index with the genrefuse of ``src`` (its ``src`` folder)."""
    r = subprocess.run([sys.executable, "-c", READ, url], capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "PYTHONPATH": str(src)})
    if r.returncode:
        raise SystemExit(f"reading with {src} failed: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def arguments(ap) -> None:
    ap.add_argument("--tracks", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="fresh processes per source tree (the best time is kept)")
    ap.add_argument("--baseline-src", type=Path, help="an older genrefuse source tree (its src folder) to compare with")
    ap.add_argument("--baseline-name", help="how the results name the older tree (default: its path)")


def measure(a) -> Report:
    trees = {"this tree": ROOT / "src"} | ({a.baseline_name or str(a.baseline_src): a.baseline_src}
                                          if a.baseline_src else {})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'library.sqlite'}"
        print(f"building a library database of {a.tracks:,} tracks ...", file=sys.stderr)
        build(url, a.tracks, 0)
        runs = {name: [read_once(src, url) for _ in range(a.repeat)] for name, src in trees.items()}
    rows = {name: {"tracks_read": min(r["tracks"] for r in rs), "seconds": round(min(r["seconds"] for r in rs), 1),
                   "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rs)),
                   "rss_before_mb": round(max(r["rss_before_mb"] for r in rs))} for name, rs in runs.items()}
    return Report({"tracks": a.tracks, "repeat": a.repeat, "results": rows},
                  [Table(["source", "seconds", "peak memory (MB)", "before the read (MB)"],
                         [[n, r["seconds"], r["peak_rss_mb"], r["rss_before_mb"]] for n, r in rows.items()],
                         title=f"TrackIndex's first read of a {a.tracks:,}-track SQLite library (best of {a.repeat} "
                               "fresh processes)")])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
