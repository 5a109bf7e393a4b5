"""The README's ``make demo``: the whole pipeline on a small synthetic dataset (or on ``--data``)."""
from __future__ import annotations

from pathlib import Path

from .datasets.extract import extract_dataset
from .datasets.layouts import discover, genres_of
from .datasets.synth import synthesize
from .errors import DataError


def run_demo(*, out: Path, data: Path | None = None, per_genre: int = 40, seconds: float = 30.0,
             jobs: int | None = None) -> dict:
    """Synthesise (unless ``data`` is given) and extract; returns the paths it wrote."""
    out = Path(out)
    if data is None:
        data = out / "data"
        print(f"Rendering {per_genre} synthetic clips per genre into {data}")
        synthesize(data, per_genre=per_genre, seconds=seconds, seed=0, jobs=jobs)
    items = [i for i in discover(data) if i.label is not None]
    if not items:
        raise DataError(f"{data}: no labelled audio (expected a folder of genre folders)")
    print(f"Extracting features of {len(items)} clips ({len(genres_of(items))} genres) into {out / 'cache'}")
    rows, report = extract_dataset(items, out / "cache", jobs=jobs)
    for f in report.failures:
        print(f"  skipped: {f}")
    return {"data": data, "cache": out / "cache", "manifest": out / "cache" / "manifest.csv", "clips": len(rows)}
