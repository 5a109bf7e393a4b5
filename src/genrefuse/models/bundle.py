"""A trained model as one self-contained folder: ``model.safetensors`` + ``config.json``.

Loading reads tensors and JSON only; nothing is unpickled or executed. This module owns the format:
other code reads a model's config, genres and id through it, never by opening the files.
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import WindowPolicy
from ..errors import DataError, ModelError
from ..features.params import FeatureParams
from ..genres import GTZAN_GENRES
from ..io import atomic_path, file_hash
from ..preprocess.track import ModelInputs
from .calibration import apply_temperature
from .classic import ClassicModel
from .familiarity import FLOOR, K, Familiarity, familiarity_config, held_out_distances, input_weights
from .kinds import KINDS, RENAMED, ModelKind
from .predictor import Predictor, TorchPredictor
from .training_rows import TrainingRows, load_training_rows
from .verdict import Rules

if TYPE_CHECKING:          # the nets import torch; a classic model never needs it
    from .ensemble import GenreEnsemble
    from .fusion import GenreNet

FORMAT = "genrefuse-model"
FORMAT_VERSION = 4      # 2: architecture.members (ensembles); 3: window_policy, calibration; 4: familiarity, training rows
CONFIG, WEIGHTS = "config.json", "model.safetensors"
_OWN_KEYS = ("format", "format_version", "kind", "genres", "feature_params", "window_policy", "calibration", "table_mean",
             "table_std", "library_versions", "saved_at", "architecture", "tags_mean", "tags_std", "familiarity",
             "deep_mean", "deep_std")


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("genrefuse", "torch", "numpy", "librosa", "scikit-learn", "safetensors"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


@dataclass
class Bundle:
    """What a model needs to predict: the fitted model, genres, feature parameters, window policy and
    standardisation statistics."""

    kind: str
    model: "GenreNet | GenreEnsemble | ClassicModel"
    genres: list[str]
    feature_params: FeatureParams
    table_mean: np.ndarray          # (57,)
    table_std: np.ndarray           # (57,)
    extra: dict
    tags_mean: np.ndarray | None = None   # (100,) standardisation of the musicnn branch's input
    tags_std: np.ndarray | None = None
    window_policy: WindowPolicy = field(default_factory=WindowPolicy)
    temperature: float = 1.0              # probabilities are softmax(log p / temperature), fitted on held-out data
    min_confidence: float = 0.0           # answers less confident than this are called unsure
    genre_confidence: dict[str, float] | None = None   # per genre, where calibrated genre by genre (else the above)
    training_rows: TrainingRows | None = None     # what it was trained on (familiarity, learning on top of it)
    familiarity_reference: np.ndarray | None = None   # each training row's held-out k-NN distance
    familiarity_floor: float = FLOOR      # less familiar than this: "none of these" (unknown)
    familiarity_k: int = K
    deep_mean: np.ndarray | None = None   # (400,) standardisation of the penultimate features' summary (kinds that read it)
    deep_std: np.ndarray | None = None
    _familiarity: Familiarity | None = field(default=None, repr=False)

    @property
    def spec(self) -> ModelKind:
        return KINDS[self.kind]

    @property
    def rules(self) -> Rules:
        """How this model's probabilities and familiarity become an answer (its own thresholds)."""
        return Rules.for_model(self.genres, min_confidence=self.min_confidence,
                               min_familiarity=self.familiarity_floor, reads_tagger=self.uses_tags,
                               genre_confidence=self.genre_confidence, tagger_genres=self.extra.get("tagger_genres"))

    @property
    def uses_mel(self) -> bool:
        return self.spec.uses_mel

    @property
    def uses_table(self) -> bool:
        return self.spec.uses_table

    @property
    def uses_tags(self) -> bool:
        return self.spec.uses_tags

    @property
    def uses_deep(self) -> bool:
        return self.spec.uses_deep

    def standardise_deep(self, deep: np.ndarray) -> np.ndarray:
        """The penultimate features' summary ``(n, 400)``, standardised; a row without them (NaN: a training row
        of GTZAN's, whose published data lack them) is the training mean, 0."""
        z = (np.asarray(deep, np.float64) - self.deep_mean) / self.deep_std
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def standardise_tags(self, tags: np.ndarray) -> np.ndarray:
        return ((np.asarray(tags, np.float64) - self.tags_mean) / self.tags_std).astype(np.float32)

    def standardise(self, table: np.ndarray) -> np.ndarray:
        return ((np.asarray(table, np.float64) - self.table_mean) / self.table_std).astype(np.float32)

    def weighted_rows(self, table: np.ndarray, tags: np.ndarray | None) -> np.ndarray:
        """Raw rows -> the standardised, weighted space familiarity measures in ``(n, d)``."""
        parts = [self.standardise(table)] + ([self.standardise_tags(tags)] if self.uses_tags else [])
        return np.hstack(parts).astype(np.float64) * input_weights(
            table=len(self.table_mean), tags=len(self.tags_mean) if self.uses_tags else 0)

    @property
    def has_familiarity(self) -> bool:
        return self.familiarity_reference is not None and self.training_rows is not None and self.uses_table

    def familiarity(self) -> Familiarity | None:
        """The familiarity measure of this model, or None when it keeps no training rows."""
        if not self.has_familiarity:
            return None
        if self._familiarity is None:
            rows = self.training_rows
            self._familiarity = Familiarity(self.weighted_rows(rows.table, rows.tags), self.familiarity_reference,
                                            list(rows.labels), k=self.familiarity_k, floor=self.familiarity_floor)
        return self._familiarity

    def familiarity_of(self, inputs: ModelInputs, genre: str | None = None) -> float | None:
        """A track's familiarity in [0, 1] from its windows' raw inputs (their mean row: training rows are one
        per track) and its predicted ``genre``; None without training rows."""
        fam = self.familiarity()
        if fam is None or (self.uses_tags and inputs.tags is None):
            return None
        mean = lambda a: None if a is None else np.asarray(a).mean(axis=0, keepdims=True)  # noqa: E731
        return fam.of_rows(self.weighted_rows(mean(inputs.table), mean(inputs.tags)), genre)

    def fit_familiarity(self, rows: TrainingRows, folds: list[np.ndarray]) -> np.ndarray:
        """Keep ``rows`` and set the reference distances from held-out ``folds`` (test indices each);
        returns each row's held-out distance ``(n,)``."""
        self.training_rows, self._familiarity = rows, None
        held_out = held_out_distances(self.weighted_rows(rows.table, rows.tags), folds, k=self.familiarity_k)
        self.familiarity_reference = held_out
        return held_out

    def predictor(self, *, device: str = "cpu") -> Predictor:
        """The model's own runtime: PyTorch for nets, scikit-learn for kNN/SVM."""
        return TorchPredictor(self.model, device=device) if self.spec.neural else self.model

    def probabilities(self, inputs: ModelInputs, *, predictor: Predictor | None = None,
                      device: str = "cpu") -> np.ndarray:
        """Probabilities ``(n, n_genres)`` of raw (not standardised) row-aligned inputs; ``predictor``
        (for example an ONNX Runtime session) replaces the model's own runtime."""
        if self.uses_tags and inputs.tags is None:
            raise DataError(f"the {self.kind} model needs musicnn inputs")
        if self.uses_mel and inputs.mel is None:
            raise DataError(f"the {self.kind} model needs Mel spectrograms (audio)")
        predictor = predictor or self.predictor(device=device)
        deep = {}
        if self.uses_deep:      # rows without them (a feature table and published taggrams) stand at the mean, as
            # GTZAN's published rows did in training; audio always has them (the model's preprocess computes them)
            deep["deep"] = self.standardise_deep(inputs.deep if inputs.deep is not None else
                                                 np.full((len(inputs.table), len(self.deep_mean)), np.nan))
        proba = predictor.probabilities(mel=inputs.mel if self.uses_mel else None,
                                        table=self.standardise(inputs.table) if self.uses_table else None,
                                        tags=self.standardise_tags(inputs.tags) if self.uses_tags else None, **deep)
        return apply_temperature(proba, self.temperature)

    def track_probabilities(self, inputs: ModelInputs, *, predictor: Predictor | None = None,
                            device: str = "cpu") -> np.ndarray:
        """A track's probabilities ``(n_genres,)``: the mean over its windows (the rows of ``inputs``)."""
        return self.probabilities(inputs, predictor=predictor, device=device).mean(axis=0)

    def config(self) -> dict:
        cfg = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind, "genres": self.genres,
            "feature_params": self.feature_params.to_dict(), "window_policy": self.window_policy.to_dict(),
            "calibration": {"temperature": self.temperature, "min_confidence": self.min_confidence,
                            **({"genre_confidence": self.genre_confidence} if self.genre_confidence else {})},
            "table_mean": self.table_mean.tolist(), "table_std": self.table_std.tolist(),
            "library_versions": library_versions(),
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **self.extra,
        }
        if self.tags_mean is not None:
            cfg["tags_mean"], cfg["tags_std"] = self.tags_mean.tolist(), self.tags_std.tolist()
        if self.deep_mean is not None:
            cfg["deep_mean"], cfg["deep_std"] = self.deep_mean.tolist(), self.deep_std.tolist()
        if self.has_familiarity:
            cfg["familiarity"] = familiarity_config(self.familiarity_reference, k=self.familiarity_k,
                                                    floor=self.familiarity_floor)
            if len(self.familiarity_reference) != len(self.training_rows):
                raise ModelError("familiarity: one held-out distance per training row expected")
        if self.spec.neural:
            cfg["architecture"] = self.model.arch.to_dict()
        else:
            cfg["architecture"] = {"kind": self.kind, "n_classes": self.model.n_classes, "seed": self.model.seed,
                                   "hyper": self.model.hyper}
        return cfg

    def save(self, folder: str | Path) -> Path:
        """Write the bundle; the folder is replaced whole, never left half-written."""
        from safetensors.numpy import save_file as save_np
        from safetensors.torch import save_file as save_torch

        with atomic_path(folder) as tmp:
            tmp.mkdir()
            if self.spec.neural:
                state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
                save_torch(state, str(tmp / WEIGHTS))
            else:
                save_np(self.model.state(), str(tmp / WEIGHTS))
            if self.training_rows is not None:
                self.training_rows.save(tmp)
            (tmp / CONFIG).write_text(json.dumps(self.config(), indent=2))
        return Path(folder)


