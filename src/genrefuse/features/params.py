"""Every feature parameter, in one place (the paper's section 5.1 and the public GTZAN table)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from ..audio import SAMPLE_RATE

# How each input is computed, versioned: bump one when its code changes (its parameters are hashed
# already), and every cache keyed by it recomputes instead of serving stale rows. Feature cache (table
# and Mel), the library's feature rows (table and taggram) and the taggram cache all key on these.
RECIPE_VERSIONS = {
    "table": "gtzan-table-1",       # the 57 features as features_30_sec.csv computes them
    "mel": "mel-1",                 # the CNN's Mel input: dB re max, min-max scaled
    "taggram": "musicnn-msd-v4",    # v2: the 2019 resampler; v3: the int8 graph (pretrained/tagger.PRECISION); v4: its
                                    # timbral convolutions as integer matrix products (pretrained/graph.quantize_graph)
    "mtt": "musicnn-mtt-3",         # the second tagger's mean tags, beside the taggram in the library's rows (2: int8, 3: v4)
    "windows": "centred-1",         # which windows of a long track a policy picks (1: centred in equal parts)
}


def recipe_key(*inputs: str) -> str:
    """The versions of ``inputs`` as one string, e.g. ``table=gtzan-table-1,mel=mel-1``."""
    return ",".join(f"{name}={RECIPE_VERSIONS[name]}" for name in inputs)


def recipe_id(feature_params: dict, window_policy: dict) -> str:
    """12 hex digits naming what a track's cached table and taggram rows were computed with: the parameters,
    the window policy and the table and taggram recipes' versions (the library's and the beets plugin's
    caches are keyed by it)."""
    import hashlib
    import json

    text = json.dumps({"features": feature_params, "windows": window_policy,
                       "recipe": recipe_key("table", "taggram", "mtt", "windows")},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class FeatureParams:
    """Parameters of both model inputs; a bundle and the feature cache record them."""

    sr: int = SAMPLE_RATE
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_frames: int = 1300      # the CNN input is fixed to this many frames (pad or crop)
    n_mfcc: int = 20
    window_seconds: float = 30.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureParams":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def key(self) -> str:
        """Short stable hash of the parameters and of the table and Mel recipes' versions: the feature
        cache's folder."""
        blob = json.dumps({**self.to_dict(), "recipe": recipe_key("table", "mel")}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


DEFAULT_PARAMS = FeatureParams()
