"""The training loop of the paper (section 5.4): Adam, cross-entropy (+ L2), best-validation checkpoint."""
from __future__ import annotations

import copy
import random
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..models.fusion import GenreNet
from ..models.predictor import as_tensor, resolve_device
from ..progress import progress_bar
from . import distributed
from .augment import AugmentPolicy, spec_augment


# --augment on whole 30 s windows cost 0.12 of clean accuracy on the robustness benchmark; on 3 s
# segments it gained on clean and shifted tests alike (README, benchmarks/robustness.py): so it implies them.
AUGMENT_SEGMENT_SECONDS = 3.0


@dataclass
class TrainConfig:
    epochs: int = 150
    batch_size: int = 100
    lr: float = 1e-3
    patience: int | None = None     # early stopping after this many epochs without a better validation loss
    seed: int = 0
    device: str = "auto"            # auto | cpu | cuda
    precision: str = "auto"         # auto (fp16 mixed precision on CUDA, fp32 on CPU) | fp32 | bf16
    fusion: str = "concat"          # how several branches are joined: one of models.fusion.FUSIONS
    input_noise: float | None = None  # training noise on standardised inputs; None: the kind's default
    members: int | None = None      # nets in an ensemble, trained from seeds seed, seed+1, ...; None: the kind's default
    augment: str | None = None      # an augmentation policy (training/augment.py), or None for none;
                                    # it implies segments of AUGMENT_SEGMENT_SECONDS unless segments is set
    augment_variants: int = 2       # augmented copies of each training clip
    segments: float | None = None   # train on segments of this many seconds, a track = the mean of its segments
    hyper: dict | None = None       # classic kinds: estimator parameters over the kind's defaults (models/classic.py)
    shifts: tuple[tuple[float, ...], ...] | None = None  # classic kinds: raw input shifts (training/mastering.py);
                                    # each training row also trains moved by each, weighted shift_weight
    shift_weight: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)

    def with_implied_segments(self, *, reads_mel: bool = True) -> "TrainConfig":
        """This config, with ``segments`` set to :data:`AUGMENT_SEGMENT_SECONDS` when it augments a kind that
        reads the Mel input (the only ones augmentation is for) on whole windows; else this very config."""
        if reads_mel and self.augment and not self.segments:
            return replace(self, segments=AUGMENT_SEGMENT_SECONDS)
        return self


class ClipDataset(Dataset):
    """Model inputs and labels: ``mel`` (n, n_mels, n_frames), ``table`` (n, 57), ``tags`` (n, 100), each
    or None, and ``y`` (n,). Items are ``(mel, table, tags, y)`` with empty tensors for absent inputs."""

    def __init__(self, mel: np.ndarray | None, table: np.ndarray | None, y: np.ndarray,
                 tags: np.ndarray | None = None):
        self.inputs = (as_tensor(mel), as_tensor(table), as_tensor(tags))
        self.y = torch.from_numpy(np.asarray(y, np.int64))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        empty = torch.zeros(0)
        return (*(x[i] if x is not None else empty for x in self.inputs), self.y[i])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _autocast(device: torch.device, precision: str):
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False), False
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype), precision == "fp16"


def _inputs(model: GenreNet, batch, device):
    branches = (model.cnn, model.mlp, model.tags)
    return tuple(x.to(device, non_blocking=True) if b is not None else None for x, b in zip(batch, branches))


def restart_batchnorm_stats(model: torch.nn.Module) -> None:
    """Make BatchNorm's running statistics the plain average over the coming epoch's batches.

    With the default exponential average (momentum 0.1), running variances start at 1 and need
    dozens of updates to reach the true, often tiny, variances; on small datasets (a few batches
    an epoch) evaluation then sees badly scaled activations for many epochs.
    """
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
            m.reset_running_stats()


