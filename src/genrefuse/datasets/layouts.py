"""Where the audio of a dataset is and what genre each file has.

Recognised: GTZAN (``genres/<genre>/<genre>.000NN.au``, Kaggle's ``genres_original/...wav``), any
folder of genre subfolders, a flat folder or single files (unlabelled), a CSV manifest with
``path,label`` columns (paths relative to the manifest), and a genrefuse library, whose labelled tracks
are those a listener confirmed or corrected (its ``labels.csv``, kept current by the library): the
model's own guesses never train the model.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..audio import is_audio_path, iter_audio_files
from ..errors import DataError
from ..genres import genre_order


@dataclass(frozen=True)
class Item:
    """One audio file of a dataset. ``track`` identifies the recording (all its windows share it)."""

    path: Path
    label: str | None
    track: str


def _genre_root(folder: Path) -> Path:
    for name in ("genres_original", "genres"):
        if (folder / name).is_dir():
            return folder / name
    return folder


def from_folder(folder: Path) -> list[Item]:
    """A folder of genre subfolders (labelled) or of audio files only (unlabelled)."""
    root = _genre_root(folder)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    items: list[Item] = []
    for sub in subdirs:
        for p in iter_audio_files([sub]):
            items.append(Item(p, sub.name, f"{sub.name}/{p.stem}"))
    for p in sorted(root.iterdir()):
        if p.is_file() and is_audio_path(p):
            items.append(Item(p, None, p.stem))
    return items


def from_manifest(csv_path: Path) -> list[Item]:
    """A CSV manifest with a ``path`` and a ``label`` column (an optional ``track`` column groups windows)."""
    base = csv_path.parent
    try:
        with csv_path.open(newline="") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            if "path" not in cols or "label" not in cols:
                raise DataError(f"{csv_path}: a manifest needs 'path' and 'label' columns, found {cols}")
            items = []
            for line, row in enumerate(reader, start=2):
                if not row.get("path"):
                    raise DataError(f"{csv_path}:{line}: empty path")
                p = Path(row["path"])
                p = p if p.is_absolute() else base / p
                label = (row.get("label") or "").strip() or None
                items.append(Item(p, label, row.get("track") or (f"{label}/{p.stem}" if label else p.stem)))
    except UnicodeDecodeError:
        raise DataError(f"{csv_path}: not a text CSV file") from None
    return items


def is_feature_table(path: Path) -> bool:
    """A CSV whose header looks like the public feature table (it has the 57 feature columns)."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    return "chroma_stft_mean" in header and "mfcc20_var" in header


LIBRARY_DB, LIBRARY_LABELS = "library.sqlite", "labels.csv"


def is_library(folder: Path) -> bool:
    return (folder / LIBRARY_DB).is_file()


def from_library(folder: Path) -> list[Item]:
    """A genrefuse library's confirmed tracks."""
    labels = folder / LIBRARY_LABELS
    items = from_manifest(labels) if labels.is_file() else []
    if not items:
        raise DataError(f"{folder}: a genrefuse library with no confirmed genres yet; correct or confirm some "
                        f"(`genrefuse library relabel ID GENRE --library {folder}`, or 'wrong genre?' on the page) to train on it")
    return items


def discover(inputs: str | Path | Iterable[str | Path]) -> list[Item]:
    """Items of one dataset path, or of several files/folders (a CLI's positional arguments)."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    items: list[Item] = []
    for inp in inputs:
        p = Path(inp)
        if not p.exists():
            raise DataError(f"{p}: no such file or folder")
        if p.is_dir():
            items.extend(from_library(p) if is_library(p) else from_folder(p))
        elif p.suffix.lower() == ".csv":
            if is_feature_table(p):
                raise DataError(f"{p}: this is a feature table, not a manifest of audio files")
            items.extend(from_manifest(p))
        else:
            # a single file: kept even when its suffix is unknown, so that it is reported, not ignored
            items.append(Item(p, None, p.stem))
    return items


def genres_of(items: Iterable[Item]) -> list[str]:
    return genre_order(i.label for i in items if i.label is not None)
