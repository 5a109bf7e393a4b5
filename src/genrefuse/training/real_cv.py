"""Training on GTZAN's published rows together with real recordings, and the one protocol that judges it:
cross-validation grouped by artist over the real recordings (GTZAN's rows always train), several fold seeds.

Every choice made for the packaged model (the row weights, the temperature, the unsure threshold) is made on
these folds' out-of-fold answers, never on a held-out set. The unsure threshold reported beside a fold is
*cross-fitted*: chosen (overall and genre by genre) on the other folds' answers, so that no recording's own
label chose the threshold that judges it.

Outcomes per recording (as ``benchmarks/real_world.py`` names them): for a genre the model knows, **right**
(sure and right), **flagged** (unsure or unknown) or **confidently wrong** (sure and wrong); for another genre,
**unknown**, **unsure** or **sure** (a sure answer naming a genre it is not).
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from ..datasets.labelled import LabelledData
from ..datasets.splits import blocked_folds
from ..features.params import DEFAULT_PARAMS
from ..models.bundle import Bundle
from ..models.calibration import apply_temperature, confidence_threshold, fit_temperature
from ..models.calibration import genre_thresholds as class_thresholds
from ..models.training_rows import DEEP_COLUMNS, TrainingRows
from ..models.verdict import Rules
from ..preprocess.track import ModelInputs
from .fit import fit_one
from .real_rows import RealRows
from .trainer import TrainConfig

FOLDS = 5
PRECISION_TARGET = 0.9       # sure answers on real recordings are right this often out of fold
# Each genre's own threshold aims higher, since a genre has few answers to choose it on: at 0.90 genre by genre,
# 87% of sure answers were right with the threshold cross-fitted; at 0.93, 92% (the shipped recipe, 3 fold
# seeds; 0.95 with at least 10 answers a genre gave 94%, with a quarter fewer answers right and sure)
GENRE_PRECISION = 0.93


@dataclass(frozen=True)
class Recipe:
    """How the rows are weighted and the regression regularised: a GTZAN row weighs ``gtzan_weight`` beside a
    real recording's 1 (a weak label :data:`~genrefuse.datasets.real.WEAK_WEIGHT`); ``weighting`` ``plain`` keeps
    those, ``balanced`` multiplies them so that every genre has the same total weight; ``C``: the logistic
    regression's inverse regularisation."""

    weighting: str = "plain"
    gtzan_weight: float = 1.0
    C: float = 0.1

    @property
    def name(self) -> str:
        return f"{self.weighting} weights, GTZAN rows {self.gtzan_weight:g}, C {self.C:g}"


def combined(gtzan: LabelledData, real: RealRows, genres: list[str], *, recipe: Recipe = Recipe()
             ) -> tuple[LabelledData, np.ndarray]:
    """GTZAN's rows then the real recordings of ``genres`` as one training set, and each row's weight ``(n,)``
    (as ``recipe`` says)."""
    weighting = recipe.weighting
    keep = [i for i, r in enumerate(real.recordings) if r.genre in genres]
    sub = real.subset(keep)
    labels = list(gtzan.labels) + [r.genre for r in sub.recordings]
    tracks = list(gtzan.tracks) + [r.id for r in sub.recordings]
    data = LabelledData(np.vstack([gtzan.table, sub.table.astype(np.float64)]), None, labels, tracks, tracks,
                        None, None, "gtzan+real", np.vstack([gtzan.tags, sub.tags]).astype(np.float32),
                        deep=np.vstack([absent(len(gtzan)), sub.deep]))
    weights = np.concatenate([np.full(len(gtzan), recipe.gtzan_weight), [r.weight for r in sub.recordings]])
    if weighting == "balanced":
        total = Counter()
        for g, w in zip(labels, weights):
            total[g] += w
        mean = sum(total.values()) / len(total)
        weights = weights * np.array([mean / total[g] for g in labels])
    elif weighting != "plain":
        raise ValueError(f"unknown weighting {weighting!r} (plain or balanced)")
    return data, weights


