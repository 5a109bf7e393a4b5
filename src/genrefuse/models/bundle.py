"""A trained model as one self-contained folder: ``model.safetensors`` + ``config.json``.

Loading reads tensors and JSON only; nothing is unpickled or executed.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..features.params import FeatureParams
from .classic import CLASSIC_KINDS, ClassicModel
from .ensemble import NEURAL_MODELS, GenreEnsemble, build_model
from .fusion import Architecture, GenreNet, NEURAL_KINDS

FORMAT = "genrefuse-model"
FORMAT_VERSION = 2                  # 2: architecture.members (ensembles)


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
    """What a model needs to predict: the fitted model, genres, feature parameters, standardisation."""

    kind: str
    model: GenreNet | GenreEnsemble | ClassicModel
    genres: list[str]
    feature_params: FeatureParams
    table_mean: np.ndarray          # (57,)
    table_std: np.ndarray           # (57,)
    extra: dict
    tags_mean: np.ndarray | None = None   # (100,) standardisation of the musicnn branch's input
    tags_std: np.ndarray | None = None

    @property
    def uses_mel(self) -> bool:
        return isinstance(self.model, NEURAL_MODELS) and self.model.arch.uses_mel

    @property
    def uses_table(self) -> bool:
        return not isinstance(self.model, NEURAL_MODELS) or self.model.arch.uses_table

    @property
    def uses_tags(self) -> bool:
        return isinstance(self.model, NEURAL_MODELS) and self.model.arch.uses_tags

    def standardise_tags(self, tags: np.ndarray) -> np.ndarray:
        return ((np.asarray(tags, np.float64) - self.tags_mean) / self.tags_std).astype(np.float32)

    def standardise(self, table: np.ndarray) -> np.ndarray:
        return ((np.asarray(table, np.float64) - self.table_mean) / self.table_std).astype(np.float32)

    def config(self) -> dict:
        cfg = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind, "genres": self.genres,
            "feature_params": self.feature_params.to_dict(),
            "table_mean": self.table_mean.tolist(), "table_std": self.table_std.tolist(),
            "library_versions": library_versions(),
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **self.extra,
        }
        if self.tags_mean is not None:
            cfg["tags_mean"], cfg["tags_std"] = self.tags_mean.tolist(), self.tags_std.tolist()
        if isinstance(self.model, NEURAL_MODELS):
            cfg["architecture"] = self.model.arch.to_dict()
        else:
            cfg["architecture"] = {"kind": self.kind, "n_classes": self.model.n_classes, "seed": self.model.seed,
                                   "hyper": self.model.hyper}
        return cfg

    def save(self, folder: str | Path) -> Path:
        """Write the bundle; the folder is replaced whole, never left half-written."""
        from safetensors.numpy import save_file as save_np
        from safetensors.torch import save_file as save_torch

        folder = Path(folder)
        tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if isinstance(self.model, NEURAL_MODELS):
            state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
            save_torch(state, str(tmp / "model.safetensors"))
        else:
            save_np(self.model.state(), str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(self.config(), indent=2))
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old{os.getpid()}")
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
        return folder


def load_bundle(folder: str | Path) -> Bundle:
    folder = Path(folder)
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if not cfg_path.is_file() or not weights.is_file():
        raise ModelError(f"{folder}: not a model folder (config.json and model.safetensors expected)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{cfg_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if cfg.get("format") != FORMAT or cfg.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(f"{cfg_path}: not a {FORMAT} bundle of version <= {FORMAT_VERSION}")
    kind = cfg["kind"]
    extra = {k: v for k, v in cfg.items() if k not in ("format", "format_version", "kind", "genres", "feature_params",
                                                      "table_mean", "table_std", "library_versions", "saved_at",
                                                      "architecture", "tags_mean", "tags_std")}
    try:
        if kind in NEURAL_KINDS:
            from safetensors.torch import load_file

            model: GenreNet | GenreEnsemble | ClassicModel = build_model(Architecture(**cfg["architecture"]))
            model.load_state_dict(load_file(str(weights)))
            model.eval()
        elif kind in CLASSIC_KINDS:
            from safetensors.numpy import load_file

            arch = cfg["architecture"]
            state = load_file(str(weights))
            model = ClassicModel(kind, arch["n_classes"], seed=arch["seed"], **arch["hyper"]).fit(state["train_X"], state["train_y"])
        else:
            raise ModelError(f"{cfg_path}: unknown model kind {kind!r}")
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{folder}: weights do not fit the configuration ({str(exc).splitlines()[0][:200]})") from None
    tags = [np.asarray(cfg[k]) if k in cfg else None for k in ("tags_mean", "tags_std")]
    return Bundle(kind, model, list(cfg["genres"]), FeatureParams.from_dict(cfg["feature_params"]),
                  np.asarray(cfg["table_mean"]), np.asarray(cfg["table_std"]), extra, *tags)
