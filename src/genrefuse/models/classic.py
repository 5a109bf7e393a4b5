"""The classic models on standardised inputs: Tzanetakis & Cook's kNN and RBF SVM on the 57 features,
and multinomial logistic regression (on the table, or the table joined to the musicnn summary, plain or
class-balanced for a library's own genres). Which estimator and defaults a kind has is in
:mod:`.kinds`.

:class:`ClassicModel` follows scikit-learn's estimator conventions (``fit``, ``predict_proba``,
``predict``, ``classes_``, ``get_params``/``set_params``), so that scikit-learn's ``clone`` and
``cross_val_predict`` work on it. Nothing is pickled: kNN and SVM store their (standardised) training rows
and fit the same estimator again on load, which is deterministic; logistic regression stores its
coefficients and predicts in numpy, without scikit-learn.
"""
from __future__ import annotations

import numpy as np

from .kinds import KINDS, ModelKind

TABLE_COLUMNS = 57          # the table's columns, first in every row


def make_estimator(spec: ModelKind, *, seed: int = 0, **hyper):
    params = {k: v for k, v in {**spec.hyper, **hyper}.items() if k not in ("few_boost", "table_weight")}
    if spec.estimator == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(**params)
    if spec.estimator == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        # Platt scaling over an internal 5-fold CV, as SVC(probability=True) did before sklearn deprecated it
        return CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed, **params), method="sigmoid", cv=5,
                                      ensemble=False)
    if spec.estimator == "logreg":
        from sklearn.linear_model import LogisticRegression

        params.pop("class_weight", None)       # applied as sample weights (see sample_weights)
        return LogisticRegression(max_iter=5000, **params)
    raise ValueError(f"{spec.name} is not a classic model kind")


def sample_weights(y: np.ndarray, *, class_weight: str | None, few_boost: float = 1.0) -> np.ndarray | None:
    """Per-row weights ``(n,)``: 'balanced' gives every class the same total weight, and a class with
    fewer than half the median count of examples is weighted ``few_boost`` times more; None for plain."""
    if class_weight != "balanced":
        return None
    classes, counts = np.unique(y, return_counts=True)
    w = len(y) / (len(classes) * counts)
    w = np.where(counts < np.median(counts) / 2, w * few_boost, w)
    return w[np.searchsorted(classes, y)]


