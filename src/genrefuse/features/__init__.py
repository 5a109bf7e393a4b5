"""Features: the CNN's Mel input and the 57-column GTZAN table."""
from .params import DEFAULT_PARAMS, FeatureParams, SAMPLE_RATE
from .spectral import chroma, mel_input, mfcc, power_stft
from .table import FEATURE_COLUMNS, N_FEATURES, TABLE_COLUMNS, table_features, table_vector

__all__ = [
    "DEFAULT_PARAMS", "FeatureParams", "SAMPLE_RATE", "chroma", "mel_input", "mfcc", "power_stft",
    "FEATURE_COLUMNS", "N_FEATURES", "TABLE_COLUMNS", "table_features", "table_vector",
]
