"""The classic baselines of Tzanetakis & Cook on the standardised 57 features: kNN and an RBF SVM.

Neither is pickled: the bundle stores the (standardised) training table and labels, and loading
fits the same estimator again, which is deterministic.
"""
from __future__ import annotations

import numpy as np

DEFAULTS = {"knn": {"n_neighbors": 5}, "svm": {"C": 10.0, "gamma": "scale"}}


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
    raise ValueError(f"unknown classic model kind {kind!r}")


class ClassicModel:
    """A fitted kNN or SVM over standardised table rows; :meth:`probabilities` gives ``(n, n_classes)``."""

    def __init__(self, kind: str, n_classes: int, *, seed: int = 0, **hyper):
        self.kind, self.n_classes, self.seed, self.hyper = kind, n_classes, seed, {**DEFAULTS[kind], **hyper}
        self.estimator = make_estimator(kind, seed=seed, **hyper)
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ClassicModel":
        self.X, self.y = np.asarray(X, np.float64), np.asarray(y, np.int64)
        self.estimator.fit(self.X, self.y)
        return self

    def probabilities(self, *, mel=None, table: np.ndarray, tags=None) -> np.ndarray:
        """``(n, n_classes)`` from standardised ``table`` rows ``(n, 57)`` (the other inputs are unused)."""
        proba = np.zeros((len(table), self.n_classes))
        proba[:, self.estimator.classes_] = self.estimator.predict_proba(np.asarray(table, np.float64))
        return proba

    def state(self) -> dict[str, np.ndarray]:
        return {"train_X": self.X, "train_y": self.y}