class ClassicModel:
    """A classic model over standardised rows: the table's 57 columns, then (for kinds that read the tagger)
    the 100 of the musicnn summary, then (for kinds that read them) the 400 of the penultimate features' summary. :meth:`probabilities` gives ``(n, n_classes)``.

    Parameters
    ----------
    kind : str
        A classic kind of :data:`~genrefuse.models.kinds.KINDS`; its defaults fill the parameters left None.
    n_classes : int
        The genres told apart (a class never seen in training gets probability 0).
    seed : int
    C, class_weight, few_boost : logistic regression's and the SVM's regularisation, and class balancing
        (``few_boost``: a class with fewer than half the median count of examples weighted this much more).
    table_weight : logistic regression on the table and the taggram: the standardised table columns are
        multiplied by this while fitting (under the same L2 penalty, a weight under 1 leans on the taggram), and
        the weight is folded into ``coef_``, so prediction reads the plain standardised rows.
    n_neighbors, gamma : kNN's neighbours and the SVM's kernel width.

    Attributes (fitted)
    -------------------
    classes_ : (n_classes,) int
    coef_, intercept_ : logistic regression's ``(n_classes, d)`` and ``(n_classes,)``
    X_, y_, estimator_ : kNN and SVM: the training rows and the fitted scikit-learn estimator
    """

    def __init__(self, kind: str = "logreg", n_classes: int = 10, *, seed: int = 0, C: float | None = None,
                 class_weight: str | None = None, few_boost: float | None = None, n_neighbors: int | None = None,
                 gamma: str | float | None = None, table_weight: float | None = None):
        self.kind, self.n_classes, self.seed = kind, n_classes, seed
        self.C, self.class_weight, self.few_boost = C, class_weight, few_boost
        self.n_neighbors, self.gamma, self.table_weight = n_neighbors, gamma, table_weight

    _HYPER = ("C", "class_weight", "few_boost", "n_neighbors", "gamma", "table_weight")

    # scikit-learn's conventions
    def get_params(self, deep: bool = True) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "seed": self.seed,
                **{k: getattr(self, k) for k in self._HYPER}}

    def set_params(self, **params) -> "ClassicModel":
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"invalid parameter {k!r} for ClassicModel")
            setattr(self, k, v)
        return self

    def __sklearn_tags__(self):
        """A classifier's tags (asked by scikit-learn's own functions only, so imported only then)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    @property
    def hyper(self) -> dict:
        """The estimator's parameters: the kind's defaults, with those given over them."""
        given = {k: getattr(self, k) for k in self._HYPER if getattr(self, k) is not None}
        return {**KINDS[self.kind].hyper, **given}

    @property
    def spec(self) -> ModelKind:
        return KINDS[self.kind]

    def _column_scale(self, width: int, weight: float | None) -> np.ndarray | None:
        """Per-column factors ``(width,)`` that weight the table's columns (the first :data:`TABLE_COLUMNS`) by
        ``weight``; None where nothing is weighted."""
        if weight is None or float(weight) == 1.0 or not (self.spec.uses_table and self.spec.uses_tags):
            return None
        scale = np.ones(width)
        scale[:TABLE_COLUMNS] = float(weight)
        return scale

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> "ClassicModel":
        """Fit on standardised rows ``X`` ``(n, d)`` and classes ``y`` ``(n,)``; ``sample_weight`` ``(n,)``
        weights rows (logistic regression; times the class balancing where the kind has it)."""
        X, y = np.asarray(X, np.float64), np.asarray(y, np.int64)
        hyper = self.hyper
        scale = self._column_scale(X.shape[1], hyper.get("table_weight"))
        if scale is not None:
            X = X * scale
        est = make_estimator(self.spec, seed=self.seed, **hyper)
        weights = sample_weights(y, class_weight=hyper.get("class_weight"), few_boost=float(hyper.get("few_boost", 1.0)))
        if sample_weight is not None:
            if self.spec.refit:
                raise ValueError(f"sample weights are for logistic regression, not {self.kind}")
            sample_weight = np.asarray(sample_weight, np.float64)
            weights = sample_weight if weights is None else weights * sample_weight
        est = est.fit(X, y) if weights is None else est.fit(X, y, sample_weight=weights)
        if self.spec.refit:
            self.X_, self.y_, self.estimator_ = X, y, est
        else:
            self.coef_ = np.zeros((self.n_classes, X.shape[1]))
            self.intercept_ = np.full(self.n_classes, -np.inf)    # a class never seen in training: p = 0
            if len(est.classes_) == 2 and est.coef_.shape[0] == 1:   # binary: scikit-learn keeps one row
                coef, icpt = np.vstack([-est.coef_[0] / 2, est.coef_[0] / 2]), np.array([-1, 1]) * est.intercept_[0] / 2
            else:
                coef, icpt = est.coef_, est.intercept_
            self.coef_[est.classes_], self.intercept_[est.classes_] = coef, icpt
            if scale is not None:
                self.coef_ = self.coef_ * scale          # the weight folded in: predict on plain rows
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` of standardised rows ``(n, d)``."""
        self._check_is_fitted()
        X = np.asarray(X, np.float64)
        if getattr(self, "coef_", None) is not None:
            logits = X @ self.coef_.T + self.intercept_
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)
        proba = np.zeros((len(X), self.n_classes))
        proba[:, self.estimator_.classes_] = self.estimator_.predict_proba(X)
        return proba

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def probabilities(self, *, mel=None, table: np.ndarray | None = None, tags: np.ndarray | None = None,
                      deep: np.ndarray | None = None) -> np.ndarray:
        """``(n, n_classes)`` from standardised ``table`` ``(n, 57)`` and, when the kind reads them, ``tags``
        ``(n, 100)`` and ``deep`` ``(n, 400)``."""
        return self.predict_proba(np.hstack([np.asarray(a, np.float64) for a in (table, tags, deep) if a is not None]))

    def state(self) -> dict[str, np.ndarray]:
        self._check_is_fitted()
        if getattr(self, "coef_", None) is not None:
            return {"coef": self.coef_, "intercept": self.intercept_}
        return {"train_X": self.X_, "train_y": self.y_}

    @classmethod
    def from_state(cls, kind: str, arch: dict, state: dict[str, np.ndarray]) -> "ClassicModel":
        model = cls(kind, arch["n_classes"], seed=arch["seed"], **arch["hyper"])
        if "coef" in state:
            model.coef_, model.intercept_ = state["coef"], state["intercept"]
            model.classes_ = np.arange(model.n_classes)
            return model
        return model.fit(state["train_X"], state["train_y"])


class NotFittedError(ValueError, AttributeError):
    """A model used before :meth:`ClassicModel.fit` (as scikit-learn's own ``NotFittedError``)."""
