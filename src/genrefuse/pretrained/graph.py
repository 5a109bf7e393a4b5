"""The musicnn taggers as ONNX graphs shipped in the package, and the command that rebuilds them.

Prediction runs the taggers from these files in ONNX Runtime, so it needs neither PyTorch, nor the onnx
package, nor the musicnn wheel. Each graph is the PyTorch port (``musicnn.py``) with the wheel's
MSD_musicnn (the default tagger) or MTT_musicnn weights (the second expert, :mod:`genrefuse.models.evidence`),
exported by ``make tagger-graph`` (``python -m genrefuse.pretrained.graph``;
needs the ``[train]`` extra and the musicnn wheel). The weights are musicnn's, under its ISC licence:
``tagger_graph/LICENSE.md`` carries the notice, ``tagger_graph/source.json`` what the graph was built from.

Each tagger ships twice: ``<name>.onnx`` in float32, equal to the port and to the wheel's TensorFlow graph, and
``<name>.int8.onnx``, the one prediction runs (:data:`.tagger.PRECISION`), with its two timbral convolutions (82%
of the arithmetic) as 8-bit integer matrix products (:func:`quantize_graph`): weights per output channel, the input
over the range it took on calibration patches of real recordings (``--calibration DIR``: every
:data:`CALIBRATION_EVERY`-th recording under ``DIR``, up to 28 patches of its middle 30 s each). Integer products are
exact, so the int8 graph gives the same tags on any CPU whose 8-bit dot products ONNX Runtime runs exactly (VNNI,
AMX); on older x86 CPUs its kernels can saturate pairwise sums, so the tags there may differ slightly.
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


# The front end's layers as the port exports them (musicnn.py): per kernel, a convolution over the BN'd input patch,
# a ReLU, a batch norm and a max over the frequency axis. Two timbral kernels (7 frames x 38 and x 67 bands, 204
# filters each) and three temporal ones (128, 64 and 32 frames x 1 band, 51 filters each); their maxima are
# concatenated (204 + 204 + 3 x 51 = 561 channels) into what the mid end reads.
TIMBRAL = ("/inner/timbral.0", "/inner/timbral.1")
TEMPORAL = ("/inner/temporal.0", "/inner/temporal.1", "/inner/temporal.2")
TIMBRAL_PAD = 3                          # the 'same' padding of the 7-frame timbral kernels, before and after


def quantize_graph(graph: Path, path: Path, patches: np.ndarray) -> Path:
    """``graph`` (float32) rewritten to run its front end faster, written to ``path``; calibrated on ``patches``
    ``(n, 187, 96)`` (only the range of the BN'd input is read from them).

    - **The timbral convolutions in 8-bit integers, as matrix products.** A kernel of 7 frames x F bands at each of
      its 96 - F + 1 offsets along the bands is one product of the input's windows there (``(187 x offsets, F x 7)``,
      uint8, cut from the patch in the graph) with the kernel (``(F x 7, 204)``, int8). ONNX Runtime runs that on its
      integer GEMM kernels (AMX on this project's CPU), faster than its int8 convolution. Weights per filter
      (symmetric, 127 steps); the input over its range on the calibration patches, zero padding included
      (min-max); the products are exact integers and come out in float32 with the float bias added
      (``com.microsoft.MatMulIntegerToFloat``): nothing is rounded to 8 bits after the product.
    - **Max before ReLU and batch norm** (every front-end kernel, the temporal ones stay float32). Per channel
      ``max_f(a relu(z_f) + b)`` is ``a relu(max_f z_f) + b`` for ``a >= 0`` and ``a relu(min_f z_f) + b`` for
      ``a < 0``; a channel with ``a < 0`` has its weights and bias negated, so one max serves both, and the ReLU and
      batch norm run on the frequency-pooled ``(n, 561, 187)`` instead of the whole ``(n, C, 187, bands)`` maps.
      Exact up to float rounding.

    The rest of the graph is left as it is: quantising it too cost accuracy (the top tag changed on a quarter of
    the patches) and, in ONNX Runtime 1.32 on this CPU, time."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(graph)
    g = model.graph
    arrays = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    by_name = {n.name: n for n in g.node}

    def layer(name: str) -> onnx.NodeProto:
        if name not in by_name:
            raise ModelError(f"{graph}: no node {name!r}: not the musicnn port's graph (make tagger-graph)")
        return by_name[name]

    def consumer(tensor: str, op: str) -> onnx.NodeProto:
        found = [n for n in g.node if tensor in n.input and n.op_type == op]
        if len(found) != 1:
            raise ModelError(f"{graph}: expected one {op} reading {tensor}, found {len(found)}")
        return found[0]

    def batch_norm(node: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray]:
        """A BatchNormalization node as ``a x + b`` per channel."""
        gamma, beta, mean, var = (arrays[i] for i in node.input[1:5])
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        a = gamma / np.sqrt(var + eps)
        return a, beta - mean * a

    bn_input = layer("/inner/bn_input/BatchNormalization")
    x = bn_input.output[0]                                  # (n, 1, 187, 96), float32
    a_in, b_in = batch_norm(bn_input)
    frames, bands = patches.shape[1:]
    seen = patches.astype(np.float64) * a_in[0] + b_in[0]
    lo, hi = min(0.0, float(seen.min())), max(0.0, float(seen.max()))
    in_scale = np.float32((hi - lo) / 255)
    in_zero = np.uint8(np.clip(round(-lo / float(in_scale)), 0, 255))

    new, tensors, dropped = [], [], set()

    def const(name: str, value) -> str:
        if name not in {t.name for t in tensors}:
            tensors.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attrs) -> str:
        new.append(helper.make_node(kind, inputs, [output], name=output, domain="com.microsoft" if
                                    kind == "MatMulIntegerToFloat" else "", **attrs))
        return output

    def chain(prefix: str) -> tuple[onnx.NodeProto, onnx.NodeProto, onnx.NodeProto]:
        """A front-end kernel's Conv, BatchNormalization and ReduceMax nodes; its ReLU, batch norm and max are
        dropped from the graph."""
        conv = layer(f"{prefix}/Conv")
        relu = consumer(conv.output[0], "Relu")
        bn = consumer(relu.output[0], "BatchNormalization")
        pool = consumer(bn.output[0], "ReduceMax")
        dropped.update(n.name for n in (relu, bn, pool))
        return conv, bn, pool

    # the padded input in uint8, each band's 7 frames side by side: (n, 1, 187, 96, 7)
    pad = layer("/inner/Pad")
    dropped.add(pad.name)
    padded = op("Pad", [x, const("int8/pads", np.array([0, 0, TIMBRAL_PAD, 0, 0, 0, TIMBRAL_PAD, 0], np.int64))],
                "int8/padded")
    q = op("QuantizeLinear", [padded, const("int8/input_scale", in_scale), const("int8/input_zero", in_zero)],
           "int8/input")
    width = 2 * TIMBRAL_PAD + 1
    rows = [op("Unsqueeze", [op("Slice", [q, const(f"int8/from{dt}", np.array([dt], np.int64)),
                                          const(f"int8/to{dt}", np.array([dt + frames], np.int64)),
                                          const("int8/time", np.array([2], np.int64))], f"int8/frames{dt}"),
                             const("int8/last", np.array([4], np.int64))], f"int8/rows{dt}") for dt in range(width)]
    grid = op("Concat", rows, "int8/unfolded", axis=4)                 # (n, 1, 187, 96, 7): each band's 7 frames
    along_bands = const("int8/bands", np.array([3], np.int64))

    pooled, signs, scales, shifts, outputs = [], [], [], [], []
    for prefix in TIMBRAL:
        conv, bn, pool = chain(prefix)
        dropped.add(conv.name)
        if conv.input[0] != pad.output[0]:
            raise ModelError(f"{graph}: {conv.name} does not read the padded input")
        a, b = batch_norm(bn)
        sign = np.where(a >= 0, 1.0, -1.0)
        w = arrays[conv.input[1]][:, 0] * sign[:, None, None]          # (C, 7, F)
        bias = arrays[conv.input[2]] * sign
        channels, kt, f = w.shape
        if kt != width:
            raise ModelError(f"{graph}: {conv.name} spans {kt} frames, not {width}")
        w_scale = np.abs(w).reshape(channels, -1).max(axis=1) / 127
        w_scale[w_scale == 0] = 1.0
        wq = np.round(w / w_scale[:, None, None]).astype(np.int8)
        offsets = bands - f + 1
        name = prefix.strip("/").replace("/", ".")
        # each of the kernel's offsets along the bands: the input's F bands x 7 frames there, side by side
        cuts = [op("Slice", [grid, const(f"int8/{name}.from{o}", np.array([o], np.int64)),
                             const(f"int8/{name}.to{o}", np.array([o + f], np.int64)), along_bands], f"int8/{name}.cut{o}")
                for o in range(offsets)]
        cols = op("Concat", cuts, f"int8/{name}.columns", axis=3)                 # (n, 1, 187, offsets x F, 7)
        cols = op("Reshape", [cols, const(f"int8/{name}.rows", np.array([0, 0, frames * offsets, f * kt], np.int64))],
                  f"int8/{name}.im2col")
        z = op("MatMulIntegerToFloat", [cols, const(f"int8/{name}.weight", np.ascontiguousarray(
                                        wq.transpose(2, 1, 0).reshape(f * kt, channels))),
                                        "int8/input_scale", const(f"int8/{name}.scale", w_scale.astype(np.float32)),
                                        "int8/input_zero", "", const(f"int8/{name}.bias", bias.astype(np.float32))],
               f"int8/{name}")                                           # (n, 1, 187 x offsets, C)
        z = op("Reshape", [z, const(f"int8/{name}.shape", np.array([-1, frames, offsets, channels], np.int64))],
               f"int8/{name}.maps")
        z = op("ReduceMax", [z, const(f"int8/{name}.axis", np.array([2], np.int64))], f"int8/{name}.max", keepdims=0)
        pooled.append(op("Transpose", [z], f"int8/{name}.pooled", perm=[0, 2, 1]))      # (n, C, 187)
        signs.append(sign), scales.append(a), shifts.append(b), outputs.append(pool.output[0])
    for prefix in TEMPORAL:
        conv, bn, pool = chain(prefix)
        a, b = batch_norm(bn)
        sign = np.where(a >= 0, 1.0, -1.0)
        name = prefix.strip("/").replace("/", ".")
        conv.input[1] = const(f"front/{name}.weight", (arrays[conv.input[1]] * sign[:, None, None, None]).astype(np.float32))
        conv.input[2] = const(f"front/{name}.bias", (arrays[conv.input[2]] * sign).astype(np.float32))
        pooled.append(op("ReduceMax", [conv.output[0], const(f"front/{name}.axis", np.array([3], np.int64))],
                         f"front/{name}.pooled", keepdims=0))                            # (n, C, 187)
        signs.append(sign), scales.append(a), shifts.append(b), outputs.append(pool.output[0])
    concat = consumer(outputs[0], "Concat")
    if list(concat.input) != outputs:
        raise ModelError(f"{graph}: the front end's maxima are not concatenated in the expected order")
    dropped.add(concat.name)
    column = lambda parts: np.concatenate(parts).astype(np.float32)[:, None]      # noqa: E731
    v = op("Concat", pooled, "front/pooled", axis=1)
    v = op("Relu", [op("Mul", [v, const("front/sign", column(signs))], "front/signed")], "front/relu")
    v = op("Mul", [v, const("front/bn_scale", column(scales))], "front/bn_scaled")
    op("Add", [v, const("front/bn_shift", column(shifts))], concat.output[0])

    at = [n.name for n in g.node].index(concat.name)
    nodes = [n for n in g.node[:at] if n.name not in dropped] + new + [n for n in g.node[at:] if n.name not in dropped]
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
    while True:                                  # what fed only the dropped nodes (their axes' Constant nodes) goes too
        used = {i for n in nodes for i in n.input} | {o.name for o in g.output}
        kept_nodes = [n for n in nodes if any(o in used for o in n.output)]
        if len(kept_nodes) == len(nodes):
            break
        nodes = kept_nodes
    kept = [onnx.TensorProto.FromString(t.SerializeToString()) for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + tensors)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    with atomic_path(path, suffix=".onnx") as out:
        onnx.save(model, str(out))
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
            "graph": graph.name, "graph_sha256": file_hash(graph), "quantized": "the two timbral convolutions, as integer matrix products",
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
