"""The paper's fusion model, its single-branch ablations and the musicnn-branch kinds, one class for all."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .branches import CNNBranch, MLPBranch
from .kinds import FUSIONS, KINDS

ATTENTION_WIDTH = 32              # the common width branches are projected to before attention


@dataclass(frozen=True)
class Architecture:
    kind: str                       # a neural kind of models.kinds.KINDS
    n_classes: int
    n_features: int = 57
    n_tags: int = 100               # musicnn branch input: per-track mean and std of the 50-tag taggram
    fusion: str = "concat"          # concat | gated (a learned sigmoid gate over the concatenated branches) |
                                    # attention (a softmax weight per branch, computed from the branch itself)
    n_mels: int = 128
    n_frames: int = 1300
    cnn_dense: int = 128
    cnn_dropout: float = 0.4
    mlp_dropout: float = 0.3
    l2: float = 0.02                # on the CNN's dense weights, added to the loss as Keras does
    input_noise: float = 0.0        # training-time Gaussian noise on the standardised table and tag inputs
    members: int = 1                # > 1: an ensemble of that many nets (see ensemble.py)

    @property
    def uses_mel(self) -> bool:
        return KINDS[self.kind].uses_mel

    @property
    def uses_table(self) -> bool:
        return KINDS[self.kind].uses_table

    @property
    def uses_tags(self) -> bool:
        return KINDS[self.kind].uses_tags

    def to_dict(self) -> dict:
        return asdict(self)


class GenreNet(nn.Module):
    """Concatenate the enabled branches (optionally gated), then one linear layer over the genres.

    ``forward`` returns logits ``(batch, n_classes)``; the softmax is applied by the loss
    (cross-entropy) in training and by :meth:`probabilities` in prediction.
    """

    def __init__(self, arch: Architecture):
        super().__init__()
        if arch.kind not in KINDS or not KINDS[arch.kind].neural:
            raise ValueError(f"unknown neural model kind {arch.kind!r}")
        if arch.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {arch.fusion!r}; choose from {', '.join(FUSIONS)}")
        if not arch.input_noise >= 0:
            raise ValueError(f"input noise must be >= 0, not {arch.input_noise}")
        if arch.members != 1:
            raise ValueError("a GenreNet is one net; build ensembles with models.ensemble.build_model")
        self.arch = arch
        self.cnn = CNNBranch(n_mels=arch.n_mels, n_frames=arch.n_frames, dense=arch.cnn_dense,
                             dropout=arch.cnn_dropout) if arch.uses_mel else None
        self.mlp = MLPBranch(n_features=arch.n_features, dropout=arch.mlp_dropout) if arch.uses_table else None
        self.tags = MLPBranch(n_features=arch.n_tags, dropout=arch.mlp_dropout) if arch.uses_tags else None
        branches = [b for b in (self.cnn, self.mlp, self.tags) if b is not None]
        width = sum(b.out_features for b in branches)
        self.gate = nn.Linear(width, width) if arch.fusion == "gated" else None
        self.project, self.attend = None, None
        if arch.fusion == "attention":
            self.project = nn.ModuleList(nn.Linear(b.out_features, ATTENTION_WIDTH) for b in branches)
            self.attend = nn.Sequential(nn.Linear(ATTENTION_WIDTH, ATTENTION_WIDTH), nn.Tanh(),
                                        nn.Linear(ATTENTION_WIDTH, 1, bias=False))
            width = ATTENTION_WIDTH
        self.classifier = nn.Linear(width, arch.n_classes)

    def forward(self, mel: torch.Tensor | None = None, table: torch.Tensor | None = None,
                tags: torch.Tensor | None = None) -> torch.Tensor:
        if self.training and self.arch.input_noise > 0:
            table = None if table is None else table + self.arch.input_noise * torch.randn_like(table)
            tags = None if tags is None else tags + self.arch.input_noise * torch.randn_like(tags)
        parts = []
        if self.cnn is not None:
            parts.append(self.cnn(mel.unsqueeze(1) if mel.dim() == 3 else mel))
        if self.mlp is not None:
            parts.append(self.mlp(table))
        if self.tags is not None:
            parts.append(self.tags(tags))
        if self.project is not None:
            return self.classifier(self.attention_pool(parts)[0])
        h = torch.cat(parts, dim=1)
        if self.gate is not None:
            h = h * torch.sigmoid(self.gate(h))
        return self.classifier(h)

    def attention_pool(self, parts: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Branch outputs -> their attention-weighted sum ``(batch, 32)`` and the weights ``(batch, n_branches)``."""
        z = torch.stack([proj(p) for proj, p in zip(self.project, parts)], dim=1)     # (batch, branches, 32)
        weights = torch.softmax(self.attend(z).squeeze(2), dim=1)
        return (weights.unsqueeze(2) * z).sum(dim=1), weights

    def l2_penalty(self) -> torch.Tensor:
        if self.cnn is None or self.arch.l2 == 0:
            return torch.zeros(())
        return self.arch.l2 * self.cnn.dense.weight.pow(2).sum()
