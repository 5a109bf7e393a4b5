"""genrefuse beside its peers on the same clips, in one run: clips per second and peak memory.

    python benchmarks/peers.py [--clips 40] [--repeat 3] [--baseline-src OLD/src] [--json out/bench/peers.json]

Rows: `genrefuse classify --jobs 2` (packaged model, start-up included), the Python API warm in one process,
Essentia's MusicExtractor (pip `essentia`; the descriptors its genre classifiers read, one extractor for all
files, one process), and the librosa reference pipeline (the 57 features by librosa, the musicnn input by
librosa and resampy, the same tagger; one process). With --baseline-src, also `genrefuse classify` from an
older source tree (e.g. a `git worktree` of an earlier commit) as the reference for a speed-up. With --repeat N the
classify rows and Essentia's run N rounds, interleaved; each reports the median and the range, and the ratio to
Essentia the median's (its range pairs each round with its own Essentia run). The clips are
synthetic 30 s clips (`genrefuse synth`), the same for every row. Aim (the second fast-and-light issue): classify
at least 10x Essentia's clips per second.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run as run_benchmark  # noqa: E402
from classify import tree_rss_mb  # noqa: E402

AIM_X_ESSENTIA = 10.0        # the second fast-and-light issue
CLASSIFY = "genrefuse classify --jobs 2"
ESSENTIA_ROW = "Essentia MusicExtractor"

API = """
import sys, time
from pathlib import Path
from genrefuse import load_model
files = [Path(p) for p in sys.argv[1:]]
model = load_model()
model.predict(files[0])                          # warm: the model and the tagger loaded
t = time.perf_counter()
for f in files:
    model.predict(f)
print(len(files) / (time.perf_counter() - t))
"""

ESSENTIA = """
import sys, time
import essentia
essentia.log.infoActive = essentia.log.warningActive = False
import essentia.standard as es
files = sys.argv[1:]
extract = es.MusicExtractor(lowlevelStats=["mean", "stdev"], rhythmStats=["mean", "stdev"], tonalStats=["mean", "stdev"])
t = time.perf_counter()
for f in files:
    extract(f)
print(len(files) / (time.perf_counter() - t))
"""

REFERENCE = """
import sys, time
from genrefuse.audio import load_clip, load_native
from genrefuse.features import musicnn_input as mi
from genrefuse.features.clip import clip_inputs
from genrefuse.pretrained.tagger import load_tagger
files = sys.argv[1:]
tagger = load_tagger()
t = time.perf_counter()
for f in files:
    clip_inputs(load_clip(f), method="reference")                  # librosa, feature by feature
    y, sr = load_native(f)
    tagger.taggram(mi.patches(mi.log_mel_reference(mi.resample_reference(y, sr)), hop_frames=mi.hop_frames(3.0)))
print(len(files) / (time.perf_counter() - t))
"""


STAGES = """
import os, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})    # one core: each stage's own cost
import numpy as np
from genrefuse.audio import iter_windows, resample
from genrefuse.features import dsp, musicnn_input as mi
from genrefuse.features.fast import _fast_clip_inputs, hpss_signals
from genrefuse.features.params import DEFAULT_PARAMS as P
from genrefuse.pretrained.embed import tag_summary
from genrefuse.pretrained.tagger import load_tagger
from genrefuse.preprocess.track import MTT_STRIDE, ModelInputs
from genrefuse import load_model
model, files = load_model(sys.argv[1]), sys.argv[2:]
policy = model.bundle.window_policy
tagger, mtt = load_tagger(), load_tagger(model="MTT_musicnn")
cost = {k: 0.0 for k in ("decode", "resample to 22050 and 16 kHz", "musicnn log-Mel", "musicnn tagger", "MTT tagger", "HPSS",
                         "the other table features and the Mel input", "the model's answer")}
def timed(name, fn, *a, **k):
    t = time.perf_counter(); out = fn(*a, **k); cost[name] += time.perf_counter() - t; return out
windows = 0
for f in files:
    it, tables, grams, pens, heard = iter(iter_windows(f, sr=None, policy=policy)), [], [], [], []
    while (w := timed("decode", next, it, None)) is not None:
        y, sr = w
        windows += 1
        y22 = timed("resample to 22050 and 16 kHz", resample, y, sr, P.sr)
        y16 = timed("resample to 22050 and 16 kHz", mi.resample, y22, P.sr)
        patches = mi.patches(timed("musicnn log-Mel", mi.log_mel, y16), hop_frames=mi.hop_frames(policy.patch_hop_seconds))
        g, p = timed("musicnn tagger", tagger.taggram, patches)
        heard.append(timed("MTT tagger", mtt.taggram, patches[::MTT_STRIDE])[0])
        D = dsp.stft(y22, n_fft=P.n_fft, hop=P.hop_length)
        timed("HPSS", hpss_signals, D, np.abs(D), y=y22)
        t = time.perf_counter(); tables.append(_fast_clip_inputs(y22, P)[1]); whole = time.perf_counter() - t
        cost["the other table features and the Mel input"] += whole
        grams.append(g); pens.append(p)
    n = len(tables)
    inputs = ModelInputs(np.stack(tables), None, np.repeat(tag_summary(np.concatenate(grams))[None], n, 0),
                         np.repeat(np.concatenate(heard).mean(0)[None], n, 0),
                         np.repeat(tag_summary(np.concatenate(pens))[None], n, 0))
    timed("the model's answer", model.bundle.probabilities, inputs)
