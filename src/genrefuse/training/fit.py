"""Fitting one model of any kind on one split of labelled data, and bundling it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..datasets.labelled import LabelledData, feature_cache_dir
from ..errors import DataError
from ..features.params import FeatureParams
from ..models.bundle import Bundle
from ..models.calibration import apply_temperature, confidence_threshold, fit_temperature
from ..models.classic import ClassicModel
from ..models.ensemble import GenreEnsemble
from ..models.fusion import Architecture, GenreNet
from ..models.kinds import model_kind
from ..models.training_rows import TrainingRows
from ..preprocess.track import ModelInputs
from .augment import AugmentedClips, AugmentPolicy, augmented_variants
from .trainer import ClipDataset, TrainConfig, fit, seed_everything


def standardisation(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation ``(d,)``, ``(d,)``; a constant column divides by 1."""
    mean = table.mean(axis=0)
    std = table.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def deep_standardisation(deep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`standardisation` of the penultimate features' summary over the rows that have it (a row of GTZAN's
    published data has none: NaN), which then stand at the mean (0 once standardised)."""
    mean = np.nanmean(deep, axis=0)
    std = np.nanstd(deep, axis=0)
    return mean, np.where(std > 0, std, 1.0)


def shifted_rows(X: np.ndarray, y: np.ndarray, config: TrainConfig, *, scale: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Standardised training rows ``X`` ``(n, d)`` and classes ``y``, with, for each of ``config.shifts`` (raw
    input shifts ``(d,)``, :mod:`.mastering`), every row moved by it (``/ scale``, the columns' standard
    deviations) as a further row of its class weighted ``config.shift_weight``. Returns ``(rows, classes,
    weights or None)``."""
    if not config.shifts:
        return X, y, None
    shifts = np.asarray(config.shifts, np.float64)
    if shifts.ndim != 2 or shifts.shape[1] > X.shape[1]:
        raise DataError(f"input shifts of shape {shifts.shape} do not fit rows of {X.shape[1]} columns")
    # measured on the table and the taggram summary (the first columns); columns after them (the penultimate
    # features' summary) are not moved
    shifts = np.pad(shifts, ((0, 0), (0, X.shape[1] - shifts.shape[1])))
    scale = np.pad(scale, (0, X.shape[1] - len(scale)), constant_values=1.0)
    moved = [X + (s / scale).astype(X.dtype) for s in shifts]
    weights = np.concatenate([np.ones(len(X))] + [np.full(len(X), config.shift_weight)] * len(moved))
    return np.vstack([X, *moved]), np.tile(y, 1 + len(moved)), weights


