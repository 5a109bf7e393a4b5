"""Every model kind in one registry: what it is, which inputs it reads, whether it is a neural net or
which classic estimator it fits, and its defaults. Adding a kind is one line here; the command line's
help, training, saving and loading all read it from here.

Inputs are named ``mel`` (the CNN's Mel spectrogram), ``table`` (the 57 features), ``tags`` (the
musicnn taggram summary) and ``deep`` (the summary of the MSD tagger's penultimate features); callers ask a
kind, never compare against lists of names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError

# How a neural kind joins its branches (models/fusion.py). concat is the default: on blocked CV of
# mlp+musicnn (6 fold seeds) gated gave +0.005 and attention -0.010, both inside the seed-to-seed spread.
FUSIONS = ("concat", "gated", "attention")

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
    summary: str = ""
    members: int = 1                # default ensemble size
    input_noise: float = 0.0        # default training-time input noise
    estimator: str | None = None    # classic kinds: the estimator (models/classic.py), None for nets
    hyper: dict = field(default_factory=dict)    # classic kinds: the estimator's default parameters
    refit: bool = False             # classic kinds stored as training rows and refitted on load (kNN, SVM)

    @property
    def uses_mel(self) -> bool:
        return "mel" in self.inputs

    @property
    def uses_table(self) -> bool:
        return "table" in self.inputs

    @property
    def uses_tags(self) -> bool:
        return "tags" in self.inputs

    @property
    def uses_deep(self) -> bool:
        return "deep" in self.inputs


def _net(name: str, inputs: str, summary: str, *, paper: bool = False, **defaults) -> ModelKind:
    return ModelKind(name, frozenset(inputs.split()), True, paper, summary, **defaults)


def _classic(name: str, inputs: str, summary: str, estimator: str, *, paper: bool = False, refit: bool = False,
             **hyper) -> ModelKind:
    return ModelKind(name, frozenset(inputs.split()), False, paper, summary, estimator=estimator, hyper=hyper,
                     refit=refit)


# A library's own genres: class-balanced, with a genre of fewer than half the median examples counted twice
# more, and stronger regularisation (C = 0.03). On GTZAN's 443 FF training tracks, one genre left out and
# then k of its tracks added (blocked CV, benchmarks/new_genre.py), this raised the new genre's recall at
# k = 5 from 0.63 (C = 0.1, balanced only) to 0.73, the other genres' accuracy staying within 0.01.
FEW_BOOST = 2.0
_TAGS = {"input_noise": TAG_INPUT_NOISE}
KINDS: dict[str, ModelKind] = {k.name: k for k in (
    _net("fusion", "mel table", "the paper's fusion of a CNN on the Mel spectrogram and an MLP on the 57 features",
         paper=True),
    _net("cnn", "mel", "the paper's CNN on the Mel spectrogram", paper=True),
    _net("mlp", "table", "the paper's MLP on the 57 features", paper=True),
    _classic("knn", "table", "k-nearest neighbours on the 57 features (Tzanetakis & Cook)", "knn", paper=True,
             refit=True, n_neighbors=5),
    _classic("svm", "table", "RBF support vector machine on the 57 features", "svm", paper=True, refit=True,
             C=10.0, gamma="scale"),
    _classic("logreg", "table", "logistic regression on the 57 features", "logreg", C=0.1),
    _classic("logreg+musicnn", "table tags", "logistic regression on the 57 features and the musicnn taggram "
             "summary (the packaged model before it read the penultimate features)", "logreg", C=0.1),
    _classic("logreg+musicnn+deep", "table tags deep", "logistic regression on the 57 features, the musicnn taggram "
             "summary and the summary of the MSD tagger's penultimate features (the packaged default model)", "logreg",
             C=0.1),
    _classic("balanced-logreg+musicnn+deep", "table tags deep", "class-balanced logistic regression on the table, "
             "the taggram summary and the penultimate features' summary (what `genrefuse learn` fits on top of a "
             "model that reads them)", "logreg", C=0.03, class_weight="balanced", few_boost=FEW_BOOST),
    _classic("balanced-logreg+musicnn", "table tags", "class-balanced logistic regression on the table and taggram summary, for a "
             "library's own genres (what `genrefuse learn` fits)", "logreg", C=0.03, class_weight="balanced",
             few_boost=FEW_BOOST),
    _net("musicnn", "tags", "an MLP ensemble on the musicnn taggram summary", members=ENSEMBLE_MEMBERS, **_TAGS),
    _net("mlp+musicnn", "table tags", "an MLP ensemble on the 57 features and the taggram summary",
         members=ENSEMBLE_MEMBERS, **_TAGS),
    _net("fusion+musicnn", "mel table tags", "the fusion net with a third branch on the taggram summary", **_TAGS),
)}
# names a kind had before (a saved model keeps the name it was saved with): read as the kind named now
RENAMED = {"library": "balanced-logreg+musicnn"}
MODEL_KINDS = tuple(KINDS)
PAPER_KINDS = tuple(k for k, v in KINDS.items() if v.paper)


def kinds_help() -> str:
    """One line per kind, for the command line's help."""
    return "; ".join(f"{k.name}: {k.summary}" for k in KINDS.values())


def model_kind(name: str) -> ModelKind:
    """The kind called ``name``; a :class:`DataError` naming the choices otherwise."""
    try:
        return KINDS[RENAMED.get(name, name)]
    except KeyError:
        raise DataError(f"unknown model kind {name!r}; choose from {', '.join(MODEL_KINDS)}") from None
