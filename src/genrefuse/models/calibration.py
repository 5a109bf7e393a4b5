"""Calibrated confidence: temperature scaling of probabilities, the expected calibration error, and the
confidence under which an answer is called unsure. Fitted on held-out predictions, never on a test."""
from __future__ import annotations

import numpy as np

ECE_BINS = 10


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row by row: ``T > 1`` softens overconfident probabilities ``(n, k)``."""
    proba = np.asarray(proba, np.float64)
    if temperature == 1.0:
        return proba
    logp = np.log(np.clip(proba, 1e-300, None)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of held-out predictions ``(n, k)`` with
    true classes ``y`` ``(n,)``; searched over 0.05 to 20."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(y)

    def nll(log_t: float) -> float:
        p = apply_temperature(proba, float(np.exp(log_t)))
        return -float(np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def reliability(proba: np.ndarray, y: np.ndarray, *, bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width bin of the top-class confidence: its range, count, mean confidence and accuracy
    (the reliability diagram)."""
    conf, correct = np.max(proba, axis=1), np.argmax(proba, axis=1) == np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        m = which == b
        out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(m.sum()),
                    "confidence": float(conf[m].mean()) if m.any() else None,
                    "accuracy": float(correct[m].mean()) if m.any() else None})
    return out


def ece_of(bins: list[dict]) -> float:
    """The expected calibration error of :func:`reliability` bins: the support-weighted mean of
    |accuracy - mean confidence|."""
    n = sum(b["count"] for b in bins)
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]))


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width bins of the top-class confidence."""
    return ece_of(reliability(proba, y, bins=bins))


def confidence_threshold(proba: np.ndarray, y: np.ndarray, *, precision: float = 0.9) -> float:
    """The lowest confidence at or above which held-out answers are right at least ``precision`` of the
    time (answers below it are called unsure); 0 when all are, the highest confidence when none is."""
    conf, correct = np.max(proba, axis=1), (np.argmax(proba, axis=1) == np.asarray(y)).astype(float)
    order = np.argsort(-conf)
    hits = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(hits >= precision)
    if not len(ok):
        return float(conf.max()) if len(conf) else 1.0
    k = ok[-1]                          # the most answers kept at that precision
    return float(conf[order][k]) if k < len(order) - 1 else 0.0


def genre_thresholds(proba: np.ndarray, y: np.ndarray, *, precision: float = 0.9, min_answers: int = 5
                     ) -> dict[int, float]:
    """Per class (column), the lowest confidence at or above which held-out answers of that class were right at
    least ``precision`` of the time, counting at least ``min_answers`` answers; a class whose answers never reach
    it gets a threshold above 1 (never sure). ``proba`` ``(n, k)``, ``y`` ``(n,)``."""
    conf, best = np.max(proba, axis=1), np.argmax(proba, axis=1)
    out = {}
    for k in range(proba.shape[1]):
        mine = best == k
        c, ok = conf[mine], (np.asarray(y)[mine] == k)
        order = np.argsort(-c)
        hits = np.cumsum(ok[order]) / np.arange(1, len(order) + 1)
        good = np.flatnonzero((hits >= precision) & (np.arange(1, len(order) + 1) >= min_answers))
        out[k] = float(c[order][good[-1]]) if len(good) else NEVER_SURE
    return out


NEVER_SURE = 1.01           # a threshold no confidence reaches
