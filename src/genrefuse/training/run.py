"""A training run end to end, orchestrated: data -> split -> fit -> test results -> model bundle; and
the evaluation of a saved model on any labelled data."""
from __future__ import annotations

import csv
import functools
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..datasets.labelled import LabelledData, feature_cache_dir, load_labelled, make_splits
from ..datasets.layouts import discover, is_feature_table
from ..datasets.tags import join_embeddings
from ..errors import DataError
from . import distributed
from .segments import by_track, segment_params, segment_policy, segmented
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..genres import genre_order
from ..models.bundle import load_bundle, model_folder
from ..models.kinds import KINDS, PAPER_KINDS, model_kind
from ..parallel import map_items
from ..preprocess.track import ModelInputs, file_inputs
from .fit import fit_familiarity, fit_one
from .reports import write_results
from .trainer import TrainConfig

log = logging.getLogger(__name__)


def _save_features(out: Path, data: LabelledData, split: dict[str, np.ndarray]) -> None:
    """``features.npz``: the table features and labels of the train and test rows (Mel inputs stay in
    the feature cache, named by hash)."""
    arrays = {}
    for name in ("train", "test"):
        idx = split[name]
        arrays[f"{name}_table"] = data.table[idx]
        arrays[f"{name}_labels"] = np.array([data.labels[i] for i in idx], dtype=str)
        arrays[f"{name}_tracks"] = np.array([data.tracks[i] for i in idx], dtype=str)
        if data.hashes:
            arrays[f"{name}_hash"] = np.array([data.hashes[i] for i in idx], dtype=str)
    np.savez_compressed(out / "features.npz", **arrays)


