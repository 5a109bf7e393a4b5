"""Data-parallel training (torch.distributed, DistributedDataParallel), launched as torchrun does it.

Every process runs the same command with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` set; each trains on its share of every epoch's batches (a ``DistributedSampler``) and
gradients are averaged across processes, so all hold the same weights; rank 0 alone writes the run
files. ``genrefuse train --nproc N`` starts N such processes on this machine (:func:`launch`); across
machines, start one per GPU with ``torchrun`` (its rendezvous sets the same variables). gloo on CPU,
NCCL on CUDA.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time


def launched() -> bool:
    """Whether this process is one of a launched group (torchrun or ``--nproc``)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def rank() -> int:
    return int(os.environ.get("RANK", 0))


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def init(device: str = "auto") -> None:
    """Join the process group described by the environment (NCCL when training on CUDA, else gloo)."""
    import torch
    import torch.distributed as dist

    if active() or not launched():
        return
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend="nccl" if cuda else "gloo")


def finish() -> None:
    import torch.distributed as dist

    if active():
        dist.barrier()
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(argv: list[str], nproc: int) -> int:
    """Run ``genrefuse *argv`` in ``nproc`` processes on this machine, as torchrun's standalone mode
    does; if one fails the others are stopped. Returns the first non-zero exit status, else 0."""
    port = _free_port()
    procs = []
    for r in range(nproc):
        env = {**os.environ, "RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": str(nproc),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "GENREFUSE_TCMALLOC": os.environ.get(
                   "GENREFUSE_TCMALLOC", "1")}
        procs.append(subprocess.Popen([sys.executable, "-m", "genrefuse.cli", *argv], env=env))
    status = 0
    try:
        while procs:
            for p in list(procs):
                rc = p.poll()
                if rc is None:
                    continue
                procs.remove(p)
                if rc and not status:
                    status = rc
                    for other in procs:
                        other.terminate()
            time.sleep(0.2)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    return status