def absent(n: int) -> np.ndarray:
    """``n`` rows of penultimate-feature summaries that are not there (GTZAN's published data lack them): NaN,
    which a model standardises to the training mean."""
    return np.full((n, DEEP_COLUMNS), np.nan, np.float32)


def grouped_folds(real: RealRows, *, k: int = FOLDS, seed: int = 0) -> list[np.ndarray]:
    """``k`` folds of the real recordings (indices), each artist (group) in one fold, genres spread evenly."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    labels = [r.genre for r in real.recordings]
    groups = [r.group for r in real.recordings]
    if max(Counter(labels).values()) < k:                # too few of every genre to stratify (a quick rebuild)
        return [test for _, test in GroupKFold(n_splits=min(k, len(set(groups)))).split(labels, labels, groups)]
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():               # genres with fewer recordings than folds: spread as they fall
        warnings.simplefilter("ignore", UserWarning)
        return [test for _, test in cv.split(np.zeros(len(labels)), labels, groups)]


def fit(gtzan: LabelledData, real: RealRows, genres: list[str], *, kind: str, config: TrainConfig,
        recipe: Recipe = Recipe(), train_gtzan: np.ndarray | None = None) -> tuple[Bundle, LabelledData]:
    """One model of ``genres`` on ``gtzan`` (the rows ``train_gtzan``, default all) and the real recordings of
    those genres (uncalibrated)."""
    data, weights = combined(gtzan, real, genres, recipe=recipe)
    train = np.arange(len(data)) if train_gtzan is None else \
        np.concatenate([np.asarray(train_gtzan, int), np.arange(len(gtzan), len(data))])
    split = {"train": train, "valid": np.array([], int), "test": np.array([], int)}
    config = replace(config, hyper={**(config.hyper or {}), "C": recipe.C})
    bundle, _ = fit_one(kind, data, split, genres, config=config, params=DEFAULT_PARAMS, progress=False,
                        weights=weights)
    bundle.temperature = 1.0
    return bundle, data


def familiarity_folds(data: LabelledData, n_gtzan: int, real_ids: dict[str, str], *, seed: int = 0
                      ) -> list[np.ndarray]:
    """Folds for a combined set's familiarity reference: GTZAN's blocked folds for its rows beside folds of the
    real rows by their group (``real_ids``: track id -> group), fold by fold."""
    gt = [f["test"] for f in blocked_folds(data.labels[:n_gtzan], data.tracks[:n_gtzan], seed=seed)]
    groups = sorted({real_ids[t] for t in data.tracks[n_gtzan:]})
    rng = np.random.default_rng(seed)
    fold_of = {g: i % len(gt) for i, g in enumerate(rng.permutation(groups))}
    real = [[] for _ in gt]
    for i, t in enumerate(data.tracks[n_gtzan:], start=n_gtzan):
        real[fold_of[real_ids[t]]].append(i)
    return [np.concatenate([g, np.array(r, int)]) for g, r in zip(gt, real)]


def fit_familiarity(bundle: Bundle, data: LabelledData, n_gtzan: int, real: RealRows, *, seed: int = 0) -> None:
    """Keep the combined rows in ``bundle`` and measure their held-out distances (grouped as above)."""
    ids = {r.id: r.group for r in real.recordings}
    rows = TrainingRows(np.asarray(data.table, np.float64), np.asarray(data.tags, np.float32), list(data.labels),
                        list(data.tracks), None if data.deep is None or not bundle.uses_deep else data.deep)
    bundle.fit_familiarity(rows, familiarity_folds(data, n_gtzan, ids, seed=seed))


@dataclass
class Folds:
    """Out-of-fold answers over the real recordings: per seed, each recording's uncalibrated probabilities
    ``(seeds, n, k)``, familiarity ``(seeds, n)`` and fold ``(seeds, n)``."""

    genres: list[str]
    proba: np.ndarray
    familiarity: np.ndarray
    fold: np.ndarray


def gtzan_accuracy(gtzan: LabelledData, real: RealRows, genres: list[str], *, kind: str, config: TrainConfig,
                   recipe: Recipe = Recipe(), seeds=(0, 1, 2)) -> list[float]:
    """GTZAN's blocked cross-validation (blocks of 10 track numbers per genre held out, the real recordings always
    training), per fold seed: the share of GTZAN's held-out training tracks whose best genre is right (an
    estimate that has been about 0.02 off the fault-filtered test)."""
    y = np.array([genres.index(g) for g in gtzan.labels])
    out = []
    for seed in seeds:
        pred = np.zeros(len(gtzan), int)
        for split in blocked_folds(gtzan.labels, gtzan.tracks, seed=seed):
            bundle, _ = fit(gtzan, real, genres, kind=kind, config=config, recipe=recipe,
                            train_gtzan=np.setdiff1d(np.arange(len(gtzan)), split["test"]))
            held = gtzan.subset(split["test"])
            inputs = ModelInputs(held.table, None, held.tags, deep=absent(len(held)))
            pred[split["test"]] = bundle.probabilities(inputs).argmax(axis=1)
        out.append(float(np.mean(pred == y)))
    return out


def cross_validate(gtzan: LabelledData, real: RealRows, genres: list[str], *, kind: str, config: TrainConfig,
                   recipe: Recipe = Recipe(), seeds=(0, 1, 2), familiarity: bool = True) -> Folds:
    """Grouped cross-validation (:func:`grouped_folds`) over every real recording (those of other genres too:
    they are never trained on, and are answered by the model of their fold)."""
    n, k = len(real), len(genres)
    proba, fam, fold_of = np.zeros((len(seeds), n, k)), np.full((len(seeds), n), np.nan), np.zeros((len(seeds), n), int)
    for s, seed in enumerate(seeds):
        for f, test in enumerate(grouped_folds(real, seed=seed)):
            train = real.subset(np.setdiff1d(np.arange(n), test))
            bundle, data = fit(gtzan, train, genres, kind=kind, config=config, recipe=recipe)
            inputs = real.inputs(test)
            proba[s, test] = bundle.probabilities(inputs)
            fold_of[s, test] = f
            if familiarity:
                fit_familiarity(bundle, data, len(gtzan), train, seed=seed)
                best = proba[s, test].argmax(axis=1)
                fam[s, test] = [bundle.familiarity_of(ModelInputs(inputs.table[i:i + 1], None, inputs.tags[i:i + 1]),
                                                      genres[b]) for i, b in enumerate(best)]
    return Folds(genres, proba, fam, fold_of)


def _classes(real: RealRows, genres: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per recording, whether its genre is one of ``genres`` ``(n,)`` and its index there (-1: none) ``(n,)``."""
    known = np.array([r.genre in genres for r in real.recordings])
    return known, np.array([genres.index(r.genre) if k else -1 for r, k in zip(real.recordings, known)])


