"""Peak resident memory and time of `genrefuse predict` (a fresh process each) on a 30 s clip and on
10- and 60-minute files, with an `mlp+musicnn` model: memory must stay flat with the track's length.

    python benchmarks/memory.py --json out/bench/memory.json

The model is trained here for a few epochs: on the public GTZAN table and the published taggrams when
../shared/data has them, else on a synthetic table and synthetic taggrams (the model's size, not its
accuracy, matters for memory). The long files repeat a real GTZAN clip (or a synthetic one).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
BOUND_MB = 800


def genrefuse(*args: str) -> list[str]:
    return [sys.executable, "-m", "genrefuse.cli", *args]


def synthetic_training_data(folder: Path) -> tuple[Path, Path]:
    """A 57-column table of 20 tracks per genre and taggrams of 28 patches per track."""
    from genrefuse.features.table import TABLE_COLUMNS

    rng = np.random.default_rng(0)
    rows, X, ids = [], [], []
    for g_i, g in enumerate(GENRES):
        for t in range(20):
            name = f"{g}.{t:05d}"
            values = rng.normal(g_i, 1.0, 57)
            rows.append([f"{name}.wav", 661794, *values, g])
            X.append(np.clip(rng.normal(0.1 + 0.05 * g_i, 0.05, (28, 50)), 0, 1))
            ids += [f"{g}/{name}.au"] * 28
    table = folder / "table.csv"
    with table.open("w") as f:
        f.write(",".join(TABLE_COLUMNS) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")
    emb = folder / "taggrams.npz"
    np.savez(emb, X=np.concatenate(X).astype(np.float32), IDS=np.array(ids))
    return table, emb


def training_data(folder: Path) -> tuple[Path, Path, str]:
    table = SHARED / "gtzan-features" / "features_30_sec.csv"
    emb = SHARED / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz"
    if table.is_file() and emb.is_file():
        return table, emb, "GTZAN table + published taggrams of the 443 FF training tracks"
    return (*synthetic_training_data(folder), "synthetic table and taggrams (../shared/data absent)")


def source_clip() -> tuple[np.ndarray, int, str]:
    clip = SHARED / "gtzan-clips" / "disco" / "disco.00000.au"
    if clip.is_file():
        y, sr = sf.read(clip, dtype="float32")
        return y, sr, str(clip.name)
    sr = 22050
    t = np.arange(30 * sr) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t)))
    return y.astype(np.float32), sr, "a synthetic 30 s clip"


def write_long(path: Path, y: np.ndarray, sr: int, seconds: float) -> Path:
    """``seconds`` of ``y`` repeated, written block by block (the writer never holds the whole file)."""
    n = int(seconds * sr)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for start in range(0, n, len(y)):
            f.write(y[: min(len(y), n - start)])
    return path


def peak_of(cmd: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, stdout) of ``cmd`` run in a fresh wrapper process (so the children's
    peak is this command's alone; it survives the CLI's re-exec with tcmalloc)."""
    wrapper = ("import resource, subprocess, sys, json; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
               "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr[-2000:],"
               "'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    res = json.loads(r.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res['err']}")
    return res["kb"] / 1024, seconds, res["out"].strip()


def arguments(ap) -> None:
    ap.add_argument("--minutes", type=float, nargs="+", default=[0.5, 10, 60], help="track lengths (default 0.5 10 60)")


def measure(a) -> Report:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table, emb, data = training_data(tmp)
        subprocess.run(genrefuse("train", str(table), "--model", "mlp+musicnn", "--embeddings", str(emb),
                                 "--epochs", "10", "--out", str(tmp / "run")), check=True, capture_output=True)
        y, sr, source = source_clip()
        subprocess.run(genrefuse("predict", str(tmp / "run" / "model"), str(write_long(tmp / "warm.wav", y, sr, 30))),
                       check=True, capture_output=True)             # converts the weights, exports ONNX once
        rows = []
        for minutes in a.minutes:
            path = write_long(tmp / f"{minutes:g}min.wav", y, sr, minutes * 60)
            mb, seconds, out = peak_of(genrefuse("predict", str(tmp / "run" / "model"), str(path), "--json"))
            pred = json.loads(out.splitlines()[-1])
            rows.append({"minutes": minutes, "peak_mb": round(mb, 1), "seconds": round(seconds, 2),
                         "windows": pred["windows"], "genre": pred["genre"], "within_bound": mb <= BOUND_MB})
            path.unlink()
    return Report({"benchmark": "predict peak memory", "model": "mlp+musicnn", "training_data": data,
                   "audio": source, "bound_mb": BOUND_MB, "results": rows},
                  [Table(["track", "peak memory", "time (fresh process)", "windows analysed", f"within {BOUND_MB} MB"],
                         [[f"{r['minutes']:g} min", f"{r['peak_mb']:.0f} MB", f"{r['seconds']:.1f} s", r["windows"],
                           "yes" if r["within_bound"] else "NO"] for r in rows],
                         title=f"`genrefuse predict` with an mlp+musicnn model ({data}); audio: {source} repeated")])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
