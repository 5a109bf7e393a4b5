"""The musicnn taggers (Pons & Serra 2019) in PyTorch, with the weights of the ``musicnn`` wheel: MSD_musicnn
(the default; Million Song Dataset, Last.fm tags) and MTT_musicnn (MagnaTagATune), one architecture.

Architecture (the wheel's ``models.build_musicnn``, MSD_musicnn): input BatchNorm over a
(187 frames x 96 Mel bands) patch; a front end of two timbral convolutions (7 x 38 and 7 x 67 over
time x frequency, 204 filters each) and three temporal ones (128, 64, 32 frames x 1 band, 51 filters
each, 'same' padding), each ReLU -> BatchNorm -> max over frequency; a mid end of three 7-frame
convolutions with 64 filters (the second and third residual); the back end pools max and mean over
time, BatchNorm, Dense 200 ReLU -> BatchNorm (the "penultimate" features), Dense 50 -> sigmoid.
TensorFlow's BatchNorm epsilon (1e-3) and layouts are kept; ``from_tf`` maps the checkpoint's names.

Set-up: ``pip install --no-deps musicnn==0.1.0`` (the wheel carries the TensorFlow checkpoint; it is
read with :mod:`.tf_checkpoint`, converted once to safetensors in the cache, TensorFlow never imported).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ModelError
from ..io import atomic_path
from .weights import DENSE, MSD, MSD_TAGS, N_MELS, PATCH_FRAMES, converted_path, wheel_checkpoint  # noqa: F401

TIMBRAL = ((7, int(0.4 * N_MELS)), (7, int(0.7 * N_MELS)))
TEMPORAL = (128, 64, 32)
FRONT_TIMBRAL, FRONT_TEMPORAL, MID = int(1.6 * 128), int(1.6 * 32), 64
BN_EPS = 1e-3                           # tf.compat.v1.layers.batch_normalization's default


def _bn2(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


def _bn1(c: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(c, eps=BN_EPS)


class MusiCNN(nn.Module):
    """Input ``(batch, 187, 96)`` log-compressed Mel patches (see :func:`~genrefuse.features.musicnn_input`);
    ``forward`` returns the tag logits ``(batch, 50)`` and the penultimate features ``(batch, 200)``."""

    def __init__(self, *, n_tags: int = len(MSD_TAGS)):
        super().__init__()
        self.bn_input = _bn2(1)
        self.timbral = nn.ModuleList(nn.Conv2d(1, FRONT_TIMBRAL, k) for k in TIMBRAL)
        self.timbral_bn = nn.ModuleList(_bn2(FRONT_TIMBRAL) for _ in TIMBRAL)
        self.temporal = nn.ModuleList(nn.Conv2d(1, FRONT_TEMPORAL, (k, 1)) for k in TEMPORAL)
        self.temporal_bn = nn.ModuleList(_bn2(FRONT_TEMPORAL) for _ in TEMPORAL)
        front = len(TIMBRAL) * FRONT_TIMBRAL + len(TEMPORAL) * FRONT_TEMPORAL       # 561
        self.mid = nn.ModuleList([nn.Conv1d(front, MID, 7), nn.Conv1d(MID, MID, 7), nn.Conv1d(MID, MID, 7)])
        self.mid_bn = nn.ModuleList(_bn1(MID) for _ in range(3))
        pooled = 2 * (front + 3 * MID)                                               # 1506
        self.bn_pool = _bn1(pooled)
        self.dense = nn.Linear(pooled, DENSE)
        self.bn_dense = _bn1(DENSE)
        self.out = nn.Linear(DENSE, n_tags)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.bn_input(x.unsqueeze(1))                       # (b, 1, time, mel)
        front = []
        padded = F.pad(x, (0, 0, 3, 3))                         # time only, as the original
        for conv, bn in zip(self.timbral, self.timbral_bn):
            front.append(bn(F.relu(conv(padded))).amax(dim=3))
        for conv, bn, k in zip(self.temporal, self.temporal_bn, TEMPORAL):
            same = F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))    # TensorFlow's 'same'
            front.append(bn(F.relu(conv(same))).amax(dim=3))
        h = torch.cat(front, dim=1)                             # (b, 561, time)
        feats = [h]
        for i, (conv, bn) in enumerate(zip(self.mid, self.mid_bn)):
            m = bn(F.relu(conv(F.pad(feats[-1], (3, 3)))))
            feats.append(m if i == 0 else m + feats[-1])
        mid = torch.cat(feats, dim=1)                           # (b, 753, time)
        pooled = torch.stack([mid.amax(dim=2), mid.mean(dim=2)], dim=2).flatten(1)   # max, mean interleaved
        penultimate = self.bn_dense(F.relu(self.dense(self.bn_pool(pooled))))
        return self.out(penultimate), penultimate

    @torch.no_grad()
    def taggram(self, patches: torch.Tensor | np.ndarray, *, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Tag probabilities ``(n, 50)`` and penultimate features ``(n, 200)`` of ``(n, 187, 96)`` patches."""
        self.eval()
        patches = torch.as_tensor(np.asarray(patches, np.float32)) if isinstance(patches, np.ndarray) else patches
        tags, pen = [], []
        for s in range(0, len(patches), batch_size):
            logits, p = self(patches[s:s + batch_size])
            tags.append(torch.sigmoid(logits))
            pen.append(p)
        if not tags:
            return np.zeros((0, self.out.out_features), np.float32), np.zeros((0, DENSE), np.float32)
        return torch.cat(tags).numpy(), torch.cat(pen).numpy()