def calibration(folds: Folds, real: RealRows, *, precision: float = PRECISION_TARGET
                ) -> tuple[float, float, dict[str, float]]:
    """The temperature, the overall unsure threshold and each genre's (:func:`genre_thresholds`), fitted on the
    pooled out-of-fold answers of the recordings of the model's genres (every seed)."""
    known, y = _classes(real, folds.genres)
    pooled = folds.proba[:, known].reshape(-1, len(folds.genres))
    yy = np.tile(y[known], len(folds.proba))
    t = fit_temperature(pooled, yy)
    cal = apply_temperature(pooled, t)
    return t, confidence_threshold(cal, yy, precision=precision), genre_thresholds(folds.genres, cal, yy)


def genre_thresholds(genres: list[str], proba: np.ndarray, y: np.ndarray, *, precision: float = GENRE_PRECISION
                     ) -> dict[str, float]:
    """Each genre's unsure threshold: the lowest confidence at which its answers were right ``precision`` of the
    time (:func:`~genrefuse.models.calibration.genre_thresholds`; a genre never that reliable is never sure)."""
    return {genres[k]: round(v, 6) for k, v in class_thresholds(proba, y, precision=precision).items()}


def outcomes(folds: Folds, real: RealRows, *, temperature: float, min_familiarity: float,
             tagger: bool = True, precision: float = PRECISION_TARGET) -> list[list[tuple[str, str, str]]]:
    """Per seed, each recording's ``(outcome, answer, best genre)``, judged with the threshold cross-fitted on the other
    folds of that seed, by the rules a saved model of these genres has (``tagger``: with the taggers' word)."""
    known, y = _classes(real, folds.genres)
    heard = [real.heard(i) for i in range(len(real))]
    out = []
    for s in range(len(folds.proba)):
        cal = apply_temperature(folds.proba[s], temperature)
        answers: list[tuple[str, str, str]] = [("", "", "")] * len(real)
        for f in np.unique(folds.fold[s]):
            here = folds.fold[s] == f
            other = ~here & known
            threshold = confidence_threshold(cal[other], y[other], precision=precision)
            rules = Rules.for_model(folds.genres, min_confidence=threshold, min_familiarity=min_familiarity,
                                    reads_tagger=tagger, genre_confidence=genre_thresholds(
                                        folds.genres, cal[other], y[other]))
            for i in np.flatnonzero(here):
                fam = None if np.isnan(folds.familiarity[s, i]) else float(folds.familiarity[s, i])
                v = rules.of(dict(zip(folds.genres, map(float, cal[i]))), fam, heard=heard[i] if tagger else {})
                answers[i] = (_outcome(v, real.recordings[i].genre, known[i]), v.answer, v.genre)
        out.append(answers)
    return out


