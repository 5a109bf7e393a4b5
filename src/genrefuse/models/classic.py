"""The classic models on standardised inputs: Tzanetakis & Cook's kNN and RBF SVM on the 57 features,
and multinomial logistic regression (on the table, or the table joined to the musicnn summary).

Nothing is pickled. kNN and SVM store their (standardised) training rows and fit the same estimator
again on load, which is deterministic; logistic regression stores its coefficients and predicts in
numpy, without scikit-learn.
"""
from __future__ import annotations

import numpy as np

DEFAULTS = {"knn": {"n_neighbors": 5}, "svm": {"C": 10.0, "gamma": "scale"}, "logreg": {"C": 0.1}}
REFIT = ("knn", "svm")          # rebuilt from their training rows on load


def make_estimator(kind: str, *, seed: int = 0, **hyper):
    params = {**DEFAULTS[kind], **hyper}
    if kind == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(**params)
    if kind == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        # Platt scaling over an internal 5-fold CV, as SVC(probability=True) did before sklearn deprecated it
        return CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed, **params), method="sigmoid", cv=5,
                                      ensemble=False)
    if kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=5000, **params)
    raise ValueError(f"unknown classic model kind {kind!r}")


def base_kind(kind: str) -> str:
    """``logreg+musicnn`` -> ``logreg``: the estimator, whatever inputs it reads."""
    return kind.split("+", 1)[0]


class ClassicModel:
    """A fitted classic model over standardised rows: the table's 57 columns, then (for the ``+musicnn``
    kinds) the 100 of the musicnn summary. :meth:`probabilities` gives ``(n, n_classes)``."""

    def __init__(self, kind: str, n_classes: int, *, seed: int = 0, **hyper):
        self.kind, self.n_classes, self.seed = kind, n_classes, seed
        self.hyper = {**DEFAULTS[base_kind(kind)], **hyper}
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.estimator = None
        self.coef: np.ndarray | None = None          # logreg: (n_classes, d)
        self.intercept: np.ndarray | None = None     # logreg: (n_classes,)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ClassicModel":
        X, y = np.asarray(X, np.float64), np.asarray(y, np.int64)
        est = make_estimator(base_kind(self.kind), seed=self.seed, **self.hyper).fit(X, y)
        if base_kind(self.kind) in REFIT:
            self.X, self.y, self.estimator = X, y, est
        else:
            self.coef = np.zeros((self.n_classes, X.shape[1]))
            self.intercept = np.full(self.n_classes, -np.inf)    # a class never seen in training: p = 0
            self.coef[est.classes_], self.intercept[est.classes_] = est.coef_, est.intercept_
        return self

    def probabilities(self, *, mel=None, table: np.ndarray | None = None, tags: np.ndarray | None = None
                      ) -> np.ndarray:
        """``(n, n_classes)`` from standardised ``table`` ``(n, 57)`` and, when the kind reads it, ``tags``
        ``(n, 100)``."""
        X = np.hstack([np.asarray(a, np.float64) for a in (table, tags) if a is not None])
        if self.coef is not None:
            logits = X @ self.coef.T + self.intercept
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)
        proba = np.zeros((len(X), self.n_classes))
        proba[:, self.estimator.classes_] = self.estimator.predict_proba(X)
        return proba

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
