"""A training run end to end: data -> split -> standardise -> train -> test results -> model bundle."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..datasets.extract import extract_dataset, load_cached
from ..datasets.layouts import discover, is_feature_table
from ..datasets.splits import fault_filtered_split, kfold_splits, random_split
from ..datasets.table_csv import read_feature_table
from ..errors import DataError
from ..features.params import DEFAULT_PARAMS, FeatureParams
from ..genres import genre_order
from ..models.bundle import Bundle
from ..models.classic import CLASSIC_KINDS, ClassicModel
from ..models.ensemble import GenreEnsemble
from ..models.fusion import NEURAL_KINDS, TAG_KINDS, Architecture, GenreNet, default_input_noise, default_members
from .reports import write_results
from .trainer import ClipDataset, TrainConfig, fit, predict_proba, seed_everything

BASE_KINDS = ("fusion", "cnn", "mlp", "knn", "svm")      # the paper's models and its baselines
MODEL_KINDS = BASE_KINDS + TAG_KINDS
SPLITS = ("random", "kfold", "fault-filtered")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get("GENREFUSE_CACHE", Path(base) / "genrefuse" / "features"))


@dataclass
class LabelledData:
    """Model inputs of a labelled dataset, row-aligned."""

    table: np.ndarray                 # (n, 57) float64, raw (not standardised)
    mel: np.ndarray | None            # (n, n_mels, n_frames) float32, or None
    labels: list[str]
    tracks: list[str]
    names: list[str]
    hashes: list[str] | None
    source: str
    tags: np.ndarray | None = None    # (n, 100) musicnn taggram summaries, or None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "LabelledData":
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        items = lambda xs: None if xs is None else [xs[i] for i in idx]  # noqa: E731
        return LabelledData(self.table[idx], pick(self.mel), items(self.labels), items(self.tracks),
                            items(self.names), items(self.hashes), self.source, pick(self.tags))


def needs_mel(kind: str) -> bool:
    return kind in NEURAL_KINDS and Architecture(kind=kind, n_classes=2).uses_mel


def needs_tags(kind: str) -> bool:
    return kind in TAG_KINDS


def _with_tags(data: LabelledData, *, embeddings: str | Path | None, cache_dir: Path, jobs: int | None,
               progress: bool) -> LabelledData:
    """``data`` with its musicnn inputs: from ``embeddings`` (rows without one are left out, and said
    so) or, for audio, computed with the ported musicnn through the cache."""
    from ..datasets.tags import audio_summaries, join_embeddings
    from ..pretrained.embed import track_stem

    if embeddings is not None:
        keep, vectors = join_embeddings(data.tracks, embeddings)
        if not len(keep):
            raise DataError(f"{embeddings}: no track of {data.source} has embeddings (joined by file stem, "
                            f"e.g. {track_stem(data.tracks[0])})")
        if len(keep) < len(data):
            print(f"embeddings: {len(data) - len(keep)} of {len(data)} tracks of {data.source} have none in "
                  f"{embeddings} and are left out")
        out = data.subset(keep)
        out.tags = vectors
        return out
    if data.hashes is None:
        raise DataError(f"{data.source}: a feature table has no audio for the musicnn branch; give --embeddings")
    vectors, errors = audio_summaries([Path(n) for n in data.names], data.hashes, cache_dir, jobs=jobs,
                                      progress=progress)
    for e in errors:
        print(f"skipped: {e}")
    keep = np.flatnonzero(np.isfinite(vectors).all(axis=1))
    out = data.subset(keep)
    out.tags = vectors[keep]
    return out


def load_labelled(data: str | Path, *, with_mel: bool, with_tags: bool = False,
                  embeddings: str | Path | None = None, cache_dir: str | Path | None = None,
                  params: FeatureParams = DEFAULT_PARAMS, jobs: int | None = None, progress: bool = True) -> LabelledData:
    """Both inputs of a labelled audio dataset (through the feature cache), or the rows of a feature table;
    with ``with_tags`` also the musicnn inputs (see :func:`_with_tags`)."""
    ld = _load_labelled(data, with_mel=with_mel, cache_dir=cache_dir, params=params, jobs=jobs, progress=progress)
    if with_tags:
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        ld = _with_tags(ld, embeddings=embeddings, cache_dir=cache, jobs=jobs, progress=progress)
    return ld


def _load_labelled(data: str | Path, *, with_mel: bool, cache_dir: str | Path | None,
                   params: FeatureParams, jobs: int | None, progress: bool) -> LabelledData:
    data = Path(data)
    if data.is_file() and is_feature_table(data):
        if with_mel:
            raise DataError(f"{data}: a feature table has no Mel spectrograms; the cnn and fusion models need audio")
        t = read_feature_table(data)
        keep = [i for i, lab in enumerate(t.labels) if lab]
        if not keep:
            raise DataError(f"{data}: no row has a label")
        return LabelledData(t.X[keep], None, [t.labels[i] for i in keep], [t.tracks[i] for i in keep],
                            [t.filenames[i] for i in keep], None, str(data))
    items = [i for i in discover(data) if i.label is not None]
    if not items:
        raise DataError(f"{data}: no labelled audio found (expected genre folders, a GTZAN copy or a path,label manifest)")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    rows, report = extract_dataset(items, cache_dir, jobs=jobs, params=params, progress=progress)
    for f in report.failures:
        print(f"skipped: {f}")
    if not rows:
        raise DataError(f"{data}: no file could be read")
    ds = load_cached(rows, cache_dir, params=params, with_mel=with_mel)
    return LabelledData(ds.table, ds.mel if with_mel else None, [str(x) for x in ds.labels], ds.tracks,
                        [str(p) for p in ds.paths], [d for _, d in rows], str(data))


def make_splits(data: LabelledData, split: str, *, seed: int = 0, folds: int = 10,
                split_dir: str | Path | None = None) -> list[dict[str, np.ndarray]]:
    """One split (random, fault-filtered) or ``folds`` splits (kfold) over the rows of ``data``."""
    if split == "random":
        s = random_split(data.labels, data.tracks, seed=seed)
        if not len(s["test"]) or not len(s["train"]):
            raise DataError(f"{data.source}: too few tracks for a train/validation/test split "
                            f"(at least 3 per genre are needed)")
        return [s]
    if split == "kfold":
        return kfold_splits(data.labels, data.tracks, k=folds, seed=seed)
    if split == "fault-filtered":
        if split_dir is None:
            raise DataError("the fault-filtered split needs --split-dir (the folder of train/valid/test_filtered.txt)")
        s, missing, unlisted = fault_filtered_split(data.tracks, split_dir)
        if missing:
            print(f"fault-filtered split: {len(missing)} listed tracks are not in the data (e.g. {missing[0]})")
        if unlisted:
            print(f"fault-filtered split: {len(unlisted)} tracks of the data are in no list and are left out")
        if not len(s["train"]) or not len(s["test"]):
            raise DataError(f"{data.source}: the fault-filtered split leaves {len(s['train'])} training and "
                            f"{len(s['test'])} test tracks; both lists need tracks in the data (with --embeddings, "
                            f"only tracks that have embeddings)")
        return [s]
    raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")


def standardisation(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = table.mean(axis=0)
    std = table.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def fit_one(kind: str, data: LabelledData, split: dict[str, np.ndarray], genres: list[str], *,
            config: TrainConfig, params: FeatureParams, progress: bool = True) -> tuple[Bundle, list[dict]]:
    """Train one model on ``split['train']`` (validating on ``split['valid']``) and bundle it."""
    y = np.array([genres.index(g) for g in data.labels])
    tr, va = split["train"], split["valid"]
    mean, std = standardisation(data.table[tr])
    z = ((data.table - mean) / std).astype(np.float32)
    extra = {"training": {**config.to_dict(), "train_size": int(len(tr)), "valid_size": int(len(va)),
                          "source": data.source}}
    if kind in CLASSIC_KINDS:
        fit_idx = np.concatenate([tr, va])            # no epochs to validate: train on both
        model = ClassicModel(kind, len(genres), seed=config.seed).fit(z[fit_idx], y[fit_idx])
        return Bundle(kind, model, genres, params, mean, std, extra), []
    if kind not in NEURAL_KINDS:
        raise DataError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_KINDS)}")
    members = default_members(kind) if config.members is None else config.members
    if members < 1:
        raise DataError(f"an ensemble needs at least one member, not {members}")
    arch = Architecture(kind=kind, n_classes=len(genres), n_features=z.shape[1], n_mels=params.n_mels,
                        n_frames=params.n_frames, fusion=config.fusion,
                        input_noise=default_input_noise(kind) if config.input_noise is None else config.input_noise)
    mel = data.mel if arch.uses_mel else None
    if arch.uses_mel and mel is None:
        raise DataError(f"{data.source}: the {kind} model needs Mel spectrograms (an audio dataset)")
    tags, tags_mean, tags_std = None, None, None
    if arch.uses_tags:
        if data.tags is None:
            raise DataError(f"{data.source}: the {kind} model needs musicnn inputs (audio, or --embeddings)")
        tags_mean, tags_std = standardisation(data.tags[tr])
        tags = ((data.tags - tags_mean) / tags_std).astype(np.float32)
    pick = lambda a, idx: None if a is None else a[idx]  # noqa: E731
    table = z if arch.uses_table else None
    train = ClipDataset(pick(mel, tr), pick(table, tr), y[tr], pick(tags, tr))
    valid = ClipDataset(pick(mel, va), pick(table, va), y[va], pick(tags, va)) if len(va) else None
    nets, histories = [], []
    for i in range(members):
        seed_everything(config.seed + i)            # the initial weights too
        nets.append(GenreNet(arch))
        histories.append(fit(nets[-1], train, valid, replace(config, seed=config.seed + i), progress=progress))
    extra["training"]["members"] = members
    extra["training"]["epochs_run"] = len(histories[0]) if members == 1 else [len(h) for h in histories]
    if members == 1:
        return Bundle(kind, nets[0].cpu(), genres, params, mean, std, extra, tags_mean, tags_std), histories[0]
    model = GenreEnsemble(replace(arch, members=members), [n.cpu() for n in nets])
    return Bundle(kind, model, genres, params, mean, std, extra, tags_mean, tags_std), mean_history(histories)


def mean_history(histories: list[list[dict]]) -> list[dict]:
    """Per epoch, the members' mean of each figure (over the members still training then)."""
    out = []
    for epoch in range(max(len(h) for h in histories)):
        rows = [h[epoch] for h in histories if epoch < len(h)]
        out.append({k: (epoch + 1 if k == "epoch" else float(np.mean([r[k] for r in rows]))) for k in rows[0]})
    return out


