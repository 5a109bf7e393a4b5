"""The musicnn tagger's input: a log-compressed 96-band Mel spectrogram at 16 kHz, cut into 3 s patches.

As the ``musicnn`` package computes it: librosa's Mel power spectrogram (n_fft 512, hop 256, 96 bands),
then ``log10(10000 x + 1)``; patches of 187 frames every 61 frames (a 1 s hop), the last patch ending
at or before the last frame (28 patches for a 30 s clip). The package rounds the spectrogram to float16
first; with numpy 2 ``10000 x`` then overflows float16 for loud bins and the original model returns NaN,
and the published GTZAN taggrams agree better with float32 (measured on hiphop.00000), so float32 it is.
"""
from __future__ import annotations

import numpy as np

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187              # librosa.time_to_frames(3 s) + 1
PATCH_HOP_FRAMES = 61           # librosa.time_to_frames(1 s)


def log_mel(y: np.ndarray) -> np.ndarray:
    """``y`` mono at 16 kHz -> log-compressed Mel spectrogram, shape (n_frames, 96), float32."""
    import librosa

    S = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    return np.log10(10000 * S + 1).astype(np.float32)


def patches(rep: np.ndarray, *, hop_frames: int = PATCH_HOP_FRAMES) -> np.ndarray:
    """``(n_frames, 96)`` -> ``(n_patches, 187, 96)``; an input shorter than one patch is repeated to fill it."""
    if len(rep) < PATCH_FRAMES:                                     # the model was trained with repeat-pad
        rep = np.tile(rep, (int(np.ceil(PATCH_FRAMES / max(len(rep), 1))), 1))[:PATCH_FRAMES]
    starts = range(0, len(rep) - PATCH_FRAMES + 1, hop_frames)
    return np.stack([rep[s:s + PATCH_FRAMES] for s in starts])


def hop_frames(seconds: float) -> int:
    """A patch hop in seconds -> frames, as ``librosa.time_to_frames(seconds, sr, n_fft, hop)``."""
    return max(1, int((seconds * SR - N_FFT // 2) // HOP))