DEFAULT_MODEL = "default"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"    # package data


def model_folder(path: str | Path | None) -> Path:
    """``path`` when it is a model folder, the ``model/`` folder of a run folder that holds one, or for
    None or ``"default"`` the model shipped in the package."""
    if path is None or str(path) == DEFAULT_MODEL:
        if not (DEFAULT_MODEL_DIR / CONFIG).is_file():
            raise ModelError(f"{DEFAULT_MODEL_DIR}: the packaged default model is missing; rebuild it with "
                             f"`make default-model`, or name a model folder")
        return DEFAULT_MODEL_DIR
    path = Path(path)
    if not (path / CONFIG).is_file() and (path / "model" / CONFIG).is_file():
        return path / "model"
    return path


def names_a_model(arg: str | Path) -> bool:
    """Whether ``arg`` names a model: ``default``, a model folder, or a run folder that holds one."""
    return str(arg) == DEFAULT_MODEL or (model_folder(arg) / CONFIG).is_file()


def unsure_threshold(cfg: dict) -> float:
    """The confidence under which a model's answers are called unsure (0 for an uncalibrated one)."""
    return float((cfg.get("calibration") or {}).get("min_confidence", 0.0))


def genre_thresholds(cfg: dict) -> dict[str, float] | None:
    """Per genre, the confidence under which its answers are unsure, for a model calibrated genre by genre."""
    given = (cfg.get("calibration") or {}).get("genre_confidence")
    return {str(g): float(v) for g, v in given.items()} if given else None