def open_set(folds: Folds, real: RealRows) -> dict:
    """How well familiarity tells the recordings of genres the model lacks from those of its genres, out of fold:
    the area under the ROC curve of unfamiliarity (1 - familiarity) per seed, mean and spread."""
    from sklearn.metrics import roc_auc_score

    other = np.array([r.genre not in folds.genres for r in real.recordings])
    if other.all() or not other.any():
        return {"mean": None, "std": None}
    aucs = [float(roc_auc_score(other, 1 - np.nan_to_num(f, nan=1.0))) for f in folds.familiarity]
    return {"mean": float(np.mean(aucs)), "std": float(np.std(aucs))}


def judged_by(bundle: Bundle, real: RealRows, genres: list[str], *, tagger: bool = True
              ) -> list[list[tuple[str, str, str]]]:
    """Each recording's ``(outcome, answer, best genre)`` by a model that never saw them (one "seed"), its own rules and
    thresholds; ``genres`` decide which recordings count as of a known genre (a genre the model names from the
    taggers can be right)."""
    rules = bundle.rules if tagger else Rules.for_model(bundle.genres, min_confidence=bundle.rules.min_confidence,
                                                        min_familiarity=bundle.rules.min_familiarity, reads_tagger=False)
    out = []
    for i, r in enumerate(real.recordings):
        inputs = real.inputs([i])
        p = bundle.probabilities(inputs)[0]
        best = bundle.genres[int(np.argmax(p))]
        heard = real.heard(i) if tagger else {}
        v = rules.of(dict(zip(bundle.genres, map(float, p))), bundle.familiarity_of(inputs, best), heard=heard)
        out.append((_outcome(v, r.genre, r.genre in genres), v.answer, v.genre))
    return [out]


def _outcome(v, truth: str, known: bool) -> str:
    if known:
        if v.unsure or v.unknown:
            return "flagged"
        return "right" if v.genre == truth else "confidently wrong"
    if v.unknown:
        return "unknown"
    if v.genre == truth:                 # a tagger genre named right (folk, soul, punk)
        return "named"
    return "unsure" if v.unsure else "sure"