def run_epoch(model: GenreNet, loader: DataLoader, device: torch.device, precision: str,
              optimizer: torch.optim.Optimizer | None = None, scaler=None, forward=None,
              masks: torch.Generator | None = None) -> tuple[float, float]:
    """One pass; trains when ``optimizer`` is given. Returns (mean loss, accuracy). ``forward``: the
    module that runs the batches (a DistributedDataParallel wrapper of ``model``); its figures are then
    summed over all processes."""
    training = optimizer is not None
    forward = forward or model
    forward.train(training)
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for *batch, y in loader:
            y = y.to(device)
            if masks is not None and training and batch[0].numel():
                batch[0] = spec_augment(batch[0], masks)
            ctx, _ = _autocast(device, precision)
            with ctx:
                logits = forward(*_inputs(model, batch, device))
                loss = torch.nn.functional.cross_entropy(logits.float(), y)
            if training:
                loss_total = loss + model.l2_penalty().to(device)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss_total).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss_total.backward()
                    optimizer.step()
            total_loss += loss.detach().item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
    if forward is not model:
        import torch.distributed as dist

        sums = torch.tensor([total_loss, correct, seen], dtype=torch.float64, device=device)
        dist.all_reduce(sums)
        total_loss, correct, seen = sums.tolist()
    return total_loss / max(seen, 1), correct / max(seen, 1)


def fit(model: GenreNet, train: ClipDataset, valid: ClipDataset | None, config: TrainConfig,
        *, progress: bool = True) -> list[dict]:
    """Train ``model`` in place; the weights of the best validation epoch are restored at the end.

    Returns the history: one dict per epoch with ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
    """
    seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    _, use_scaler = _autocast(device, config.precision)
    scaler = torch.amp.GradScaler(device.type) if use_scaler else None
    world = distributed.world_size()
    forward = model
    if world > 1 or distributed.active():
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(forward.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    # the batch size is global: each of the processes takes its share of every batch
    batch = max(1, -(-config.batch_size // world))
    # drop a last batch of one: BatchNorm cannot train on it
    if forward is model:
        drop_last = len(train) % config.batch_size == 1
        train_loader = DataLoader(train, batch_size=config.batch_size, shuffle=True, generator=gen, drop_last=drop_last)
    else:
        sampler = DistributedSampler(train, shuffle=True, seed=config.seed)
        per_rank = -(-len(train) // world)
        train_loader = DataLoader(train, batch_size=batch, sampler=sampler, drop_last=per_rank % batch == 1)
    valid_loader = DataLoader(valid, batch_size=config.batch_size) if valid is not None and len(valid) else None
    history: list[dict] = []
    best, best_state, stale = float("inf"), None, 0
    bar = progress_bar(range(1, config.epochs + 1), progress=progress and distributed.rank() == 0,
                       desc=f"train {model.arch.kind}", unit="epoch")
    masks = None
    if config.augment and model.cnn is not None and AugmentPolicy.parse(config.augment).spec_augment:
        masks = torch.Generator().manual_seed(config.seed + 1)
    for epoch in bar:
        if forward is not model:
            train_loader.sampler.set_epoch(epoch)
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch)              # augmented clips: a new version of each this epoch
        restart_batchnorm_stats(model)
        loss, acc = run_epoch(model, train_loader, device, config.precision, optimizer, scaler, forward=forward,
                              masks=masks)
        row = {"epoch": epoch, "loss": loss, "accuracy": acc}
        if valid_loader is not None:
            row["val_loss"], row["val_accuracy"] = run_epoch(model, valid_loader, device, config.precision)
        history.append(row)
        bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k != "epoch"}, refresh=False)
        score = row.get("val_loss", loss)
        improved = score < best
        stop = not improved and config.patience is not None and stale + 1 >= config.patience
        if forward is not model:            # rank 0 decides, so that every process stops at the same epoch
            import torch.distributed as dist

            flags = torch.tensor([int(improved), int(stop)], device=device)
            dist.broadcast(flags, 0)
            improved, stop = bool(flags[0]), bool(flags[1])
        if improved:
            best, best_state, stale = score, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stop:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
