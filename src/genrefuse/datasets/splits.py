"""Split definitions: which tracks go to train, validation and test.

Splits are made over *tracks* (``Item.track``), so the windows of one recording never land in two
splits; every split is seeded and reproducible. Applying a split to arrays is the caller's job.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import SPLITS  # noqa: F401  (the names, kept where the CLI reads them without numpy)

SPLIT_NAMES = ("train", "valid", "test")
FAULT_FILTERED_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt", "test": "test_filtered.txt"}


def _tracks_by_label(labels: Sequence[str], tracks: Sequence[str]) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, str] = {}
    for label, track in zip(labels, tracks):
        if track in seen:
            if seen[track] != label:
                raise DataError(f"track {track!r} carries two labels: {seen[track]!r} and {label!r}")
            continue
        seen[track] = label
        by_label[label].append(track)
    return by_label


def _indices(assign: dict[str, str], tracks: Sequence[str]) -> dict[str, np.ndarray]:
    out = {name: [] for name in SPLIT_NAMES}
    for i, t in enumerate(tracks):
        if t in assign:
            out[assign[t]].append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def random_split(
    labels: Sequence[str], tracks: Sequence[str], *,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15), seed: int = 0,
) -> dict[str, np.ndarray]:
    """Stratified train/valid/test split (the paper's, 70/15/15 by default), by track.

    Every genre with at least three tracks has at least one in each split.

    Returns
    -------
    dict split name -> indices into ``labels``/``tracks``
    """
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise DataError(f"split fractions must add up to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    assign: dict[str, str] = {}
    for label, group in sorted(_tracks_by_label(labels, tracks).items()):
        group = sorted(group)
        rng.shuffle(group)
        n = len(group)
        n_test = int(round(n * fractions[2]))
        n_valid = int(round(n * fractions[1]))
        if n >= 3:
            n_test, n_valid = max(n_test, 1), max(n_valid, 1)
        for j, t in enumerate(group):
            assign[t] = "test" if j < n_test else "valid" if j < n_test + n_valid else "train"
    return _indices(assign, tracks)


def kfold_splits(
    labels: Sequence[str], tracks: Sequence[str], *, k: int = 10, seed: int = 0, valid_fraction: float = 0.15,
) -> list[dict[str, np.ndarray]]:
    """Stratified k-fold by track: fold i tests on one part and trains (and validates) on the rest.

    Returns
    -------
    list of k dicts split name -> indices
    """
    from sklearn.model_selection import StratifiedKFold

    by_label = _tracks_by_label(labels, tracks)
    uniq = sorted(t for g in by_label.values() for t in g)
    label_of = {t: lab for lab, g in by_label.items() for t in g}
    y = [label_of[t] for t in uniq]
    smallest = min((len(g) for g in by_label.values()), default=0)
    if smallest < k:
        raise DataError(f"{k}-fold split needs at least {k} tracks per genre; the smallest genre has {smallest}")
    folds = []
    for train_idx, test_idx in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(uniq, y):
        rest = [uniq[i] for i in train_idx]
        inner = random_split([label_of[t] for t in rest], rest,
                             fractions=(1 - valid_fraction, valid_fraction, 0.0), seed=seed)
        assign = {rest[i]: name for name in ("train", "valid") for i in inner[name]}
        assign.update({uniq[i]: "test" for i in test_idx})
        folds.append(_indices(assign, tracks))
    return folds


def read_fault_filtered(folder: str | Path) -> dict[str, str]:
    """Track id (``blues/blues.00029``) -> split name, from the three published list files."""
    folder = Path(folder)
    assign: dict[str, str] = {}
    for name, fname in FAULT_FILTERED_FILES.items():
        path = folder / fname
        if not path.is_file():
            raise DataError(f"{path}: fault-filtered split list not found (expected {', '.join(FAULT_FILTERED_FILES.values())})")
        for line in path.read_text().splitlines():
            line = line.strip()
            if line:
                assign[str(Path(line).with_suffix(""))] = name
    return assign


def fault_filtered_split(
    tracks: Sequence[str], folder: str | Path,
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Apply GTZAN's fault-filtered split (Kereliuk, Sturm & Larsen 2015) to a dataset's tracks.

    Returns
    -------
    (indices per split, listed tracks missing from the data, data tracks in no list)
    """
    assign = read_fault_filtered(folder)
    present = set(tracks)
    missing = sorted(t for t in assign if t not in present)
    unlisted = sorted({t for t in tracks if t not in assign})
    return _indices(assign, tracks), missing, unlisted


def blocked_folds(labels: Sequence[str], tracks: Sequence[str], *, k: int = 5, block: int = 10, seed: int = 0,
                  valid_share: int = 7) -> list[dict[str, np.ndarray]]:
    """``k`` folds that hold out whole blocks of ``block`` consecutive track numbers per genre together
    (``blues.00029`` is in block ``blues/2``): GTZAN's files of one artist mostly sit in such runs, so this
    stands in for artist-conscious folds where no artist list exists. One in ``valid_share`` of each fold's
    training rows (shuffled by ``seed``) are set aside for validation.

    Returns dicts of row indices ``train``, ``valid``, ``test``.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [f"{lab}/{int(str(t).rsplit('.', 1)[-1]) // block}" for t, lab in zip(tracks, labels)]
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    out = []
    rng = np.random.default_rng(seed)
    for train, test in cv.split(np.zeros(len(labels)), labels, groups):
        train = rng.permutation(train)
        n_valid = len(train) // valid_share        # about 15% of all rows, as the random split
        out.append({"train": np.sort(train[n_valid:]), "valid": np.sort(train[:n_valid]), "test": test})
    return out