def bundle_proba(bundle: Bundle, table: np.ndarray, mel: np.ndarray | None, tags: np.ndarray | None = None, *,
                 device: str = "auto") -> np.ndarray:
    """Probabilities (n, n_genres) of a bundle on raw table rows (and Mel inputs and taggram summaries
    when it uses them)."""
    z = bundle.standardise(table)
    if isinstance(bundle.model, ClassicModel):
        return bundle.model.predict_proba(z)
    if bundle.uses_tags and tags is None:
        raise DataError(f"the {bundle.kind} model needs musicnn inputs")
    return predict_proba(bundle.model, mel if bundle.uses_mel else None, z if bundle.uses_table else None,
                         bundle.standardise_tags(tags) if bundle.uses_tags else None, device=device)


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


def _write_predictions(out: Path, data: LabelledData, idx: np.ndarray, proba: np.ndarray, genres: list[str]) -> None:
    import csv

    with (out / "predictions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "true", "predicted", *genres])
        for i, p in zip(idx, proba):
            w.writerow([data.tracks[i], data.labels[i], genres[int(np.argmax(p))], *(f"{v:.6f}" for v in p)])


def train_run(data: str | Path | LabelledData, out: str | Path, *, kind: str = "fusion",
              config: TrainConfig | None = None, split: str = "random", folds: int = 10,
              split_dir: str | Path | None = None, cache_dir: str | Path | None = None,
              embeddings: str | Path | None = None, params: FeatureParams = DEFAULT_PARAMS,
              jobs: int | None = None, progress: bool = True) -> dict:
    """Train ``kind`` on ``data``, write every result under ``out`` and the bundle to ``out/model``.
    The musicnn kinds take their inputs from ``embeddings`` (an npz of taggrams) or compute them.

    With ``split='kfold'`` each fold trains a model; the results pool every track's out-of-fold
    prediction, ``report.json`` adds the per-fold accuracies, and the bundle is fold 1's model.
    Returns the report.
    """
    if kind not in MODEL_KINDS:
        raise DataError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_KINDS)}")
    config = config or TrainConfig()
    out = Path(out)
    if not isinstance(data, LabelledData):
        data = load_labelled(data, with_mel=needs_mel(kind), with_tags=needs_tags(kind), embeddings=embeddings,
                             cache_dir=cache_dir, params=params, jobs=jobs, progress=progress)
    elif needs_tags(kind) and data.tags is None:
        raise DataError(f"{data.source}: the {kind} model needs musicnn inputs")
    genres = genre_order(data.labels)
    if len(genres) < 2:
        raise DataError(f"{data.source}: at least two genres are needed, found {genres}")
    splits = make_splits(data, split, seed=config.seed, folds=folds, split_dir=split_dir)
    y = np.array([genres.index(g) for g in data.labels])
    out.mkdir(parents=True, exist_ok=True)
    test_idx, test_proba, fold_acc, first = [], [], [], None
    for i, s in enumerate(splits):
        bundle, history = fit_one(kind, data, s, genres, config=config, params=params, progress=progress)
        pick = lambda a: None if a is None else a[s["test"]]  # noqa: E731
        proba = bundle_proba(bundle, data.table[s["test"]], pick(data.mel), pick(data.tags), device=config.device)
        fold_acc.append(float(np.mean(proba.argmax(1) == y[s["test"]])))
        test_idx.append(s["test"])
        test_proba.append(proba)
        if first is None:
            first = (bundle, history, s)
    bundle, history, s0 = first
    idx, proba = np.concatenate(test_idx), np.concatenate(test_proba)
    extra = {"model": kind, "split": split, "seed": config.seed, "source": data.source,
             "train_size": int(len(s0["train"])), "valid_size": int(len(s0["valid"])), "test_size": int(len(idx)),
             "epochs_run": len(history)}
    if split == "kfold":
        extra.update({"folds": len(splits), "fold_accuracy": fold_acc,
                      "cv_mean_accuracy": float(np.mean(fold_acc)), "cv_std_accuracy": float(np.std(fold_acc))})
    report = write_results(out, y[idx], proba, genres, history=history, extra=extra,
                           title=f"{kind} on {Path(data.source).name} ({split} split)")
    _save_features(out, data, s0)
    _write_predictions(out, data, idx, proba, genres)
    bundle.save(out / "model")
    return report


