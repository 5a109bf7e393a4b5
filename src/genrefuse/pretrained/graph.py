"""The musicnn taggers as ONNX graphs shipped in the package, and the command that rebuilds them.

Prediction runs the taggers from these files in ONNX Runtime, so it needs neither PyTorch, nor the onnx
package, nor the musicnn wheel. Each graph is the PyTorch port (``musicnn.py``) with the wheel's
MSD_musicnn (the default tagger) or MTT_musicnn weights (the second expert, :mod:`genrefuse.models.evidence`),
exported by ``make tagger-graph`` (``python -m genrefuse.pretrained.graph``;
needs the ``[train]`` extra and the musicnn wheel). The weights are musicnn's, under its ISC licence:
``tagger_graph/LICENSE.md`` carries the notice, ``tagger_graph/source.json`` what the graph was built from.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import onnxrt
from ..io import file_hash, write_text_atomic

from .weights import MSD, MTT

FOLDER = Path(__file__).with_name("tagger_graph")
GRAPHS = (MSD, MTT)                     # the taggers shipped, each as <name>.onnx


def shipped_graph(model: str = MSD) -> Path | None:
    """The packaged graph of ``model``, or None in a checkout where it was never built."""
    path = FOLDER / f"{model}.onnx"
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


def build(out: Path = FOLDER) -> list[Path]:
    """Rebuild the shipped graphs in ``out`` from the installed musicnn wheel: the graphs, their licence
    notice and ``source.json``."""
    import importlib.metadata

    import torch

    from .musicnn import weights_path
    from .weights import DENSE, N_MELS, PATCH_FRAMES, TAGS

    dist = importlib.metadata.distribution("musicnn")
    graphs, sources = [], {}
    for model in GRAPHS:
        weights = weights_path(model=model)         # the wheel's checkpoint, converted once
        graph = export_graph(weights, Path(out) / f"{model}.onnx")
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
    return graphs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Rebuild the musicnn tagger's ONNX graph shipped in the package.")
    ap.add_argument("--out", type=Path, default=FOLDER, help=f"folder to write it to (default {FOLDER})")
    a = ap.parse_args(argv)
    for graph in build(a.out):
        print(f"{graph} ({graph.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
