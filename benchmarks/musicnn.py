"""The musicnn branch's cost per 30 s clip: decoding to 16 kHz (with the 2019 resampling filter the
published taggrams need, beside librosa's default soxr for scale), the log-Mel patches, and the ported
network in eager PyTorch against ONNX Runtime (same threads), with the largest tag difference between the two;
then each tagger's shipped graphs, float32 against int8 (the one prediction runs), in time per patch and in
how far the int8 graph's tags and penultimate features move.

    python benchmarks/musicnn.py --json benchmarks/results/musicnn.json [--clips DIR] [--threads N]
                                 [--baseline-graphs OLD/src/genrefuse/pretrained/tagger_graph]

--clips: a folder of audio (default: the real GTZAN clips in ../shared/data when present, else a 30 s
synthetic clip written to a temporary folder). --baseline-graphs: the int8 graphs of an older tree (e.g. a `git
worktree` of an earlier commit), timed in the same turns as the reference for a speed-up.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

from genrefuse.audio import load, load_native  # noqa: E402
from genrefuse.features import musicnn_input as mi  # noqa: E402
from genrefuse.pretrained.tagger import load_tagger  # noqa: E402

SHARED_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-clips"


def clip_paths(folder: Path | None) -> list[Path]:
    folder = folder or (SHARED_CLIPS if SHARED_CLIPS.is_dir() else None)
    if folder is None:
        import soundfile as sf

        from genrefuse.datasets.synth import render_clip

        folder = Path(tempfile.mkdtemp())
        sf.write(folder / "synth.wav", render_clip("techno", seconds=30.0, seed=0), 22050)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".au", ".wav", ".flac", ".ogg", ".mp3"))


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clips", type=Path)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeats", type=int, default=5, help="timings per graph, best kept (default 5)")
    ap.add_argument("--baseline-graphs", type=Path, metavar="DIR",
                    help="a folder of older <tagger>.int8.onnx graphs to time beside the shipped ones")


def measure(a: argparse.Namespace) -> Report:
    torch.set_num_threads(a.threads)
    paths = clip_paths(a.clips)
    torch_tagger, onnx_tagger = load_tagger(backend="torch"), load_tagger(backend="onnx", precision="float32")
    rows, table = [], []
    for path in paths:
        decode = best_of(lambda: mi.resample(*load_native(path)))
        soxr = best_of(lambda: load(path, sr=mi.SR))
        y = mi.resample(*load_native(path))
        mel = best_of(lambda: mi.patches(mi.log_mel(y)))
        P = mi.patches(mi.log_mel(y))
        tt, to = best_of(lambda: torch_tagger.taggram(P)), best_of(lambda: onnx_tagger.taggram(P))
        diff = float(np.abs(torch_tagger.taggram(P)[0] - onnx_tagger.taggram(P)[0]).max())
        rows.append({"clip": path.name, "seconds": len(y) / mi.SR, "patches": len(P), "decode_s": decode,
                     "decode_soxr_s": soxr, "mel_s": mel, "torch_s": tt, "onnx_s": to, "speedup": tt / to, "max_abs_tag_difference": diff})
        table.append([path.name, f"{decode:.3f}", f"{soxr:.3f}", f"{mel:.3f}", f"{tt:.3f}", f"{to:.3f}", f"{tt / to:.2f}x",
                      f"{diff:.1e}"])
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("decode_s", "decode_soxr_s", "mel_s", "torch_s", "onnx_s", "speedup")}
    line = (f"mean per clip: torch path {mean['decode_s'] + mean['mel_s'] + mean['torch_s']:.2f} s, "
            f"onnx path {mean['decode_s'] + mean['mel_s'] + mean['onnx_s']:.2f} s ({a.threads} threads)")
    int8 = precisions(paths, repeats=a.repeats, baseline=a.baseline_graphs)
    before = bool(a.baseline_graphs)
    return Report({"threads": a.threads, "clips": rows, "mean": mean, "int8": int8},
                  [Table(["clip", "decode s", "soxr s", "mel s", "torch s", "onnx s", "speedup", "largest tag difference"],
                         table),
                   Table(["tagger", "float32 ms a patch", "int8 ms a patch", "int8 time", "tags: mean difference",
                          "tags: largest", "same top tag", "penultimate: mean difference / spread"]
                         + (["baseline int8 ms a patch", "baseline tags: mean difference"] if before else []),
                         [[m, f"{r['float32_ms']:.1f}", f"{r['int8_ms']:.1f}", f"{r['int8_ms'] / r['float32_ms']:.0%}",
                           f"{r['tag_mean_abs']:.4f}", f"{r['tag_max_abs']:.3f}", f"{r['same_top_tag']:.0%}",
                           f"{r['penultimate_rel']:.1%}"]
                          + ([f"{r['baseline']['int8_ms']:.1f}", f"{r['baseline']['tag_mean_abs']:.4f}"] if before else [])
                          for m, r in int8["taggers"].items()])], [line])


def precisions(paths: list[Path], *, repeats: int, baseline: Path | None = None) -> dict:
    """Each tagger's float32 and int8 graphs on every patch of ``paths``, one patch per call as prediction
    runs them, one thread: ms a patch (best of ``repeats``, the graphs taking turns) and the int8 graph's
    differences; with ``baseline``, also the int8 graph of that folder (an older tree's), taking turns too."""
    from genrefuse.pretrained.graph import GRAPHS, shipped_graph
    from genrefuse.pretrained.tagger import OnnxMusiCNN

    P = np.concatenate([mi.tagger_patches(*load_native(p)) for p in paths])
    out = {"patches": len(P), "threads": 1, "taggers": {}}
    for model in GRAPHS:
        graphs = {precision: OnnxMusiCNN(shipped_graph(model, precision=precision), threads=1)
                  for precision in ("float32", "int8")}
        if baseline is not None:
            graphs["baseline"] = OnnxMusiCNN(baseline / f"{model}.int8.onnx", threads=1)
        times = {k: [] for k in graphs}
        for _ in range(repeats):
            for k, tagger in graphs.items():
                t = time.perf_counter()
                tagger.taggram(P)
                times[k].append(time.perf_counter() - t)
        exact, fast = graphs["float32"].taggram(P), graphs["int8"].taggram(P)
        d = np.abs(fast[0] - exact[0])
        out["taggers"][model] = {
            "float32_ms": 1000 * min(times["float32"]) / len(P), "int8_ms": 1000 * min(times["int8"]) / len(P),
            "tag_mean_abs": float(d.mean()), "tag_max_abs": float(d.max()),
            "same_top_tag": float((fast[0].argmax(1) == exact[0].argmax(1)).mean()),
            "penultimate_rel": float(np.abs(fast[1] - exact[1]).mean() / exact[1].std())}
        if baseline is not None:
            old = graphs["baseline"].taggram(P)
            out["taggers"][model]["baseline"] = {
                "graph": str(baseline / f"{model}.int8.onnx"), "int8_ms": 1000 * min(times["baseline"]) / len(P),
                "tag_mean_abs": float(np.abs(old[0] - exact[0]).mean()), "tag_max_abs": float(np.abs(old[0] - exact[0]).max()),
                "penultimate_rel": float(np.abs(old[1] - exact[1]).mean() / exact[1].std())}
    return out


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