cost["the other table features and the Mel input"] -= cost["HPSS"]
import json
print(json.dumps({"windows": windows / len(files), "stages": {k: v / len(files) for k, v in cost.items()}}))
"""


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS of the process tree in MB, stdout) of a command, sampled every 0.1 s."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0.0
    while proc.poll() is None:
        own, children = tree_rss_mb(proc.pid)
        peak = max(peak, own + children)
        time.sleep(0.1)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {err[-800:]}")
    return time.perf_counter() - t, peak, out


def stage_costs(files: list[str], model: str = "default") -> dict:
    """Each stage's seconds per file on one core (``stages``) and the windows analysed per file (``windows``),
    by ``model``'s window policy."""
    _, _, out = run([sys.executable, "-c", textwrap.dedent(STAGES), model, *files], {**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.splitlines()[-1])


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--baseline-src", type=Path, help="an older genrefuse source tree (its src folder) to compare with")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the classify and Essentia rows, interleaved "
                    "(default 1); each row reports the median and the range")


def measure(a: argparse.Namespace) -> Report:
    rounds = max(1, a.repeat)
    result: dict = {"clips": a.clips, "aim_x_essentia": AIM_X_ESSENTIA, "rows": {}, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "genrefuse.cli", "synth", str(tmp / "clips"), "--per-genre",
                        str(-(-a.clips // 6)), "--seconds", "30", "--seed", "11"], check=True, capture_output=True)
        files = sorted(str(p) for p in (tmp / "clips").rglob("*.wav"))[:a.clips]
        lib = tmp / "lib"
        for f in files:                                   # exactly these clips for classify too
            dest = lib / Path(f).parent.name / Path(f).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(f, dest)
        runs: dict[str, list[float]] = {}
        rows: dict[str, dict] = {}

        def record(name: str, clips_per_s: float, peak: float, note: str) -> None:
            runs.setdefault(name, []).append(clips_per_s)
            row = rows.setdefault(name, {"peak_mb": 0.0, "note": note})
            row["peak_mb"] = max(row["peak_mb"], peak)

        def classify(name: str, env: dict | None = None) -> None:
            out = tmp / f"{sum(map(len, runs.values()))}.csv"
            wall, peak, _ = run([sys.executable, "-m", "genrefuse.cli", "classify", str(lib), "--out", str(out),
                                 "--jobs", "2"], env)
            record(name, len(files) / wall, peak, "2 workers, start-up included")

        def script(name: str, code: str, note: str) -> bool:
            try:
                _, peak, out = run([sys.executable, "-c", textwrap.dedent(code), *files])
            except RuntimeError as exc:
                if "No module named 'essentia'" in str(exc):
                    print("Essentia is not installed (pip install essentia): its row is left out")
                    return False
                raise
            record(name, float(out.split()[-1]), peak, note)
            return True

        has_essentia = True
        for round_ in range(rounds):                 # the rows of the aim, interleaved round by round
            classify(CLASSIFY)
            if a.baseline_src:
                classify(f"{CLASSIFY}, from {a.baseline_src}", {**os.environ, "PYTHONPATH": str(a.baseline_src.resolve())})
            if round_ == 0:
                script("genrefuse Python API, warm", API, "one process, model loaded")
                script("librosa reference features + tagger", REFERENCE, "one process")
            if has_essentia:
                has_essentia = script(ESSENTIA_ROW, ESSENTIA, "one process, one extractor")
        for name, row in rows.items():
            row["runs"] = runs[name]
            row["clips_per_s"] = statistics.median(runs[name])
        stages = stage_costs(files[:10])["stages"]
    ess = rows.get(ESSENTIA_ROW, {}).get("clips_per_s")
    table, lines = [], []
    for name, r in rows.items():
        r["x_essentia"] = r["clips_per_s"] / ess if ess else None
        if ess and len(r["runs"]) == len(rows[ESSENTIA_ROW]["runs"]) > 1:    # each round against its own Essentia run
            paired = [x / e for x, e in zip(r["runs"], rows[ESSENTIA_ROW]["runs"])]
            r["x_essentia_range"] = [min(paired), max(paired)]
        spread = f" ({min(r['runs']):.2f}-{max(r['runs']):.2f})" if len(r["runs"]) > 1 else ""
        x = f"{r['x_essentia']:.1f}x" if ess else "-"
        if "x_essentia_range" in r:
            x += f" ({r['x_essentia_range'][0]:.1f}-{r['x_essentia_range'][1]:.1f})"
        table.append([name, f"{r['clips_per_s']:.2f}{spread}", f"{r['peak_mb']:.0f}", x, r["note"]])
    result["rows"] = rows
    total = sum(stages.values())
    tables = [Table(["pipeline", "clips/s (median of the rounds; range)", "peak MB", "vs Essentia (range)", "how"],
                    table),
              Table(["stage (one core, per 30 s clip, 10 clips)", "seconds", "share"],
                    [[k, f"{v:.3f}", f"{v / total:.0%}"] for k, v in stages.items()] + [["all", f"{total:.3f}", ""]])]
    lines.append(f"so 2 cores could classify at most {2 / total:.2f} clips/s with this design (start-up aside)")
    result["stages_s_per_clip"] = stages
    if ess:
        x = rows[CLASSIFY]["x_essentia"]
        result["met"] = x >= AIM_X_ESSENTIA
        lines.append(f"aim: classify >= {AIM_X_ESSENTIA}x Essentia: {x:.1f}x (the median over {result['rounds']} "
                     f"round(s)), {'met' if result['met'] else 'MISSED'}")
    return Report(result, tables, lines)


if __name__ == "__main__":
    run_benchmark(measure, doc=__doc__, arguments=arguments)
