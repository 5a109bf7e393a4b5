"""Every feature parameter, in one place (the paper's section 5.1 and the public GTZAN table)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from ..audio import SAMPLE_RATE


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
        """Short stable hash: part of the feature-cache key."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


DEFAULT_PARAMS = FeatureParams()