def read_config(folder: str | Path) -> dict:
    """A model folder's ``config.json``, checked to be a bundle this version can read."""
    folder = Path(folder)
    cfg_path = folder / CONFIG
    if not cfg_path.is_file() or not (folder / WEIGHTS).is_file():
        hint = " (a run folder: its model is in model/)" if (folder / "model" / CONFIG).is_file() else ""
        raise ModelError(f"{folder}: not a model folder{hint}; config.json and model.safetensors expected")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{cfg_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT or cfg.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(f"{cfg_path}: not a {FORMAT} bundle of version <= {FORMAT_VERSION}")
    cfg["kind"] = RENAMED.get(cfg.get("kind"), cfg.get("kind"))
    if cfg.get("kind") not in KINDS:
        raise ModelError(f"{cfg_path}: unknown model kind {cfg.get('kind')!r}")
    return cfg


def is_model_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a saved model (its config; :func:`read_config` checks the rest)."""
    return (Path(folder) / CONFIG).is_file()


@dataclass(frozen=True)
class ModelInfo:
    """What code outside this module knows of a saved model without loading its weights: where it is, its
    identity, genres, answer rules, the recipe of its inputs, and the options it was learnt with."""

    folder: Path
    id: str
    kind: str
    genres: tuple[str, ...]
    rules: Rules
    feature_params: dict
    window_policy: dict
    options: dict


def model_info(folder: str | Path) -> ModelInfo:
    """The :class:`ModelInfo` of a model folder (a :class:`ModelError` for anything else)."""
    folder = Path(folder)
    cfg = read_config(folder)
    fam = cfg.get("familiarity") or {}
    return ModelInfo(folder=folder, id=f"{cfg['kind']}-{weights_hash(folder)[:12]}", kind=cfg["kind"],
                     genres=tuple(cfg["genres"]),
                     rules=Rules.for_model(cfg["genres"], min_confidence=unsure_threshold(cfg),
                                           min_familiarity=float(fam.get("floor", FLOOR)),
                                           reads_tagger=KINDS[cfg["kind"]].uses_tags,
                                           genre_confidence=genre_thresholds(cfg),
                                           tagger_genres=cfg.get("tagger_genres")),
                     feature_params=dict(cfg["feature_params"]), window_policy=dict(cfg.get("window_policy") or {}),
                     options=dict((cfg.get("card") or {}).get("options") or {}))


def model_genres(folder: str | Path) -> list[str]:
    """The genres a saved model tells apart, in its order, without loading its weights."""
    return list(read_config(folder)["genres"])


def model_id(folder: str | Path) -> str:
    """A short identity of a saved model: its kind and the hash of its weights (``mlp-1a2b3c4d5e6f``)."""
    return f"{read_config(folder)['kind']}-{weights_hash(folder)[:12]}"


def weights_hash(folder: str | Path) -> str:
    return file_hash(Path(folder) / WEIGHTS)


def load_bundle(folder: str | Path) -> Bundle:
    folder = Path(folder)
    cfg = read_config(folder)
    kind, weights = cfg["kind"], folder / WEIGHTS
    extra = {k: v for k, v in cfg.items() if k not in _OWN_KEYS}
    try:
        if KINDS[kind].neural:
            from safetensors.torch import load_file

            from .ensemble import build_model
            from .fusion import Architecture

            model = build_model(Architecture(**cfg["architecture"]))
            model.load_state_dict(load_file(str(weights)))
            model.eval()
        else:
            from safetensors.numpy import load_file

            model = ClassicModel.from_state(kind, cfg["architecture"], load_file(str(weights)))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{folder}: weights do not fit the configuration ({str(exc).splitlines()[0][:200]})") from None
    params = FeatureParams.from_dict(cfg["feature_params"])
    policy = WindowPolicy.from_dict(cfg.get("window_policy") or {"window_seconds": params.window_seconds})
    tags = [np.asarray(cfg[k]) if k in cfg else None for k in ("tags_mean", "tags_std")]
    cal = cfg.get("calibration") or {}
    fam = cfg.get("familiarity") or {}
    if KINDS[kind].uses_deep and "deep_mean" not in cfg:
        raise ModelError(f"{folder}: a {kind} model without the standardisation of its penultimate-feature input")
    return Bundle(kind, model, list(cfg["genres"]), params, np.asarray(cfg["table_mean"]), np.asarray(cfg["table_std"]),
                  extra, *tags, window_policy=policy, temperature=float(cal.get("temperature", 1.0)),
                  min_confidence=unsure_threshold(cfg), genre_confidence=genre_thresholds(cfg),
                  training_rows=load_training_rows(folder),
                  familiarity_reference=np.asarray(fam["held_out"], np.float64) if fam.get("held_out") else None,
                  familiarity_floor=float(fam.get("floor", FLOOR)), familiarity_k=int(fam.get("k", K)),
                  deep_mean=np.asarray(cfg["deep_mean"]) if "deep_mean" in cfg else None,
                  deep_std=np.asarray(cfg["deep_std"]) if "deep_std" in cfg else None)


def describe_model(path: str | Path | None = None) -> str:
    """A model card for a person: what the model is, what it was trained on, how well it did, its limits."""
    folder = model_folder(path)
    cfg = read_config(folder)
    card = cfg.get("card") or {}
    training = cfg.get("training") or {}
    lines = [f"{card.get('name', folder.name)}: {cfg['kind']} ({model_id(folder)})  {folder}"]
    if card.get("summary"):
        lines.append(f"  {card['summary']}")
    info = model_info(folder)
    lines.append(f"  genres: {', '.join(cfg['genres'])} (its head: trained on the data below)")
    if info.rules.dispute is not None:
        own = [g for g in cfg["genres"] if g not in GTZAN_GENRES]
        lines.append(f"  the musicnn tagger's word: an answer is unsure when the tagger's tags name another of these "
                     f"genres with evidence {info.rules.dispute:.2f} or more, even below the answer's own "
                     f"(chosen on GTZAN's 443 FF training tracks: at most 5% of their true genres disputed), or "
                     f"hardly hear the answer's own genre"
                     + (f"; for answers of GTZAN's genres only: {', '.join(own)} keep this model's own calibration"
                        if own else ""))
    if info.rules.tagger_genres:
        lines.append(f"  genres from the tagger: {', '.join(info.rules.tagger_genres)}, named for a track the head "
                     f"finds unknown when the tagger's evidence is {info.rules.new_genre:.2f} or more and leads "
                     f"(none of GTZAN's 443 FF training tracks got one)")
    lines.append(f"  trained on: {card.get('training_data') or training.get('source', 'unknown')}")
    loud = (card.get("inputs") or {}).get("loud_masters")
    if loud:
        lines.append(f"  each training row also as a loud master moves it (brightened, limited at drives "
                     f"{', '.join(f'{d:g}' for d in loud['drives'])}; measured on the shared GTZAN clips), weighted "
                     f"{loud['weight']:g}: steadier on recordings mastered unlike GTZAN's (research/head_choices.py)")
    for g, n in (card.get("genres_learnt") or {}).items():
        lines.append(f"    {g:<12} {n['gtzan']:>4} GTZAN tracks, {n['real']:>4} real recordings")
    measured = card.get("measured")
    real = (measured or {}).get("real")
    if real:
        pct = lambda x: f"{100 * x['mean']:.1f}% +- {100 * x['std']:.1f}"  # noqa: E731
        lines.append(f"  measured on real recordings ({measured['method']}): of {real['recordings']} of its genres "
                     f"{pct(real['right'])} right (best genre), {pct(real['right_and_sure'])} right and sure, "
                     f"{pct(real['confidently_wrong'])} confidently wrong; {pct(real['sure_precision'])} of sure answers "
                     f"right; of {real['others']} of other genres {pct(real['others_sure'])} answered sure")
        for g, x in real["per_genre"].items():
            prec = "none sure" if x["sure_precision"] is None else f"sure answers naming it {100 * x['sure_precision']:.0f}% right"
            lines.append(f"    {g:<12} {x['examples']:>4} real recordings: recall {100 * x['recall']:.0f}%, "
                         f"{100 * x['sure']:.0f}% answered sure, {prec}")
        lines.append(f"  calibration: temperature {measured['temperature']:.2f}; unsure below a confidence chosen genre "
                     f"by genre, the lowest at which 93% of that genre's answers were right out of fold ("
                     + ", ".join(f"{g} {'never sure' if v > 1 else f'{v:.2f}'}"
                                 for g, v in (measured.get("genre_confidence") or {}).items()) + ")")
    elif measured:
        lines.append(f"  accuracy: {measured['accuracy_mean']:.3f} +- {measured['accuracy_std']:.3f} ({measured['method']})")
        lines.append(f"  calibration: temperature {measured['temperature']:.2f}, ECE {measured['ece_uncalibrated']:.3f} -> "
                     f"{measured['ece_calibrated']:.3f} out of fold")
    threshold = unsure_threshold(cfg)
    if not real:
        lines.append(f"  unsure below confidence {threshold:.2f}"
                     + (f": out of fold {measured['sure_fraction']:.0%} of answers were sure and "
                        f"{measured['sure_accuracy']:.1%} of those right"
                        if measured and measured.get("sure_accuracy") is not None else ""))
    fam = cfg.get("familiarity")
    if fam:
        lines.append(f"  unknown (none of these) below familiarity {fam['floor']:.2f}: {fam['method']}")
    else:
        lines.append("  no familiarity measure (the model keeps no training rows): it never answers unknown")
    learned = card.get("learned")
    if learned:
        lines.append(f"  learned: cross-validated accuracy {learned['cv_accuracy']:.3f} over {learned['tracks']} tracks "
                     f"({learned['method']})")
        for g, m in learned["genres"].items():
            lines.append(f"    {g:<22} {m['examples']:>5} examples, cross-validated recall {m['cv_recall']:.2f}")
        for g, m in learned.get("left_out", {}).items():
            lines.append(f"    {g:<22} {m['examples']:>5} examples: left out ({m['why']})")
    for limit in card.get("limits", []):
        lines.append(f"  limit: {limit}")
    for what, licence in (card.get("licences") or {}).items():
        lines.append(f"  licence of {what}: {licence}")
    return "\n".join(lines)
