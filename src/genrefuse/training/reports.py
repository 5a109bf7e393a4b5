"""The files a run writes: report.json, classification_report.txt, confusion matrix and curves."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

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


def write_results(out: str | Path, y_true: np.ndarray, proba: np.ndarray, genres: list[str], *,
                  history: list[dict] | None = None, extra: dict | None = None, title: str = "") -> dict:
    """Write every result file of a test set into ``out``; returns the report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    y_pred = proba.argmax(axis=1)
    report = metrics(y_true, y_pred, genres)
    if extra:
        report.update(extra)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "classification_report.txt").write_text(
        (f"{title}\n\n" if title else "") + text_report(y_true, y_pred, genres))
    write_confusion(out, np.asarray(report["confusion_matrix"]), genres, title=title)
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
    return "\n".join(lines)