def fit_one(kind: str, data: LabelledData, split: dict[str, np.ndarray], genres: list[str], *,
            config: TrainConfig, params: FeatureParams, progress: bool = True,
            cache_dir: str | Path | None = None, weights: np.ndarray | None = None) -> tuple[Bundle, list[dict]]:
    """Train one model on ``split['train']`` (validating on ``split['valid']``) and bundle it; with
    ``config.augment``, augmented copies of the training clips join them (through the cache). ``weights``
    ``(len(data),)``: each row's weight (logistic regression kinds; a row's loud-master copies keep its weight
    times theirs). Returns the bundle and the per-epoch history (empty for kNN/SVM)."""
    spec = model_kind(kind)
    if config.augment and not spec.uses_mel:
        raise DataError(f"--augment is for the audio kinds (cnn, fusion, fusion+musicnn), not {kind}")
    y = np.array([genres.index(g) for g in data.labels])
    tr, va = split["train"], split["valid"]
    mean, std = standardisation(data.table[tr])
    z = ((data.table - mean) / std).astype(np.float32)
    extra = {"training": {**config.to_dict(), "train_size": int(len(tr)), "valid_size": int(len(va)),
                          "source": data.source}}
    tags, tags_mean, tags_std = None, None, None
    if spec.uses_tags:
        if data.tags is None:
            raise DataError(f"{data.source}: the {kind} model needs musicnn inputs (audio, or --embeddings)")
        tags_mean, tags_std = standardisation(data.tags[tr])
        tags = ((data.tags - tags_mean) / tags_std).astype(np.float32)
    deep, deep_mean, deep_std = None, None, None
    if spec.uses_deep:
        if data.deep is None or np.isnan(data.deep[tr]).all():
            raise DataError(f"{data.source}: the {kind} model learns from the musicnn tagger's penultimate features, which "
                            "these rows lack (audio computes them)")
        deep_mean, deep_std = deep_standardisation(data.deep[tr])
        deep = np.nan_to_num((data.deep - deep_mean) / deep_std, nan=0.0).astype(np.float32)
    if not spec.neural:
        fit_idx = np.concatenate([tr, va])            # no epochs to validate: train on both
        X = np.hstack([z] + [a for a in (tags, deep) if a is not None])
        rows, labels, shifted = shifted_rows(X[fit_idx], y[fit_idx], config, scale=np.concatenate(
            [std] + ([tags_std] if tags is not None else [])))
        if weights is not None:
            own = np.tile(np.asarray(weights, np.float64)[fit_idx], len(rows) // len(fit_idx))
            shifted = own if shifted is None else shifted * own
        model = ClassicModel(kind, len(genres), seed=config.seed, **(config.hyper or {})).fit(rows, labels, shifted)
        return Bundle(kind, model, genres, params, mean, std, extra, tags_mean, tags_std, deep_mean=deep_mean,
                      deep_std=deep_std), []
    if config.shifts or weights is not None:
        raise DataError(f"input shifts and row weights are for the classic kinds, not {kind}")
    members = spec.members if config.members is None else config.members
    if members < 1:
        raise DataError(f"an ensemble needs at least one member, not {members}")
    arch = Architecture(kind=kind, n_classes=len(genres), n_features=z.shape[1], n_mels=params.n_mels,
                        n_frames=params.n_frames, fusion=config.fusion,
                        input_noise=spec.input_noise if config.input_noise is None else config.input_noise)
    if spec.uses_mel and data.mel is None:
        raise DataError(f"{data.source}: the {kind} model needs Mel spectrograms (an audio dataset)")
    mel = data.mel if spec.uses_mel else None
    table = z if spec.uses_table else None
    pick = lambda a, idx: None if a is None else a[idx]  # noqa: E731
    train = ClipDataset(pick(mel, tr), pick(table, tr), y[tr], pick(tags, tr))
    if config.augment:
        policy = AugmentPolicy.parse(config.augment, variants=config.augment_variants)
        extra["training"]["augment"] = policy.to_dict()
        if policy.waveform:
            mel_v, table_v = augmented_variants(data, tr, policy, params, cache_dir=feature_cache_dir(cache_dir),
                                                seed=config.seed, progress=progress)
            z_v = ((table_v - mean) / std).astype(np.float32) if spec.uses_table else None
            train = AugmentedClips(train, mel_v, z_v, seed=config.seed)
    valid = ClipDataset(pick(mel, va), pick(table, va), y[va], pick(tags, va)) if len(va) else None
    nets, histories = [], []
    for i in range(members):
        seed_everything(config.seed + i)            # the initial weights too
        nets.append(GenreNet(arch))
        histories.append(fit(nets[-1], train, valid, replace(config, seed=config.seed + i), progress=progress))
    extra["training"]["members"] = members
    extra["training"]["epochs_run"] = len(histories[0]) if members == 1 else [len(h) for h in histories]
    model = nets[0].cpu() if members == 1 else GenreEnsemble(replace(arch, members=members), [n.cpu() for n in nets])
    bundle = Bundle(kind, model, genres, params, mean, std, extra, tags_mean, tags_std)
    if len(va):
        calibrate(bundle, data.subset(va).inputs, y[va])
    return bundle, histories[0] if members == 1 else mean_history(histories)


def familiarity_folds(data: LabelledData, *, seed: int = 0) -> list[np.ndarray]:
    """Held-out folds (test indices) for a model's familiarity reference: GTZAN's blocks of 10 track numbers
    when the track ids are GTZAN's (a stand-in for artists), else 5 stratified folds of whole tracks."""
    from ..datasets.splits import blocked_folds

    try:
        blocks = {(g, int(str(t).rsplit(".", 1)[-1]) // 10) for g, t in zip(data.labels, data.tracks)}
        if min(sum(1 for b in blocks if b[0] == g) for g in set(data.labels)) >= 5:
            return [f["test"] for f in blocked_folds(data.labels, data.tracks, seed=seed)]
    except (ValueError, IndexError):
        pass
    return track_folds(data.labels, data.tracks, seed=seed)


def track_folds(labels: list[str], tracks: list[str], *, k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """``k`` folds of row indices, each track's rows (its windows) in one fold, genres spread evenly."""
    from sklearn.model_selection import StratifiedGroupKFold

    counts = {g: labels.count(g) for g in set(labels)}
    k = max(2, min(k, len(set(tracks))))
    if min(counts.values()) < k:                    # a genre with fewer tracks than folds: plain groups
        from sklearn.model_selection import GroupKFold

        return [test for _, test in GroupKFold(n_splits=k).split(labels, labels, tracks)]
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros(len(labels)), labels, tracks)]


def fit_familiarity(bundle: Bundle, data: LabelledData, *, seed: int = 0, folds: list[np.ndarray] | None = None
                    ) -> np.ndarray:
    """Keep ``data``'s rows in the bundle and measure their held-out nearest-neighbour distances (the
    reference that familiarity percentiles come from); returns them ``(n,)``."""
    rows = TrainingRows(np.asarray(data.table, np.float64), None if data.tags is None or not bundle.uses_tags
                        else np.asarray(data.tags, np.float32), list(data.labels), list(data.tracks),
                        None if data.deep is None or not bundle.uses_deep else np.asarray(data.deep, np.float32))
    return bundle.fit_familiarity(rows, folds if folds is not None else familiarity_folds(data, seed=seed))


MIN_ROWS_FOR_THRESHOLD = 20      # fewer held-out rows than this give no usable unsure threshold


def calibrate(bundle: Bundle, inputs: ModelInputs, y: np.ndarray, *, precision: float = 0.9) -> None:
    """Fit the bundle's temperature on held-out rows (their labels ``y``) and choose the confidence under
    which its answers are called unsure: the lowest that keeps ``precision`` of the rest right."""
    bundle.temperature = 1.0
    proba = bundle.probabilities(inputs)
    bundle.temperature = fit_temperature(proba, y)
    calibrated = apply_temperature(proba, bundle.temperature)
    bundle.min_confidence = confidence_threshold(calibrated, y, precision=precision) \
        if len(y) >= MIN_ROWS_FOR_THRESHOLD else 0.0
    bundle.extra.setdefault("training", {})["calibration"] = {
        "rows": int(len(y)), "source": "validation split", "precision_target": precision}


def mean_history(histories: list[list[dict]]) -> list[dict]:
    """Per epoch, the members' mean of each figure (over the members still training then)."""
    out = []
    for epoch in range(max(len(h) for h in histories)):
        rows = [h[epoch] for h in histories if epoch < len(h)]
        out.append({k: (epoch + 1 if k == "epoch" else float(np.mean([r[k] for r in rows]))) for k in rows[0]})
    return out
