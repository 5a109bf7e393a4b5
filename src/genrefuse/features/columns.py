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
