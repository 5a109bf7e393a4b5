"""The musicnn taggers as ONNX graphs shipped in the package, and the command that rebuilds them.

Prediction runs the taggers from these files in ONNX Runtime, so it needs neither PyTorch, nor the onnx
package, nor the musicnn wheel. Each graph is the PyTorch port (``musicnn.py``) with the wheel's
MSD_musicnn (the default tagger) or MTT_musicnn weights (the second expert, :mod:`genrefuse.models.evidence`),
exported by ``make tagger-graph`` (``python -m genrefuse.pretrained.graph``;
needs the ``[train]`` extra and the musicnn wheel). The weights are musicnn's, under its ISC licence:
``tagger_graph/LICENSE.md`` carries the notice, ``tagger_graph/source.json`` what the graph was built from.

Each tagger ships twice: ``<name>.onnx`` in float32, equal to the port and to the wheel's TensorFlow graph, and
``<name>.int8.onnx``, the one prediction runs (:data:`.tagger.PRECISION`), with its two timbral convolutions (82%
of the arithmetic) in 8-bit integers: weights per output channel, activations over the range they took on
calibration patches of real recordings (``--calibration DIR``: every :data:`CALIBRATION_EVERY`-th recording under
``DIR``, up to 28 patches of its middle 30 s each). Integer products are exact, so the int8 graph gives the same tags on
any CPU whose 8-bit dot products ONNX Runtime runs exactly (VNNI, AMX); on older x86 CPUs its kernels can
saturate pairwise sums, so the tags there may differ slightly.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .. import onnxrt
from ..errors import DataError, ModelError
from ..io import atomic_path, file_hash, write_text_atomic

from .weights import MSD, MTT

FOLDER = Path(__file__).with_name("tagger_graph")
GRAPHS = (MSD, MTT)                     # the taggers shipped, each as <name>.onnx and <name>.int8.onnx
PRECISIONS = ("int8", "float32")
CALIBRATION_EVERY = 17                  # of the sorted recordings under --calibration: 30 of real-train's 507


def graph_name(model: str, precision: str = "float32") -> str:
    """``<model>.onnx`` (float32) or ``<model>.<precision>.onnx``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    return f"{model}.onnx" if precision == "float32" else f"{model}.{precision}.onnx"


def shipped_graph(model: str = MSD, *, precision: str = "float32") -> Path | None:
    """The packaged graph of ``model`` at ``precision``, or None in a checkout where it was never built."""
    path = FOLDER / graph_name(model, precision)
    return path if path.is_file() else None


def tags_and_penultimate(net, patches):
    """What the graph computes: patches ``(n, 187, 96)`` -> (sigmoid tags ``(n, 50)``, penultimate ``(n, 200)``)."""
    import torch

    logits, penultimate = net(patches)
    return torch.sigmoid(logits), penultimate


def export_graph(weights: Path, path: Path) -> Path:
    """The ONNX graph of the port with converted musicnn ``weights`` (safetensors, of either tagger: one
    architecture, 50 tags), written to ``path``."""
    import torch

    from .musicnn import load_musicnn
    from .weights import N_MELS, PATCH_FRAMES

    return onnxrt.export_module(onnxrt.graph_of(load_musicnn(weights), tags_and_penultimate),
                                (torch.zeros(2, PATCH_FRAMES, N_MELS),), path, inputs=["patches"],
                                outputs=["tags", "penultimate"])


def calibration_patches(folder: Path, *, every: int = CALIBRATION_EVERY) -> tuple[np.ndarray, list[str]]:
    """The tagger's input patches ``(n, 187, 96)`` of every ``every``-th audio file under ``folder`` (sorted by
    path): each one's middle 30 s, as the default model analyses it, with patches every second; and the files'
    paths relative to ``folder``."""
    from ..audio import WindowPolicy, iter_audio_files, iter_windows, resample
    from ..features import musicnn_input as mi
    from ..features.params import DEFAULT_PARAMS

    files = sorted(iter_audio_files([folder]))[::every]
    if not files:
        raise DataError(f"{folder}: no audio files to calibrate the int8 taggers on")
    patches = []
    for path in files:
        for y, sr in iter_windows(path, policy=WindowPolicy(max_windows=1)):
            y = resample(y, sr, DEFAULT_PARAMS.sr)
            patches.append(mi.tagger_patches(y, DEFAULT_PARAMS.sr))
    return np.concatenate(patches), [str(p.relative_to(folder)) for p in files]


