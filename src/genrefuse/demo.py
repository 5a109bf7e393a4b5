"""The README's ``make demo``: synthesise, extract, train the fusion model, evaluate, report."""
from __future__ import annotations

import logging
from pathlib import Path

from .datasets.synth import synthesize
from .training.run import train_run
from .training.trainer import TrainConfig

log = logging.getLogger(__name__)


def run_demo(*, out: Path, data: Path | None = None, per_genre: int = 40, seconds: float = 30.0,
             epochs: int = 25, jobs: int | None = None) -> tuple[dict, Path]:
    """The whole pipeline on a synthetic dataset (or on ``data``), its steps logged; returns the test
    report and the run folder."""
    out = Path(out)
    if data is None:
        data = out / "data"
        log.info("[1/3] rendering %d synthetic clips of %g s per genre into %s", per_genre, seconds, data)
        synthesize(data, per_genre=per_genre, seconds=seconds, seed=0, jobs=jobs)
    log.info("[2/3] extracting the Mel input and the 57 table features into %s", out / "cache")
    log.info("[3/3] training the fusion model (%d epochs, batch 100, 70/15/15 split)", epochs)
    report = train_run(data, out / "run", kind="fusion", config=TrainConfig(epochs=epochs, patience=None),
                       cache_dir=out / "cache", jobs=jobs)
    return report, out / "run"


RESULTS = (("report.json", "metrics"), ("classification_report.txt", "per-class report"),
           ("confusion_matrix.png", "confusion matrix"), ("curves.png", "accuracy and loss curves"),
           ("model", "model bundle (safetensors + config.json)"))
