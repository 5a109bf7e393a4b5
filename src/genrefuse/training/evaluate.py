"""Metrics of a set of predictions: accuracy, per-class precision/recall/F1/support, confusion matrix."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support


def metrics(y_true: np.ndarray, y_pred: np.ndarray, genres: list[str]) -> dict:
    """The content of ``report.json``.

    ``y_true``, ``y_pred``: genre indices, shape (n,).
    """
    labels = list(range(len(genres)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0,
        "macro_precision": float(mp), "macro_recall": float(mr), "macro_f1": float(mf),
        "per_class": {g: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, g in enumerate(genres)},
        "genres": list(genres),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def text_report(y_true: np.ndarray, y_pred: np.ndarray, genres: list[str]) -> str:
    return classification_report(y_true, y_pred, labels=list(range(len(genres))), target_names=genres,
                                 digits=3, zero_division=0)