def evaluate_run(model_dir: str | Path, data: str | Path, out: str | Path, *, cache_dir: str | Path | None = None,
                 embeddings: str | Path | None = None, jobs: int | None = None, progress: bool = True,
                 device: str = "auto") -> dict:
    """Results of a saved model on any labelled data (every row is a test row)."""
    from ..models.bundle import load_bundle

    bundle = load_bundle(model_dir)
    ld = load_labelled(data, with_mel=bundle.uses_mel, with_tags=bundle.uses_tags, embeddings=embeddings,
                       cache_dir=cache_dir, params=bundle.feature_params, jobs=jobs, progress=progress)
    unknown = sorted(set(ld.labels) - set(bundle.genres))
    if unknown:
        raise DataError(f"{data}: genre {unknown[0]!r} is not one the model knows ({', '.join(bundle.genres)})")
    y = np.array([bundle.genres.index(g) for g in ld.labels])
    proba = bundle_proba(bundle, ld.table, ld.mel, ld.tags, device=device)
    out = Path(out)
    report = write_results(out, y, proba, bundle.genres, extra={"model": bundle.kind, "model_dir": str(model_dir),
                                                               "source": ld.source},
                           title=f"{bundle.kind} from {model_dir} on {Path(ld.source).name}")
    _write_predictions(out, ld, np.arange(len(ld)), proba, bundle.genres)
    return report


