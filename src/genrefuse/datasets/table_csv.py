"""Reading and writing feature tables in the format of the public ``features_30_sec.csv``."""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import atomic_path
from ..features.columns import FEATURE_COLUMNS, TABLE_COLUMNS


@dataclass
class FeatureTable:
    X: np.ndarray            # (n_rows, 57) float64
    labels: list[str | None]
    filenames: list[str]

    @property
    def tracks(self) -> list[str]:
        """Track ids as the layouts name them (``blues/blues.00029``) when the row is labelled."""
        return [f"{lab}/{Path(fn).stem}" if lab else Path(fn).stem for fn, lab in zip(self.filenames, self.labels)]


def read_feature_table(path: str | Path) -> FeatureTable:
    """Read a feature table; every problem is a :class:`DataError` naming the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            missing = [c for c in FEATURE_COLUMNS if c not in cols]
            if missing:
                raise DataError(f"{path}: not a feature table: {len(missing)} feature columns missing "
                                f"(first: {missing[0]!r})")
            rows, labels, names = [], [], []
            for line, row in enumerate(reader, start=2):
                try:
                    values = [float(row[c]) for c in FEATURE_COLUMNS]
                except (TypeError, ValueError):
                    bad = next(c for c in FEATURE_COLUMNS if not _is_float(row.get(c)))
                    raise DataError(f"{path}:{line}: column {bad!r} is not a number ({row.get(bad)!r})") from None
                if not all(math.isfinite(v) for v in values):
                    bad = next(c for c, v in zip(FEATURE_COLUMNS, values) if not math.isfinite(v))
                    raise DataError(f"{path}:{line}: column {bad!r} is not finite")
                rows.append(values)
                labels.append((row.get("label") or "").strip() or None)
                names.append(row.get("filename") or f"row{line}")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    if not rows:
        raise DataError(f"{path}: the table has no rows")
    return FeatureTable(np.asarray(rows, dtype=np.float64), labels, names)


def _is_float(s: str | None) -> bool:
    try:
        float(s)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False


def write_feature_table(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows (dicts keyed by the table's column names) atomically; returns the row count."""
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(TABLE_COLUMNS))
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
            n += 1
    return n
