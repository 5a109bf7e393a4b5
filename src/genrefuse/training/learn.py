"""A model of any genres from labelled feature rows: class-balanced fitting, then temperature, unsure
threshold and familiarity reference from cross-validation within the labels, and a model card with each
genre's example count and cross-validated recall. ``genrefuse learn`` fits a library's model with it; the
new-genre benchmark measures it.

Rows are tracks (a library's: the mean of a track's windows); rows sharing a track id (a track tagged with
several genres) always fall in the same fold.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..datasets.labelled import LabelledData
from ..errors import DataError
from ..features.params import DEFAULT_PARAMS
from ..genres import genre_order
from ..models.bundle import Bundle
from ..models.calibration import apply_temperature, confidence_threshold, fit_temperature
from ..models.training_rows import TrainingRows
from .fit import fit_familiarity, fit_one, track_folds
from .trainer import TrainConfig

KIND = "balanced-logreg+musicnn"
KIND_DEEP = "balanced-logreg+musicnn+deep"     # where the rows hold the penultimate features (the packaged model's)
MIN_EXAMPLES = 3            # tracks a genre needs to be learned (fewer: left out, named on the card)
PRECISION_TARGET = 0.9


@dataclass
class Learned:
    bundle: Bundle
    card: dict
    held_out: dict[str, np.ndarray]      # track id -> its calibrated out-of-fold probabilities (k,)


def as_data(rows: TrainingRows, *, source: str = "rows") -> LabelledData:
    return LabelledData(np.asarray(rows.table, np.float64), None, list(rows.labels), list(rows.tracks),
                        list(rows.tracks), None, None, source, rows.tags, deep=rows.deep)


def fit_rows(rows: TrainingRows, *, kind: str = KIND, seed: int = 0, genres: list[str] | None = None) -> Bundle:
    """One model of ``kind`` on all ``rows`` (no calibration, no familiarity)."""
    genres = genres or genre_order(rows.labels)
    everything = {"train": np.arange(len(rows)), "valid": np.array([], int), "test": np.array([], int)}
    bundle, _ = fit_one(kind, as_data(rows), everything, genres, config=TrainConfig(epochs=1, seed=seed),
                        params=DEFAULT_PARAMS, progress=False)
    return bundle


def track_probabilities(bundle: Bundle, rows: TrainingRows) -> tuple[list[str], np.ndarray, list[str]]:
    """Per track of ``rows``: its id, the mean of its windows' probabilities ``(n_tracks, k)``, its label."""
    proba = bundle.probabilities(as_data(rows).inputs)
    order = list(dict.fromkeys(rows.tracks))
    index = {t: i for i, t in enumerate(order)}
    where = np.array([index[t] for t in rows.tracks])
    sums = np.zeros((len(order), proba.shape[1]))
    np.add.at(sums, where, proba)
    counts = np.bincount(where, minlength=len(order))[:, None]
    label = {t: g for t, g in zip(rows.tracks, rows.labels)}
    return order, sums / counts, [label[t] for t in order]


def enough_examples(rows: TrainingRows, *, min_examples: int = MIN_EXAMPLES) -> tuple[TrainingRows, dict[str, int]]:
    """``rows`` of the genres with at least ``min_examples`` tracks, and the tracks of those left out."""
    per_genre = Counter(g for g in dict(zip(rows.tracks, rows.labels)).values())
    left_out = {g: n for g, n in per_genre.items() if n < min_examples}
    keep = [i for i, g in enumerate(rows.labels) if g not in left_out]
    return rows.subset(keep), left_out


def learn_rows(rows: TrainingRows, *, kind: str = KIND, seed: int = 0, min_examples: int = MIN_EXAMPLES,
               folds: int = 5, own: set[str] | None = None) -> Learned:
    """Fit, calibrate and describe a model of the genres in ``rows``. ``own``: the tracks whose out-of-fold
    answers choose the unsure threshold (a library's own, when it learns on top of the packaged model's rows,
    whose real recordings are harder than most libraries' tracks; None or fewer than 20 of them: every track)."""
    rows, left_out = enough_examples(rows, min_examples=min_examples)
    genres = genre_order(rows.labels)
    if len(genres) < 2:
        raise DataError(f"at least two genres with {min_examples} or more tracks are needed to learn; have "
                        f"{', '.join(genres) or 'none'}" + (f" (too few: {', '.join(left_out)})" if left_out else ""))
    fold_idx = track_folds(rows.labels, rows.tracks, k=folds, seed=seed)
    oof_tracks, oof_proba, oof_labels = [], [], []
    for test in fold_idx:
        train = np.setdiff1d(np.arange(len(rows)), test)
        model = fit_rows(rows.subset(train), kind=kind, seed=seed, genres=genres)
        t, p, lab = track_probabilities(model, rows.subset(test))
        oof_tracks += t
        oof_proba.append(p)
        oof_labels += lab
    proba = np.concatenate(oof_proba)
    y = np.array([genres.index(g) for g in oof_labels])
    temperature = fit_temperature(proba, y)
    calibrated = apply_temperature(proba, temperature)
    mine = np.array([own is None or t in own for t in oof_tracks])
    if mine.sum() < 20:
        mine[:] = True
    threshold = confidence_threshold(calibrated[mine], y[mine], precision=PRECISION_TARGET) if len(y) >= 20 else 0.0
    bundle = fit_rows(rows, kind=kind, seed=seed, genres=genres)
    bundle.temperature, bundle.min_confidence = temperature, threshold
    fit_familiarity(bundle, as_data(rows), folds=fold_idx)
    pred = calibrated.argmax(axis=1)
    examples = Counter(oof_labels)
    card = {
        "kind": kind, "tracks": len(oof_labels), "rows": len(rows),
        "genres": {g: {"examples": int(examples[g]), "cv_recall": float(np.mean(pred[y == i] == i))}
                   for i, g in enumerate(genres)},
        "left_out": {g: {"examples": int(n), "why": f"fewer than {min_examples} tracks"} for g, n in sorted(left_out.items())},
        "cv_accuracy": float(np.mean(pred == y)), "folds": len(fold_idx), "temperature": temperature,
        "min_confidence": threshold,
        "method": f"{len(fold_idx)}-fold cross-validation over the labelled tracks (a track's windows in one fold); "
                  "an estimate from the labels themselves, not a test",
    }
    bundle.extra = {**bundle.extra, "card": {**bundle.extra.get("card", {}), "learned": card}}
    return Learned(bundle, card, dict(zip(oof_tracks, calibrated)))
