"""The musicnn tagger as an ONNX graph shipped in the package, and the command that rebuilds it.

Prediction runs the tagger from this file in ONNX Runtime, so it needs neither PyTorch, nor the onnx
package, nor the musicnn wheel. The graph is the PyTorch port (``musicnn.py``) with the wheel's
MSD_musicnn weights, exported by ``make tagger-graph`` (``python -m genrefuse.pretrained.graph``;
needs the ``[train]`` extra and the musicnn wheel). The weights are musicnn's, under its ISC licence:
``tagger_graph/LICENSE.md`` carries the notice, ``tagger_graph/source.json`` what the graph was built from.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import onnxrt
from ..io import file_hash, write_text_atomic

FOLDER = Path(__file__).with_name("tagger_graph")
GRAPH_NAME = "MSD_musicnn.onnx"


def shipped_graph() -> Path | None:
    """The packaged graph, or None in a checkout where it was never built."""
    path = FOLDER / GRAPH_NAME
    return path if path.is_file() else None


def tags_and_penultimate(net, patches):
    """What the graph computes: patches ``(n, 187, 96)`` -> (sigmoid tags ``(n, 50)``, penultimate ``(n, 200)``)."""
    import torch

    logits, penultimate = net(patches)
    return torch.sigmoid(logits), penultimate


def export_graph(weights: Path, path: Path) -> Path:
    """The ONNX graph of the port with converted musicnn ``weights`` (safetensors), written to ``path``."""
    import torch

    from .musicnn import load_musicnn
    from .weights import N_MELS, PATCH_FRAMES

    return onnxrt.export_module(onnxrt.graph_of(load_musicnn(weights), tags_and_penultimate),
                                (torch.zeros(2, PATCH_FRAMES, N_MELS),), path, inputs=["patches"],
                                outputs=["tags", "penultimate"])


def build(out: Path = FOLDER) -> Path:
    """Rebuild the shipped graph in ``out`` from the installed musicnn wheel: the graph, its licence
    notice and ``source.json``."""
    import importlib.metadata

    import torch

    from .musicnn import weights_path
    from .weights import DENSE, MSD_TAGS, N_MELS, PATCH_FRAMES

    weights = weights_path()                 # the wheel's checkpoint, converted once
    graph = export_graph(weights, Path(out) / GRAPH_NAME)
    dist = importlib.metadata.distribution("musicnn")
    write_text_atomic(Path(out) / "LICENSE.md", "The MSD_musicnn weights in MSD_musicnn.onnx come from the musicnn "
                      f"package {dist.version} (https://github.com/jordipons/musicnn), under this licence:\n\n"
                      + dist.read_text("LICENSE.md"))
    write_text_atomic(Path(out) / "source.json", json.dumps({
        "graph": GRAPH_NAME, "graph_sha256": file_hash(graph), "musicnn": dist.version,
        "converted_weights_sha256": file_hash(weights), "torch": torch.__version__.split("+")[0],
        "inputs": {"patches": ["n", PATCH_FRAMES, N_MELS]},
        "outputs": {"tags": ["n", len(MSD_TAGS)], "penultimate": ["n", DENSE]},
        "rebuild": "make tagger-graph"}, indent=2) + "\n")
    return graph


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Rebuild the musicnn tagger's ONNX graph shipped in the package.")
    ap.add_argument("--out", type=Path, default=FOLDER, help=f"folder to write it to (default {FOLDER})")
    a = ap.parse_args(argv)
    graph = build(a.out)
    print(f"{graph} ({graph.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
