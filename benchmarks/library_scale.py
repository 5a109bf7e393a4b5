"""A collector's library: `genrefuse classify --jobs 2` over full-length songs, the packaged model beside the same
model analysing more windows of each song (the reference, same run), with each stage's cost and peak memory; and
`genrefuse ingest --jobs 2` of the same songs into a new library (copies), beside them.

    python benchmarks/library_scale.py [--tracks 32] [--work DIR] [--baseline-src OLD/src]
                                       [--json benchmarks/results/library_scale.json]

``--baseline-src``: also `classify` by an older source tree (its src folder, e.g. of a `git worktree`) with its own
packaged model, on the same songs in the same run.

The songs: GTZAN-free real audio as a collection holds it, 44.1 kHz stereo mp3. Full-length real songs are
scarce here (`real-dev` has one, a 3.6-minute jazz mp3: it is always in the set); the others are 4-minute mp3s
each made of eight real 30 s excerpts of one genre from `real-train` (so a song's windows are different
recordings: the agreement row says how often analysing fewer windows gives the same answer *on these*, which
is not a measurement of real songs). The time for 10,000 tracks is extrapolated: the start-up plus 10,000 times
what one more track cost (the whole sample's time less its first half's, per track; both share out evenly among the workers).
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import shared_data  # noqa: E402
from _harness import Report, Table, run  # noqa: E402
from peers import run as run_command, stage_costs  # noqa: E402

AIM_TRACKS_PER_HOUR = 10_000
REFERENCE_WINDOWS = 4          # the packaged model's policy before: 4 windows spread over the song
CHUNK = 8                      # files a classify task takes (its default)


def songs(work: Path, n: int) -> list[Path]:
    """``n`` full-length mp3s in ``work/songs`` (made once): the real-dev song, then assembled ones, genres in turn."""
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    folder = work / "songs"
    folder.mkdir(parents=True, exist_ok=True)
    real = shared_data() / "real-dev" / "jazz" / "protegerpw_jazz.mp3"
    out = []
    if real.is_file():
        shutil.copyfile(real, folder / real.name)
        out.append(folder / real.name)
    train = shared_data() / "real-train"
    rows = list(csv.DictReader(open(train / "SOURCES.tsv"), delimiter="\t"))
    by_genre: dict[str, list[dict]] = {}
    for r in rows:
        by_genre.setdefault(r["genre"], []).append(r)
    groups = [[rs[i:i + 8] for i in range(0, len(rs) - 7, 8)] for _, rs in sorted(by_genre.items())]
    turns = [g[k] for k in range(max(map(len, groups))) for g in groups if k < len(g)]     # genres in turn
    for i, group in enumerate(turns[:max(0, n - len(out))]):
        path = folder / f"{group[0]['genre']}-{i:03d}.mp3"
        if not path.is_file():
            y = np.concatenate([sf.read(train / r["file"], dtype="float32")[0] for r in group])
            y = resample_poly(y, 2, 1).astype(np.float32)             # 22050 -> 44100 Hz, as bought
            tmp = path.with_suffix(".part.mp3")
            sf.write(tmp, np.stack([y, y], axis=1), 44100, format="MP3")
            tmp.rename(path)
        out.append(path)
    return out


def with_windows(model: Path, windows: int, work: Path) -> Path:
    """A copy of the model folder ``model`` whose window policy analyses ``windows`` windows at most."""
    dest = work / f"model-{windows}w"
    shutil.copytree(model, dest, dirs_exist_ok=True)
    cfg = json.loads((dest / "config.json").read_text())
    cfg["window_policy"]["max_windows"] = windows
    (dest / "config.json").write_text(json.dumps(cfg, indent=1))
    return dest


def classify_run(folder: Path, model: Path, out: Path, src: Path | None = None) -> dict:
    """`genrefuse classify --jobs 2` of ``folder`` with ``model`` (by the source tree ``src``, else this one)."""
    import os

    out.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(src.resolve())} if src is not None else None
    wall, peak, _ = run_command([sys.executable, "-m", "genrefuse.cli", "classify", str(folder), "--model", str(model),
                                 "--out", str(out), "--jobs", "2", "-q"], env)
    with open(out) as f:
        answers = {r["path"]: r["genre"] for r in csv.DictReader(f)}
    return {"seconds": wall, "peak_mb": peak, "answers": answers}


def ingest_run(folder: Path, model: Path, library: Path) -> dict:
    """`genrefuse ingest --jobs 2` (copies, the default) of ``folder`` into a new library."""
    shutil.rmtree(library, ignore_errors=True)
    wall, peak, _ = run_command([sys.executable, "-m", "genrefuse.cli", "ingest", str(folder), "--library", str(library),
                                 "--model", str(model), "--jobs", "2", "-q"])
    return {"seconds": wall, "peak_mb": peak}


def extrapolated(whole: dict, half: dict, n: int) -> dict:
    """What one more track costs and the start-up, from the whole sample of ``n`` and its first half, and the
    hours 10,000 tracks would take."""
    per_track = (whole["seconds"] - half["seconds"]) / (n - n // 2)
    start = max(0.0, whole["seconds"] - per_track * n)
    return {"tracks_per_s": n / whole["seconds"], "seconds": whole["seconds"], "peak_mb": whole["peak_mb"],
            "marginal_s_per_track": per_track, "start_up_s": start,
            "hours_for_10000": (start + AIM_TRACKS_PER_HOUR * per_track) / 3600}


def interrupt_seconds(folder: Path, model: Path, out: Path, *, tries: int = 3) -> float:
    """Seconds from Ctrl-C (SIGINT to the process group, as a terminal sends it) to the exit of a `classify --jobs 2`
    that has written 3 rows (the documented "within about 2 s")."""
    import os
    import signal
    import subprocess

    out.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "genrefuse.cli", "classify", str(folder), "--model", str(model),
                             "--out", str(out), "--jobs", "2", "--chunk-size", "1", "-q"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            # as a terminal's command has it, even where this runs in the background (a shell's
                            # `cmd &` ignores SIGINT, and the child would inherit that)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and \
            not (out.is_file() and out.read_text().count("\n") >= 4):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    t = time.perf_counter()
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError("classify did not stop within 60 s of Ctrl-C") from None
    if code == 0 and tries > 1:          # it had finished before the signal came: try again
        return interrupt_seconds(folder, model, out, tries=tries - 1)
    if code != 130:
        raise RuntimeError(f"classify exited {code} after Ctrl-C (130 expected)")
    return time.perf_counter() - t


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--tracks", type=int, default=32, help="songs in the sample, rounded up to a multiple of 32 so that "
                    "the sample and its half share out evenly among 2 workers taking 8 files a task (default 32)")
    ap.add_argument("--stage-tracks", type=int, default=4, help="songs timed stage by stage on one core (default 4)")
    ap.add_argument("--work", type=Path, help="a folder to keep the songs in between runs (default: a temporary one)")
    ap.add_argument("--baseline-src", type=Path, help="an older genrefuse source tree (its src folder): its classify, "
                    "with its own packaged model, on the same songs")


def measure(a: argparse.Namespace) -> Report:
    if not (shared_data() / "real-train").is_dir():
        sys.exit(f"{shared_data() / 'real-train'}: not here; this benchmark needs the shared real recordings")
    import soundfile as sf

    from genrefuse.models.bundle import DEFAULT_MODEL_DIR

    work = a.work or Path(tempfile.mkdtemp(prefix="genrefuse-library-"))
    whole = -(-a.tracks // (4 * CHUNK)) * 4 * CHUNK          # classify's default: 8 files a task, here 2 workers
    tracks = songs(work, whole)
    if len(tracks) < whole:
        sys.exit(f"only {len(tracks)} songs could be made of {shared_data() / 'real-train'}; ask for fewer")
    folder, half = work / "library", work / "half"
    for where, some in ((folder, tracks), (half, tracks[:len(tracks) // 2])):
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir()
        for t in some:
            (where / t.name).hardlink_to(t)
    minutes = sum(sf.info(str(t)).duration for t in tracks) / len(tracks) / 60
    shipped = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["window_policy"]["max_windows"]
    models = {f"packaged ({shipped} window{'s' * (shipped > 1)})": DEFAULT_MODEL_DIR,
              f"same model, {REFERENCE_WINDOWS} windows (before)": with_windows(DEFAULT_MODEL_DIR, REFERENCE_WINDOWS, work)}
    rows, result = {}, {"tracks": len(tracks), "mean_minutes": minutes, "aim_tracks_per_hour": AIM_TRACKS_PER_HOUR}
    for name, model in models.items():
        r = classify_run(folder, model, work / "out.csv")
        h = classify_run(half, model, work / "out.csv")
        stages = stage_costs([str(t) for t in tracks[:a.stage_tracks]], str(model))
        rows[name] = {**extrapolated(r, h, len(tracks)), "windows": stages["windows"],
                      "stages_s_per_track": stages["stages"], "answers": r["answers"]}
    if a.baseline_src is not None:
        old_model = a.baseline_src / "genrefuse" / "default_model"
        r = classify_run(folder, old_model, work / "out.csv", a.baseline_src)
        h = classify_run(half, old_model, work / "out.csv", a.baseline_src)
        rows[f"packaged, from {a.baseline_src}"] = {**extrapolated(r, h, len(tracks)), "answers": r["answers"]}
    names = list(rows)
    # what a collector runs to keep the songs: ingest (analysis, its features cached, the recording's identity
    # from one more whole decode, the copy filed, the database row), beside classify of the same songs
    result["ingest"] = extrapolated(ingest_run(folder, DEFAULT_MODEL_DIR, work / "lib"),
                                    ingest_run(half, DEFAULT_MODEL_DIR, work / "lib"), len(tracks))
    shutil.rmtree(work / "lib", ignore_errors=True)
    same = sum(rows[names[0]]["answers"][p] == rows[names[1]]["answers"].get(p) for p in rows[names[0]]["answers"])
    result["agreement"] = same / len(tracks)
    if a.baseline_src is not None:
        old = rows[names[-1]]["answers"]
        result["agreement_with_baseline"] = sum(rows[names[0]]["answers"][p] == old.get(p)
                                                for p in rows[names[0]]["answers"]) / len(tracks)
    result["ctrl_c_s"] = [interrupt_seconds(folder, DEFAULT_MODEL_DIR, work / "out.csv") for _ in range(3)]
    hours = rows[names[0]]["hours_for_10000"]
    result["met"] = hours <= 1.0
    stage_names = list(rows[names[0]]["stages_s_per_track"])
    tables = [Table(["model", "tracks/s (sample)", "s a further track", "start-up s", "10,000 tracks (extrapolated)",
                     "peak MB", "windows a track"],
                    [[n, f"{r['tracks_per_s']:.2f}", f"{r['marginal_s_per_track']:.3f}", f"{r['start_up_s']:.1f}",
                      f"{r['hours_for_10000']:.2f} h", f"{r['peak_mb']:.0f}", f"{r.get('windows', 1.0):.1f}"]
                     for n, r in [*rows.items(), (f"{names[0].split(' (')[0]}: ingest --jobs 2 (copies)",
                                                  {**result["ingest"], "windows": rows[names[0]]["windows"]})]],
                    f"{len(tracks)} songs of {minutes:.1f} minutes on average, --jobs 2 (start-up included)"),
              Table(["stage (one core, s a track)", *names[:2]],
                    [[s, *(f"{rows[n]['stages_s_per_track'][s]:.3f}" for n in names[:2])] for s in stage_names]
                    + [["all", *(f"{sum(rows[n]['stages_s_per_track'].values()):.3f}" for n in names[:2])]])]
    lines = [f"same answer with {rows[names[0]]['windows']:.0f} and {REFERENCE_WINDOWS} windows: {same} of {len(tracks)}"
             " (assembled songs: windows of different recordings)",
             *([f"same answer as {names[-1]}: {result['agreement_with_baseline']:.0%}"] if a.baseline_src else []),
             f"Ctrl-C to exit, classify --jobs 2, 3 tries: {', '.join(f'{x:.2f} s' for x in result['ctrl_c_s'])}",
             f"aim: {AIM_TRACKS_PER_HOUR:,} tracks within an hour; extrapolated {hours:.2f} h: "
             f"{'met' if result['met'] else 'MISSED'}"]
    for r in rows.values():
        r.pop("answers")
    result["rows"] = rows
    return Report(result, tables, lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
