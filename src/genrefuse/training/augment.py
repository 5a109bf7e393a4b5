"""Data augmentation for the audio kinds (the paper's section 8.3): waveform transforms and SpecAugment.

Waveform transforms come from audiomentations. Each training clip gets ``variants`` augmented copies,
computed once through the feature cache (both inputs from the augmented waveform, so the CNN and
the MLP see the same example); every epoch each clip is seen in one version, the original or a
variant, drawn at random. SpecAugment masks (2 time and 2 frequency bands of the Mel input) are
drawn per example and batch while training. Everything is seeded.

A policy is ``default`` or a comma-separated list of the names below, e.g. ``noise,lowpass,specaugment``.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio import load_clip
from ..datasets.cache import FeatureCache
from ..datasets.labelled import LabelledData
from ..errors import DataError
from ..features.params import FeatureParams
from ..progress import progress_bar
from .segments import clip_rows

# name -> (what it does, its strength); audiomentations classes are built in _transform
WAVEFORM = {
    "shift": "time shift by up to 10% of the clip, wrapping round",
    "gain": "gain of -6 to +6 dB",
    "pitch": "pitch shift of -2 to +2 semitones (probability 0.3)",
    "stretch": "time stretch by 0.9 to 1.1, length kept (probability 0.3)",
    "noise": "Gaussian noise at 10 to 30 dB SNR (probability 0.5)",
    "lowpass": "low-pass at 2 to 6 kHz, as cheap speakers and phones (probability 0.3)",
    "highpass": "high-pass at 100 to 400 Hz (probability 0.3)",
}
SPEC = {"specaugment": "2 time masks of up to 10% of the frames and 2 frequency masks of up to 15 Mel bands"}
NAMES = (*WAVEFORM, *SPEC)


@dataclass(frozen=True)
class AugmentPolicy:
    transforms: tuple[str, ...] = NAMES
    variants: int = 2                 # augmented copies of each training clip

    @classmethod
    def parse(cls, text: str, *, variants: int = 2) -> "AugmentPolicy":
        names = NAMES if text in ("", "default") else tuple(t.strip() for t in text.split(",") if t.strip())
        unknown = [n for n in names if n not in NAMES]
        if unknown:
            raise DataError(f"unknown augmentation {unknown[0]!r}; choose from {', '.join(NAMES)} (or 'default')")
        return cls(tuple(dict.fromkeys(names)), variants)

    @property
    def waveform(self) -> tuple[str, ...]:
        return tuple(n for n in self.transforms if n in WAVEFORM)

    @property
    def spec_augment(self) -> bool:
        return "specaugment" in self.transforms

    def key(self, seed: int) -> str:
        return hashlib.sha256(f"{self.waveform}|{self.variants}|{seed}|v1".encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        return {"transforms": list(self.transforms), "variants": self.variants}


def _transform(name: str):
    import audiomentations as A

    return {
        "shift": lambda: A.Shift(min_shift=-0.1, max_shift=0.1, rollover=True, p=1.0),
        "gain": lambda: A.Gain(min_gain_db=-6, max_gain_db=6, p=1.0),
        "pitch": lambda: A.PitchShift(min_semitones=-2, max_semitones=2, p=0.3),
        "stretch": lambda: A.TimeStretch(min_rate=0.9, max_rate=1.1, leave_length_unchanged=True, p=0.3),
        "noise": lambda: A.AddGaussianSNR(min_snr_db=10, max_snr_db=30, p=0.5),
        "lowpass": lambda: A.LowPassFilter(min_cutoff_freq=2000, max_cutoff_freq=6000, p=0.3),
        "highpass": lambda: A.HighPassFilter(min_cutoff_freq=100, max_cutoff_freq=400, p=0.3),
    }[name]()


def augment_waveform(y: np.ndarray, sr: int, policy: AugmentPolicy, *, seed: int) -> np.ndarray:
    """One augmented copy of ``y`` (the same ``seed`` gives the same copy)."""
    import audiomentations as A

    random.seed(seed)
    np.random.seed(seed % 2**32)          # audiomentations draws from both global generators
    chain = A.Compose([_transform(n) for n in policy.waveform], p=1.0)
    out = chain(samples=y.astype(np.float32), sample_rate=sr)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return (out / peak * 0.99 if peak > 1.0 else out).astype(np.float32)      # no clipping past full scale


def augmented_variants(data: LabelledData, rows: np.ndarray, policy: AugmentPolicy, params: FeatureParams, *,
                       cache_dir: str | Path, seed: int, clip_seconds: float = 30.0,
                       progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs of ``policy.variants`` augmented copies of each of ``rows`` (audio rows of ``data``;
    segment rows take their own segment of the augmented clip): mel ``(len(rows), V, n_mels, n_frames)``,
    table ``(len(rows), V, 57)``; through the feature cache."""
    if data.paths is None:
        raise DataError(f"{data.source}: augmentation works on audio; a feature table has none")
    cache = FeatureCache(Path(cache_dir) / f"augment-{policy.key(seed)}", params)
    segmented = params.window_seconds < clip_seconds * 0.99 and data.segment is not None
    mel = np.zeros((len(rows), policy.variants, params.n_mels, params.n_frames), np.float32)
    table = np.zeros((len(rows), policy.variants, 57))
    # the rows of one clip's segments come together: its waveform is decoded once for all its variants,
    # and each variant read once for all its segments (only the current clip is held)
    clip, waveform, variants = None, None, {}
    for j, r in enumerate(progress_bar(rows, progress=progress, desc="augment", unit="clip")):
        digest = data.hashes[r]
        if digest != clip:
            clip, waveform, variants = digest, None, {}
        for v in range(policy.variants):
            if v not in variants:
                key = f"{digest}-{v}"
                if cache.has(key):
                    variants[v] = cache.get(key)
                else:
                    if waveform is None:
                        waveform = load_clip(data.paths[r], sr=params.sr,
                                             window=clip_seconds if segmented else params.window_seconds)
                    y = augment_waveform(waveform, params.sr, policy, seed=int(digest[:8], 16) + 7919 * v + seed)
                    m, t = clip_rows(y, params) if segmented else _whole(y, params)
                    cache.put(key, mel=m, table=t, length=len(t))
                    variants[v] = {"mel": m, "table": t}
            got = variants[v]
            k = min(int(data.segment[r]) if segmented else 0, len(got["table"]) - 1)
            mel[j, v], table[j, v] = got["mel"][k], got["table"][k]
    return mel, table


