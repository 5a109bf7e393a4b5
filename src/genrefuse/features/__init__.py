"""Features: the CNN's Mel input and the 57-column GTZAN table.

The librosa reference functions load on first use, so that importing this package (as prediction
does) never imports librosa.
"""
from .columns import FEATURE_COLUMNS, N_FEATURES, TABLE_COLUMNS
from .params import DEFAULT_PARAMS, SAMPLE_RATE, FeatureParams

_LAZY = {"chroma": "spectral", "mel_input": "spectral", "mfcc": "spectral", "power_stft": "spectral",
         "table_features": "table", "table_vector": "table"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_PARAMS", "FeatureParams", "SAMPLE_RATE", "chroma", "mel_input", "mfcc", "power_stft",
    "FEATURE_COLUMNS", "N_FEATURES", "TABLE_COLUMNS", "table_features", "table_vector",
]
