"""The files a run writes: report.json, classification_report.txt, confusion matrix, reliability diagram
and curves."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..models.calibration import ece_of, reliability
from .evaluate import metrics, text_report


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_confusion(out: Path, cm: np.ndarray, genres: list[str], *, title: str = "") -> None:
    """``confusion_matrix.csv`` and ``confusion_matrix.png`` (counts, and rows normalised to recall)."""
    with (out / "confusion_matrix.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["true \\ predicted", *genres])
        for g, row in zip(genres, cm):
            w.writerow([g, *map(int, row)])
    plt = _pyplot()
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = 3.5 + 0.45 * len(genres)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, mat, name, fmt in ((axes[0], cm, "counts", "{:d}"), (axes[1], norm, "row-normalised (recall)", "{:.2f}")):
        im = ax.imshow(mat, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
        ax.set_yticks(range(len(genres)), genres)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
        top = mat.max() if mat.size else 0
        for i in range(len(genres)):
            for j in range(len(genres)):
                v = mat[i, j]
                ax.text(j, i, fmt.format(int(v) if fmt == "{:d}" else v), ha="center", va="center", fontsize=8,
                        color="white" if top and v > top / 2 else "black")
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=110)
    plt.close(fig)


def write_history(out: Path, history: list[dict]) -> None:
    """``history.csv`` and ``curves.png`` (accuracy and loss per epoch, training and validation)."""
    if not history:
        return
    keys = list(history[0])
    with (out / "history.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in ((axes[0], "accuracy"), (axes[1], "loss")):
        ax.plot(epochs, [h[metric] for h in history], label="training")
        if f"val_{metric}" in history[0]:
            ax.plot(epochs, [h[f"val_{metric}"] for h in history], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)


def confidence_metrics(y_true: np.ndarray, proba: np.ndarray, *, min_confidence: float = 0.0) -> dict:
    """How far the probabilities can be trusted: ECE (10 equal-width bins of the top-class confidence),
    accuracy on the 70% most confident tracks, top-2 accuracy, and how the unsure threshold splits them."""
    y_true = np.asarray(y_true)
    conf, right = proba.max(axis=1), proba.argmax(axis=1) == y_true
    order = np.argsort(-conf, kind="stable")
    top70 = order[: max(1, int(round(0.7 * len(order))))] if len(order) else order
    top2 = (np.argsort(-proba, axis=1)[:, :2] == y_true[:, None]).any(axis=1) if proba.shape[1] > 1 else right
    sure = conf >= min_confidence
    bins = reliability(proba, y_true)
    return {"ece": ece_of(bins) if len(y_true) else 0.0,
            "accuracy_most_confident_70": float(right[top70].mean()) if len(top70) else 0.0,
            "top2_accuracy": float(np.mean(top2)) if len(y_true) else 0.0,
            "min_confidence": float(min_confidence), "sure_fraction": float(sure.mean()) if len(y_true) else 0.0,
            "sure_accuracy": float(right[sure].mean()) if sure.any() else None,
            "reliability": bins}


def write_reliability(out: Path, bins: list[dict], *, ece: float, title: str = "") -> None:
    """``reliability.png``: accuracy against confidence per bin (the diagonal is perfect calibration)."""
    plt = _pyplot()
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=[3, 1], sharex=True)
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    width = bins[0]["high"] - bins[0]["low"]
    acc = [b["accuracy"] or 0.0 for b in bins]
    ax.bar(centres, acc, width=width * 0.95, color="#4a78b5", edgecolor="white", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    conf = [(c, b["confidence"]) for c, b in zip(centres, bins) if b["confidence"] is not None]
    ax.plot([c for c, _ in conf], [v for _, v in conf], "o", color="#d9822b", label="mean confidence")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title((f"{title}\n" if title else "") + f"reliability (ECE {ece:.3f})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    hist.bar(centres, [b["count"] for b in bins], width=width * 0.95, color="#999999")
    hist.set_xlabel("confidence of the top genre")
    hist.set_ylabel("tracks")
    hist.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    plt.close(fig)


def write_results(out: str | Path, y_true: np.ndarray, proba: np.ndarray, genres: list[str], *,
                  history: list[dict] | None = None, extra: dict | None = None, title: str = "",
                  min_confidence: float = 0.0) -> dict:
    """Write every result file of a test set into ``out``; returns the report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    y_pred = proba.argmax(axis=1)
    report = metrics(y_true, y_pred, genres)
    report.update(confidence_metrics(y_true, proba, min_confidence=min_confidence))
    if extra:
        report.update(extra)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "classification_report.txt").write_text(
        (f"{title}\n\n" if title else "") + text_report(y_true, y_pred, genres))
    write_confusion(out, np.asarray(report["confusion_matrix"]), genres, title=title)
    write_reliability(out, report["reliability"], ece=report["ece"], title=title)
    if history:
        write_history(out, history)
    return report


def format_report(report: dict) -> str:
    """The per-class table and the totals, for a terminal."""
    lines = [f"{'genre':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for g, m in report["per_class"].items():
        lines.append(f"{g:<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}")
    lines.append(f"{'macro avg':<12}{report['macro_precision']:>10.3f}{report['macro_recall']:>10.3f}"
                 f"{report['macro_f1']:>10.3f}{report['n']:>10d}")
    lines.append(f"accuracy {report['accuracy']:.3f} on {report['n']} test clips")
    if "ece" in report:
        lines.append(f"calibration error (ECE) {report['ece']:.3f}; accuracy on the 70% most confident "
                     f"{report['accuracy_most_confident_70']:.3f}; top-2 accuracy {report['top2_accuracy']:.3f}")
    return "\n".join(lines)
