"""``genrefuse embed``: taggrams of files and folders into one embeddings npz (see :mod:`genrefuse.pretrained.embed`)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..genres import genre_order
from ..parallel import map_items
from ..pretrained.embed import file_taggram, write_embeddings
from .extract import BatchReport
from .layouts import discover


@dataclass
class EmbedReport(BatchReport):
    patches: int = 0


def _one(path: Path, *, hop: float, penultimate: bool):
    return file_taggram(path, hop=hop, penultimate=True) if penultimate else (file_taggram(path, hop=hop), None)


def embed_inputs(inputs: list[str | Path], out: str | Path, *, hop: float = 1.0, penultimate: bool = False,
                 jobs: int | None = None, progress: bool = True) -> EmbedReport:
    """Write the taggram of every patch of every file to ``out``; failures are reported, the rest written.

    ``IDS`` is ``<genre>/<file name>`` for labelled files (genre folders, a GTZAN copy), else the file name.
    """
    items = discover(inputs)
    labels = genre_order(i.label for i in items if i.label)
    report = EmbedReport()
    done: dict[Path, tuple[np.ndarray, np.ndarray | None]] = {}
    work = functools.partial(_one, hop=hop, penultimate=penultimate)
    by_path = {i.path: i for i in items}
    for o in map_items(work, [i.path for i in items], jobs=jobs, desc="embed", progress=progress):
        if o.ok:
            done[o.item] = o.value
        else:
            report.failures.append(o.error)
    X, P, Y, IDS = [], [], [], []
    for path in (i.path for i in items):
        if path not in done:
            continue
        tags, pen = done[path]
        item = by_path[path]
        X.append(tags)
        if pen is not None:
            P.append(pen)
        Y += [labels.index(item.label) if item.label else -1] * len(tags)
        IDS += [f"{item.label}/{path.name}" if item.label else path.name] * len(tags)
        report.ok += 1
    report.patches = len(IDS)
    write_embeddings(out, X=np.concatenate(X) if X else np.zeros((0, 50)), Y=np.array(Y), IDS=IDS, genres=labels,
                     P=np.concatenate(P) if P else None)
    return report
