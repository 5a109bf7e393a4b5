"""The columns of the public GTZAN table (``features_30_sec.csv``): one place, no imports, so that
readers of tables need none of the code that computes them."""
from __future__ import annotations

PAIRS = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff",
         "zero_crossing_rate", "harmony", "perceptr")

FEATURE_COLUMNS: tuple[str, ...] = (
    *(f"{name}_{stat}" for name in PAIRS for stat in ("mean", "var")),
    "tempo",
    *(f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")),
)
TABLE_COLUMNS: tuple[str, ...] = ("filename", "length", *FEATURE_COLUMNS, "label")
N_FEATURES = len(FEATURE_COLUMNS)
assert N_FEATURES == 57

TEMPO = FEATURE_COLUMNS.index("tempo")


def tempo_of(table) -> float | None:
    """A track's tempo in beats per minute from its table rows ``(n_windows, 57)``: the mean of the windows'
    estimates (librosa's beat tracker's, as the public table computes it), to 0.1; None without rows."""
    import numpy as np

    table = np.asarray(table, np.float64)
    if table.ndim != 2 or not len(table) or table.shape[1] != len(FEATURE_COLUMNS):
        return None
    bpm = float(np.mean(table[:, TEMPO]))
    return round(bpm, 1) if np.isfinite(bpm) and bpm > 0 else None
