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


def make_estimator(spec: ModelKind, *, seed: int = 0, **hyper):
    params = {k: v for k, v in {**spec.hyper, **hyper}.items() if k != "few_boost"}
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
    """A fitted classic model over standardised rows: the table's 57 columns, then (for kinds that read
    the tagger) the 100 of the musicnn summary. :meth:`probabilities` gives ``(n, n_classes)``."""

    def __init__(self, kind: str = "logreg", n_classes: int = 10, *, seed: int = 0, **hyper):
        self.kind, self.n_classes, self.seed = kind, n_classes, seed
        self.hyper = {**KINDS[kind].hyper, **hyper}
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.estimator = None
        self.coef: np.ndarray | None = None          # logreg: (n_classes, d)
        self.intercept: np.ndarray | None = None     # logreg: (n_classes,)

    # scikit-learn's conventions
    def get_params(self, deep: bool = True) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "seed": self.seed, **self.hyper}

    def set_params(self, **params) -> "ClassicModel":
        for k in ("kind", "n_classes", "seed"):
            if k in params:
                setattr(self, k, params.pop(k))
        self.hyper.update(params)
        return self

    def __sklearn_tags__(self):
        """A classifier's tags (asked by scikit-learn's own functions only, so imported only then)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.n_classes)

    @property
    def spec(self) -> ModelKind:
        return KINDS[self.kind]

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ClassicModel":
        X, y = np.asarray(X, np.float64), np.asarray(y, np.int64)
        est = make_estimator(self.spec, seed=self.seed, **self.hyper)
        weights = sample_weights(y, class_weight=self.hyper.get("class_weight"),
                                 few_boost=float(self.hyper.get("few_boost", 1.0)))
        est = est.fit(X, y) if weights is None else est.fit(X, y, sample_weight=weights)
        if self.spec.refit:
            self.X, self.y, self.estimator = X, y, est
        else:
            self.coef = np.zeros((self.n_classes, X.shape[1]))
            self.intercept = np.full(self.n_classes, -np.inf)    # a class never seen in training: p = 0
            if len(est.classes_) == 2 and est.coef_.shape[0] == 1:   # binary: scikit-learn keeps one row
                coef, icpt = np.vstack([-est.coef_[0] / 2, est.coef_[0] / 2]), np.array([-1, 1]) * est.intercept_[0] / 2
            else:
                coef, icpt = est.coef_, est.intercept_
            self.coef[est.classes_], self.intercept[est.classes_] = coef, icpt
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` of standardised rows ``(n, d)``."""
        X = np.asarray(X, np.float64)
        if self.coef is not None:
            logits = X @ self.coef.T + self.intercept
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)
        proba = np.zeros((len(X), self.n_classes))
        proba[:, self.estimator.classes_] = self.estimator.predict_proba(X)
        return proba

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def probabilities(self, *, mel=None, table: np.ndarray | None = None, tags: np.ndarray | None = None
                      ) -> np.ndarray:
        """``(n, n_classes)`` from standardised ``table`` ``(n, 57)`` and, when the kind reads it, ``tags``
        ``(n, 100)``."""
        return self.predict_proba(np.hstack([np.asarray(a, np.float64) for a in (table, tags) if a is not None]))

    def state(self) -> dict[str, np.ndarray]:
        if self.coef is not None:
            return {"coef": self.coef, "intercept": self.intercept}
        return {"train_X": self.X, "train_y": self.y}

    @classmethod
    def from_state(cls, kind: str, arch: dict, state: dict[str, np.ndarray]) -> "ClassicModel":
        model = cls(kind, arch["n_classes"], seed=arch["seed"], **arch["hyper"])
        if "coef" in state:
            model.coef, model.intercept = state["coef"], state["intercept"]
            return model
        return model.fit(state["train_X"], state["train_y"])