def quantize_graph(graph: Path, path: Path, patches: np.ndarray) -> Path:
    """``graph`` (float32) with its two timbral convolutions in int8, written to ``path``: weights per output
    channel (int8, symmetric), the convolutions' inputs and outputs (uint8) over the range they took on
    ``patches`` ``(n, 187, 96)`` (min-max). The rest stays float32: quantising it too cost accuracy (the top tag
    changed on a quarter of the patches) and, in ONNX Runtime 1.32 on this CPU, time."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Patches(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(range(len(patches)))

        def get_next(self):
            i = next(self.rows, None)
            return None if i is None else {"patches": np.ascontiguousarray(patches[i:i + 1], np.float32)}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(graph), str(pre), skip_symbolic_shape=True)
        timbral = [n.name for n in onnx.load(pre).graph.node
                   if n.op_type == "Conv" and n.input[1].startswith("inner.timbral.")]
        if len(timbral) != 2:
            raise ModelError(f"{graph}: expected the two timbral convolutions, found {timbral}")
        with atomic_path(path, suffix=".onnx") as out:
            quantize_static(str(pre), str(out), Patches(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            nodes_to_quantize=timbral, calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    return path


def quantize(calibration: Path, out: Path = FOLDER) -> list[Path]:
    """The int8 graphs of the float32 ones in ``out`` (:func:`quantize_graph`), calibrated on the recordings
    under ``calibration``, recorded in ``out/source.json``."""
    patches, files = calibration_patches(calibration)
    meta_path = Path(out) / "source.json"
    meta = json.loads(meta_path.read_text())
    made = []
    for model in GRAPHS:
        graph = quantize_graph(Path(out) / graph_name(model), Path(out) / graph_name(model, "int8"), patches)
        made.append(graph)
        meta["graphs"][model]["int8"] = {
            "graph": graph.name, "graph_sha256": file_hash(graph), "quantized": "the two timbral convolutions",
            "calibration": {"folder": calibration.name, "every": CALIBRATION_EVERY, "recordings": len(files),
                            "patches": len(patches), "files": files}}
    write_text_atomic(meta_path, json.dumps(meta, indent=2) + "\n")
    return made


def build(out: Path = FOLDER, *, calibration: Path | None = None) -> list[Path]:
    """Rebuild the shipped graphs in ``out`` from the installed musicnn wheel: the graphs, their licence
    notice and ``source.json``; with ``calibration`` (a folder of recordings), their int8 graphs too."""
    import importlib.metadata

    import torch

    from .musicnn import weights_path
    from .weights import DENSE, N_MELS, PATCH_FRAMES, TAGS

    dist = importlib.metadata.distribution("musicnn")
    graphs, sources = [], {}
    for model in GRAPHS:
        weights = weights_path(model=model)         # the wheel's checkpoint, converted once
        graph = export_graph(weights, Path(out) / graph_name(model))
        graphs.append(graph)
        sources[model] = {"graph": graph.name, "graph_sha256": file_hash(graph),
                          "converted_weights_sha256": file_hash(weights),
                          "outputs": {"tags": ["n", len(TAGS[model])], "penultimate": ["n", DENSE]}}
    write_text_atomic(Path(out) / "LICENSE.md", f"The weights in {' and '.join(g.name for g in graphs)} come from "
                      f"the musicnn package {dist.version} (https://github.com/jordipons/musicnn), under this "
                      "licence:\n\n" + dist.read_text("LICENSE.md"))
    write_text_atomic(Path(out) / "source.json", json.dumps({
        "musicnn": dist.version, "torch": torch.__version__.split("+")[0],
        "inputs": {"patches": ["n", PATCH_FRAMES, N_MELS]}, "graphs": sources,
        "rebuild": "make tagger-graph"}, indent=2) + "\n")
    return graphs + (quantize(calibration, out) if calibration is not None else [])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Rebuild the musicnn taggers' ONNX graphs shipped in the package.")
    ap.add_argument("--out", type=Path, default=FOLDER, help=f"folder to write them to (default {FOLDER})")
    ap.add_argument("--calibration", type=Path, metavar="DIR",
                    help="recordings to calibrate the int8 graphs on (make tagger-graph: ../shared/data/real-train); "
                         "without it only the float32 graphs are made")
    ap.add_argument("--int8-only", action="store_true",
                    help="only quantise the float32 graphs already in --out (no musicnn wheel or PyTorch needed)")
    a = ap.parse_args(argv)
    if a.int8_only and a.calibration is None:
        ap.error("--int8-only needs --calibration DIR")
    try:
        made = quantize(a.calibration, a.out) if a.int8_only else build(a.out, calibration=a.calibration)
    except (DataError, ModelError) as exc:
        raise SystemExit(f"error: {exc}") from None
    for graph in made:
        print(f"{graph} ({graph.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