def summary(answers: list[list[tuple[str, str, str]]], real: RealRows, genres: list[str]) -> dict:
    """Figures over the seeds (mean and spread): of the recordings of the model's genres the share right (its best
    genre, sure or flagged), right and sure, confidently wrong, and of all sure answers the share right; per genre
    the recall (best genre), the share answered sure and the share of sure answers naming it that were right."""
    known = [r.genre in genres for r in real.recordings]
    per_seed = []
    for seed in answers:
        rows = [(o, b, r.genre) for (o, _, b), r, k in zip(seed, real.recordings, known) if k]
        sure = [(o, b, g) for o, b, g in rows if o in ("right", "confidently wrong")]
        others = [o for (o, _, _), k in zip(seed, known) if not k]
        per_seed.append({"right": np.mean([b == g for _, b, g in rows]),
                         "right_and_sure": np.mean([o == "right" for o, _, _ in rows]),
                         "confidently_wrong": np.mean([o == "confidently wrong" for o, _, _ in rows]),
                         "sure_precision": (np.mean([o == "right" for o, _, _ in sure]) if sure else float("nan")),
                         "sure_share": len(sure) / len(rows),
                         "others_sure": sum(o == "sure" for o in others) / max(1, len(others))})
    out = {key: {"mean": float(np.mean([p[key] for p in per_seed])), "std": float(np.std([p[key] for p in per_seed]))}
           for key in per_seed[0]}
    out["recordings"] = sum(known)
    out["others"] = len(known) - sum(known)
    genre_rows = {}
    for g in genres:
        idx = [i for i, r in enumerate(real.recordings) if r.genre == g]
        if not idx:
            continue
        rec = [np.mean([seed[i][2] == g for i in idx]) for seed in answers]
        sure = [[seed[i] for i in idx if seed[i][0] in ("right", "confidently wrong")] for seed in answers]
        named = [[i for i, r in enumerate(real.recordings) if seed[i][0] in ("right", "confidently wrong")
                  and seed[i][2] == g] for seed in answers]
        prec = [np.mean([real.recordings[i].genre == g for i in n]) for n in named if n]
        genre_rows[g] = {"examples": len(idx), "recall": float(np.mean(rec)),
                         "sure": float(np.mean([len(s) / len(idx) for s in sure])),
                         "sure_precision": float(np.mean(prec)) if prec else None}
    out["per_genre"] = genre_rows
    out["per_material"] = per_material(answers, real, genres)
    return out


def per_material(answers: list[list[tuple[str, str, str]]], real: RealRows, genres: list[str]) -> dict:
    """The figures of :func:`summary` per kind of material (:attr:`RealRecording.material`): of its recordings of
    the model's genres (``recordings``) the share right, right and sure, and confidently wrong (means over the
    seeds), and how many of its recordings are of other genres (``others``) and the share of those answered sure."""
    out = {}
    for kind in sorted({r.material for r in real.recordings}):
        mine = [i for i, r in enumerate(real.recordings) if r.material == kind and r.genre in genres]
        others = [i for i, r in enumerate(real.recordings) if r.material == kind and r.genre not in genres]
        row = {"recordings": len(mine), "others": len(others)}
        if mine:
            row.update({key: float(np.mean([np.mean([test(seed[i], real.recordings[i].genre) for i in mine])
                                            for seed in answers]))
                        for key, test in (("right", lambda a, g: a[2] == g), ("right_and_sure", lambda a, g: a[0] == "right"),
                                          ("confidently_wrong", lambda a, g: a[0] == "confidently wrong"))})
        if others:
            row["others_sure"] = float(np.mean([np.mean([seed[i][0] == "sure" for i in others]) for seed in answers]))
        out[kind] = row
    return out