def _conv2d(k: np.ndarray) -> torch.Tensor:             # (kh, kw, in, out) -> (out, in, kh, kw)
    return torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))


def _conv1d(k: np.ndarray) -> torch.Tensor:             # (7, in, 1, out) -> (out, in, 7)
    return torch.from_numpy(np.ascontiguousarray(k[:, :, 0, :].transpose(2, 1, 0)))


def state_from_tf(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Our state dict from the checkpoint's variables (names in the order the original creates layers)."""
    convs = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2", "mid.0", "mid.1", "mid.2"]
    bns = ["bn_input", "timbral_bn.0", "timbral_bn.1", "temporal_bn.0", "temporal_bn.1", "temporal_bn.2",
           "mid_bn.0", "mid_bn.1", "mid_bn.2", "bn_pool", "bn_dense"]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    state: dict[str, torch.Tensor] = {}
    for i, name in enumerate(convs):
        tf = f"conv2d{'' if i == 0 else f'_{i}'}"
        state[f"{name}.weight"] = (_conv1d if name.startswith("mid") else _conv2d)(weights[f"{tf}/kernel"])
        state[f"{name}.bias"] = t(weights[f"{tf}/bias"])
    for i, name in enumerate(bns):
        tf = f"batch_normalization{'' if i == 0 else f'_{i}'}"
        state[f"{name}.weight"] = t(weights[f"{tf}/gamma"])
        state[f"{name}.bias"] = t(weights[f"{tf}/beta"])
        state[f"{name}.running_mean"] = t(weights[f"{tf}/moving_mean"])
        state[f"{name}.running_var"] = t(weights[f"{tf}/moving_variance"])
        state[f"{name}.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
    for name, tf in (("dense", "dense"), ("out", "dense_1")):
        state[f"{name}.weight"] = t(weights[f"{tf}/kernel"].T)
        state[f"{name}.bias"] = t(weights[f"{tf}/bias"])
    return state


def convert(prefix: str | Path, out: str | Path) -> Path:
    """Convert a musicnn checkpoint to a safetensors file (written whole, then renamed into place)."""
    from safetensors.torch import save_file

    from .tf_checkpoint import read_checkpoint

    state = state_from_tf(read_checkpoint(prefix))
    with atomic_path(out) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    return Path(out)


def weights_path(weights: str | Path | None = None, *, model: str = MSD) -> Path:
    """``weights``, or by default the installed wheel's checkpoint of ``model`` (MSD_musicnn or MTT_musicnn)
    converted once into :func:`weights_cache_dir`."""
    if weights is not None:
        return Path(weights)
    path = converted_path(model)
    if not path.is_file():
        convert(wheel_checkpoint(model), path)
    return path


def load_musicnn(weights: str | Path | None = None, *, model: str = MSD) -> MusiCNN:
    """The pretrained musicnn in PyTorch, in eval mode (``weights``: see :func:`weights_path`)."""
    return _load_musicnn(weights_path(weights, model=model))


@functools.lru_cache(maxsize=2)
def _load_musicnn(weights: Path) -> MusiCNN:
    from safetensors.torch import load_file

    net = MusiCNN()
    try:
        net.load_state_dict(load_file(str(weights)))
    except (RuntimeError, OSError) as exc:
        raise ModelError(f"{weights}: not musicnn weights ({str(exc).splitlines()[0][:200]})") from None
    return net.eval()