def compare_run(data: str | Path, out: str | Path, *, kinds: tuple[str, ...] = BASE_KINDS,
                config: TrainConfig | None = None, split: str = "random", folds: int = 10,
                split_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                embeddings: str | Path | None = None, params: FeatureParams = DEFAULT_PARAMS, jobs: int | None = None, progress: bool = True) -> list[dict]:
    """Train every model kind on the same data and split; write ``comparison.md`` and ``comparison.json``."""
    out = Path(out)
    table_only = Path(data).is_file() and is_feature_table(Path(data))
    if table_only:
        kinds = tuple(k for k in kinds if not needs_mel(k))
    ld = load_labelled(data, with_mel=any(needs_mel(k) for k in kinds), with_tags=any(needs_tags(k) for k in kinds),
                       embeddings=embeddings, cache_dir=cache_dir, params=params,
                       jobs=jobs, progress=progress)
    rows = []
    for kind in kinds:
        rep = train_run(ld, out / kind, kind=kind, config=config, split=split, folds=folds, split_dir=split_dir,
                        params=params, progress=progress)
        rows.append({"model": kind, "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                     "test_size": rep["test_size"], **({"cv_std_accuracy": rep["cv_std_accuracy"]} if "cv_std_accuracy" in rep else {})})
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps({"source": str(data), "split": split, "results": rows}, indent=2))
    lines = [f"Models compared on {data} ({split} split, seed {(config or TrainConfig()).seed})", "",
             "| model | accuracy | macro F1 | test clips |", "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['test_size']} |" for r in rows]
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    return rows
