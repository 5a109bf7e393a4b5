"""The README's ``make demo``: synthesise, extract, train the fusion model, evaluate, report."""
from __future__ import annotations

import time
from pathlib import Path

from .datasets.synth import synthesize
from .training.reports import format_report
from .training.run import train_run
from .training.trainer import TrainConfig


def run_demo(*, out: Path, data: Path | None = None, per_genre: int = 40, seconds: float = 30.0,
             epochs: int = 25, jobs: int | None = None) -> dict:
    """The whole pipeline on a synthetic dataset (or on ``data``); returns the test report."""
    out = Path(out)
    t0 = time.time()
    if data is None:
        data = out / "data"
        print(f"[1/3] rendering {per_genre} synthetic clips of {seconds:g} s per genre into {data}")
        synthesize(data, per_genre=per_genre, seconds=seconds, seed=0, jobs=jobs)
    print(f"[2/3] extracting the Mel input and the 57 table features into {out / 'cache'}")
    print(f"[3/3] training the fusion model ({epochs} epochs, batch 100, 70/15/15 split)")
    report = train_run(data, out / "run", kind="fusion", config=TrainConfig(epochs=epochs, patience=None),
                       cache_dir=out / "cache", jobs=jobs)
    run = out / "run"
    print()
    print(format_report(report))
    print()
    for name, what in (("report.json", "metrics"), ("classification_report.txt", "per-class report"),
                       ("confusion_matrix.png", "confusion matrix"), ("curves.png", "accuracy and loss curves"),
                       ("model", "model bundle (safetensors + config.json)")):
        print(f"  {what:<42}{run / name}")
    print(f"\nDone in {time.time() - t0:.0f} s. Predict with: genrefuse predict {run / 'model'} FILE...")
    return report