def _write_predictions(out: Path, tracks: list[str], labels: list[str], proba: np.ndarray, genres: list[str]) -> None:
    with (out / "predictions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "true", "predicted", *genres])
        for track, label, p in zip(tracks, labels, proba):
            w.writerow([track, label, genres[int(np.argmax(p))], *(f"{v:.6f}" for v in p)])


def train_run(data: str | Path | LabelledData, out: str | Path, *, kind: str = "fusion",
              config: TrainConfig | None = None, split: str = "random", folds: int = 10,
              split_dir: str | Path | None = None, cache_dir: str | Path | None = None,
              embeddings: str | Path | None = None, params: FeatureParams = DEFAULT_PARAMS,
              jobs: int | None = None, progress: bool = True, write: bool = True) -> dict:
    """Train ``kind`` on ``data``, write every result under ``out`` and the bundle to ``out/model``
    (``write=False``: a data-parallel process other than rank 0, which trains but writes nothing).
    The musicnn kinds take their inputs from ``embeddings`` (an npz of taggrams) or compute them.

    With ``split='kfold'`` each fold trains a model; the results pool every track's out-of-fold
    prediction, ``report.json`` adds the per-fold accuracies, and the bundle is fold 1's model.
    Returns the report.
    """
    spec = model_kind(kind)
    config = (config or TrainConfig()).with_implied_segments(reads_mel=spec.uses_mel)
    out = Path(out)
    if not isinstance(data, LabelledData):
        data = load_labelled(data, with_mel=spec.uses_mel and not config.segments, with_tags=spec.uses_tags,
                             embeddings=embeddings, cache_dir=cache_dir, params=params, jobs=jobs, progress=progress)
    elif spec.uses_tags and data.tags is None:
        raise DataError(f"{data.source}: the {kind} model needs musicnn inputs")
    if config.segments:
        params = segment_params(params, config.segments)
        data = segmented(data, params, cache_dir=feature_cache_dir(cache_dir), progress=progress)
    genres = genre_order(data.labels)
    if len(genres) < 2:
        raise DataError(f"{data.source}: at least two genres are needed, found {genres}")
    splits = make_splits(data, split, seed=config.seed, folds=folds, split_dir=split_dir)
    y = np.array([genres.index(g) for g in data.labels])
    test_idx, test_proba, fold_acc, first = [], [], [], None
    for i, s in enumerate(splits):
        bundle, history = fit_one(kind, data, s, genres, config=config, params=params, progress=progress,
                                  cache_dir=cache_dir)
        proba = bundle.probabilities(data.subset(s["test"]).inputs, device=config.device)
        rows = s["test"]
        if config.segments:                  # a track's answer: the mean of its segments'
            bundle.window_policy = segment_policy(config.segments)
            _, proba, leading = by_track([data.tracks[i] for i in rows], proba)
            rows = rows[leading]
        fold_acc.append(float(np.mean(proba.argmax(1) == y[rows])))
        test_idx.append(rows)
        test_proba.append(proba)
        if first is None:
            first = (bundle, history, s)
    bundle, history, s0 = first
    idx, proba = np.concatenate(test_idx), np.concatenate(test_proba)
    extra = {"model": kind, "split": split, "seed": config.seed, "source": data.source,
             "train_size": int(len(s0["train"])), "valid_size": int(len(s0["valid"])), "test_size": int(len(idx)),
             "epochs_run": len(history), "world_size": distributed.world_size()}
    if split == "kfold":
        extra.update({"folds": len(splits), "fold_accuracy": fold_acc,
                      "cv_mean_accuracy": float(np.mean(fold_acc)), "cv_std_accuracy": float(np.std(fold_acc))})
    if not write:
        return {"accuracy": float(np.mean(proba.argmax(1) == y[idx])), **extra}
    out.mkdir(parents=True, exist_ok=True)
    report = write_results(out, y[idx], proba, genres, history=history, extra=extra,
                           title=f"{kind} on {Path(data.source).name} ({split} split)",
                           min_confidence=bundle.min_confidence)
    _save_features(out, data, s0)
    _write_predictions(out, [data.tracks[i] for i in idx], [data.labels[i] for i in idx], proba, genres)
    if bundle.uses_table and not config.segments:      # "none of these": distances to its training rows
        fit_familiarity(bundle, data.subset(np.concatenate([s0["train"], s0["valid"]])), seed=config.seed)
    bundle.save(out / "model")
    return report


def evaluate_run(model_dir: str | Path, data: str | Path, out: str | Path, *, cache_dir: str | Path | None = None,
                 embeddings: str | Path | None = None, jobs: int | None = None, progress: bool = True,
                 device: str = "auto") -> dict:
    """Results of a saved model on any labelled data (every track is a test track).

    Audio goes through the same preprocessing as ``predict`` (the model's window policy, windows
    averaged), so the two agree on every file; a feature table's rows are tracks of one window.
    ``embeddings`` supplies the musicnn summaries instead of computing them.
    """
    model_dir = model_folder(model_dir)
    bundle = load_bundle(model_dir)
    data = Path(data)
    if data.is_file() and is_feature_table(data):
        ld = load_labelled(data, with_mel=bundle.uses_mel, with_tags=bundle.uses_tags, embeddings=embeddings,
                           cache_dir=cache_dir, params=bundle.feature_params, jobs=jobs, progress=progress)
        tracks, labels = ld.tracks, ld.labels
        _check_genres(labels, bundle.genres, data)
        proba = bundle.probabilities(ld.inputs, device=device)
    else:
        tracks, labels, proba = _evaluate_audio(bundle, data, embeddings=embeddings, jobs=jobs, progress=progress,
                                                device=device)
    y = np.array([bundle.genres.index(g) for g in labels])
    out = Path(out)
    report = write_results(out, y, proba, bundle.genres, extra={"model": bundle.kind, "model_dir": str(model_dir),
                                                               "source": str(data)},
                           title=f"{bundle.kind} from {model_dir} on {data.name}", min_confidence=bundle.min_confidence)
    _write_predictions(out, tracks, labels, proba, bundle.genres)
    return report


def _check_genres(labels: list[str], genres: list[str], data: Path) -> None:
    unknown = sorted(set(labels) - set(genres))
    if unknown:
        raise DataError(f"{data}: genre {unknown[0]!r} is not one the model knows ({', '.join(genres)})")


def _evaluate_audio(bundle, data: Path, *, embeddings, jobs, progress, device) -> tuple[list, list, np.ndarray]:
    items = [i for i in discover(data) if i.label is not None]
    if not items:
        raise DataError(f"{data}: no labelled audio found (expected genre folders, a GTZAN copy or a path,label manifest)")
    _check_genres([i.label for i in items], bundle.genres, data)
    summaries = None
    if bundle.uses_tags and embeddings is not None:
        keep, vectors = join_embeddings([i.track for i in items], embeddings, source=str(data))
        items, summaries = [items[k] for k in keep], dict(zip((items[k].path for k in keep), vectors))
    work = functools.partial(file_inputs, params=bundle.feature_params, policy=bundle.window_policy,
                             mel=bundle.uses_mel, tags=bundle.uses_tags and summaries is None)
    done: dict[Path, ModelInputs] = {}
    for o in map_items(work, [i.path for i in items], jobs=jobs, desc="evaluate", progress=progress):
        if o.ok:
            done[o.item] = o.value
        else:
            log.warning("skipped: %s", o.error)
    items = [i for i in items if i.path in done]
    if not items:
        raise DataError(f"{data}: no file could be read")
    predictor = bundle.predictor(device=device)
    proba = []
    for i in items:
        inputs = done[i.path]
        if summaries is not None:
            inputs.tags = np.repeat(summaries[i.path][None], len(inputs), axis=0)
        proba.append(bundle.track_probabilities(inputs, predictor=predictor))
    return [i.track for i in items], [i.label for i in items], np.stack(proba)


def compare_run(data: str | Path, out: str | Path, *, kinds: tuple[str, ...] = PAPER_KINDS,
                config: TrainConfig | None = None, split: str = "random", folds: int = 10,
                split_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                embeddings: str | Path | None = None, params: FeatureParams = DEFAULT_PARAMS, jobs: int | None = None, progress: bool = True) -> list[dict]:
    """Train every model kind on the same data and split; write ``comparison.md`` and ``comparison.json``."""
    out = Path(out)
    table_only = Path(data).is_file() and is_feature_table(Path(data))
    specs = [model_kind(k) for k in kinds]
    if table_only:
        kinds = tuple(s.name for s in specs if not s.uses_mel)
    ld = load_labelled(data, with_mel=any(KINDS[k].uses_mel for k in kinds), with_tags=any(KINDS[k].uses_tags for k in kinds),
                       embeddings=embeddings, cache_dir=cache_dir, params=params,
                       jobs=jobs, progress=progress)
    rows = []
    config = config or TrainConfig()
    for kind in kinds:
        # augmentation is for the kinds that read audio; the others train on the plain data of the same split
        cfg = config if KINDS[kind].uses_mel or not config.augment else replace(config, augment=None)
        rep = train_run(ld, out / kind, kind=kind, config=cfg, split=split, folds=folds, split_dir=split_dir,
                        params=params, progress=progress, cache_dir=cache_dir)
        rows.append({"model": kind, "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                     "test_size": rep["test_size"], **({"cv_std_accuracy": rep["cv_std_accuracy"]} if "cv_std_accuracy" in rep else {})})
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps({"source": str(data), "split": split, "results": rows}, indent=2))
    lines = [f"Models compared on {data} ({split} split, seed {(config or TrainConfig()).seed})", "",
             "| model | accuracy | macro F1 | test clips |", "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['test_size']} |" for r in rows]
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    return rows
