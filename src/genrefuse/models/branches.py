"""The paper's two branches (section 4.1)."""
from __future__ import annotations

import torch
from torch import nn

CONV_CHANNELS = (16, 32, 64)
POOL_KERNELS = ((2, 6), (2, 6), (2, 4))


def _conv_out(size: tuple[int, int]) -> tuple[int, int]:
    h, w = size
    for kh, kw in POOL_KERNELS:
        h, w = (h - 2) // kh, (w - 2) // kw      # unpadded 3x3 convolution, then pooling
    return h, w


class CNNBranch(nn.Module):
    """Conv2d 16/32/64 (3x3), each followed by ReLU, BatchNorm and MaxPool (2,6), (2,6), (2,4);
    Flatten; Dense 128 ReLU (its weights carry the L2 penalty); Dropout 0.4.

    Input ``(batch, 1, n_mels, n_frames)``; output ``(batch, dense)``.
    """

    def __init__(self, *, n_mels: int = 128, n_frames: int = 1300, dense: int = 128, dropout: float = 0.4):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c, k in zip(CONV_CHANNELS, POOL_KERNELS):
            layers += [nn.Conv2d(c_in, c, 3), nn.ReLU(), nn.BatchNorm2d(c), nn.MaxPool2d(k)]
            c_in = c
        self.features = nn.Sequential(*layers, nn.Flatten())
        h, w = _conv_out((n_mels, n_frames))
        if h < 1 or w < 1:
            raise ValueError(f"a ({n_mels}, {n_frames}) input is too small for the CNN branch")
        self.flat_features = c_in * h * w
        self.dense = nn.Linear(self.flat_features, dense)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))
        self.out_features = dense

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.dense(self.features(mel)))


class MLPBranch(nn.Module):
    """Dense 128 ReLU + BatchNorm, Dense 64 ReLU + Dropout, Dense 32 ReLU + Dropout.

    Input ``(batch, n_features)`` standardised; output ``(batch, 32)``.
    """

    def __init__(self, *, n_features: int = 57, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, 128), nn.ReLU(), nn.BatchNorm1d(128),
            nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout),
        )
        self.out_features = 32

    def forward(self, table: torch.Tensor) -> torch.Tensor:
        return self.net(table)