def _whole(y: np.ndarray, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    from ..features.clip import clip_inputs

    m, t = clip_inputs(y, params=params)
    return m[None], t[None]


def spec_augment(mel: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A copy of a batch of Mel inputs ``(batch, n_mels, n_frames)`` with 2 time and 2 frequency bands
    of each example set to 0. Time bands fall within the frames that hold the clip (a short clip is
    padded to the CNN's width), up to a tenth of them each."""
    out = mel.clone()
    b, n_mels, _ = out.shape
    held = (out.abs().sum(dim=1) > 0).sum(dim=1)          # frames before the padding, per example
    for i in range(b):
        frames = max(1, int(held[i]))
        for limit, size, axis in ((frames, max(1, frames // 10), 2), (n_mels, max(1, int(n_mels * 0.15)), 1)):
            for _ in range(2):
                width = int(torch.randint(0, size + 1, (1,), generator=generator))
                start = int(torch.randint(0, max(1, limit - width), (1,), generator=generator))
                if axis == 2:
                    out[i, :, start:start + width] = 0
                else:
                    out[i, start:start + width, :] = 0
    return out


class AugmentedClips(torch.utils.data.Dataset):
    """Training rows in one version per epoch: the original or one of its variants, drawn per clip
    (:meth:`set_epoch` draws anew). Items are those of :class:`~genrefuse.training.trainer.ClipDataset`."""

    def __init__(self, base, mel_variants: np.ndarray | None, table_variants: np.ndarray | None, *, seed: int):
        self.base = base
        self.mel_v = None if mel_variants is None else torch.from_numpy(mel_variants)
        self.table_v = None if table_variants is None else torch.from_numpy(table_variants.astype(np.float32))
        self.variants = (self.mel_v if self.mel_v is not None else self.table_v).shape[1]
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng(self.seed * 100_003 + epoch)
        self.choice = rng.integers(0, self.variants + 1, len(self.base))      # 0: the original

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        mel, table, tags, y = self.base[i]
        v = int(self.choice[i])
        if v:
            if self.mel_v is not None and mel.numel():
                mel = self.mel_v[i, v - 1]
            if self.table_v is not None and table.numel():
                table = self.table_v[i, v - 1]
        return mel, table, tags, y
