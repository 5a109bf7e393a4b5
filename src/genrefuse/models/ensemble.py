"""Ensembles: several GenreNets of one architecture, trained from different seeds, their softmax averaged."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from .fusion import Architecture, GenreNet


class GenreEnsemble(nn.Module):
    """``arch.members`` GenreNets with the interface of one: ``forward`` returns the log of the members'
    mean probability ``(batch, n_classes)``, so its softmax is that mean."""

    def __init__(self, arch: Architecture, members: list[GenreNet] | None = None):
        super().__init__()
        if arch.members < 2:
            raise ValueError(f"an ensemble needs at least 2 members, not {arch.members}")
        single = replace(arch, members=1)
        members = members if members is not None else [GenreNet(single) for _ in range(arch.members)]
        if len(members) != arch.members or any(m.arch != single for m in members):
            raise ValueError(f"an ensemble of {arch.members} needs that many nets of its architecture")
        self.arch = arch
        self.members = nn.ModuleList(members)

    # which inputs it takes, as GenreNet says it (properties: no second registration of the modules)
    @property
    def cnn(self) -> nn.Module | None:
        return self.members[0].cnn

    @property
    def mlp(self) -> nn.Module | None:
        return self.members[0].mlp

    @property
    def tags(self) -> nn.Module | None:
        return self.members[0].tags

    def forward(self, mel: torch.Tensor | None = None, table: torch.Tensor | None = None,
                tags: torch.Tensor | None = None) -> torch.Tensor:
        p = torch.stack([torch.softmax(m(mel, table, tags).float(), dim=1) for m in self.members]).mean(0)
        return torch.log(p.clamp_min(1e-12))


def build_model(arch: Architecture) -> GenreNet | GenreEnsemble:
    """An untrained model of ``arch``: one GenreNet, or an ensemble when ``arch.members > 1``."""
    return GenreEnsemble(arch) if arch.members > 1 else GenreNet(arch)
