"""Map a function over many inputs in worker processes, with a progress bar, collecting failures.

A failure of one input never stops the batch: it comes back as an error string naming the input.
"""
from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .logs import configured_level, log_to_stderr
from .progress import progress_bar

from .errors import GenrefuseError, unforeseen

if TYPE_CHECKING:        # imported where a pool starts: a command that runs none (predict) never pays for them
    from concurrent.futures import Executor, Future, ProcessPoolExecutor


@dataclass
class Outcome:
    item: Any
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # alive, someone else's
        return True
    return True


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    """End this worker when the process that started the pool is gone (killed with -9, say), so that no
    worker outlives it holding hundreds of MB; the forkserver and resource tracker then exit too."""
    import threading
    import time

    def watch() -> None:
        while pid_alive(parent):
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="genrefuse-parent-watch", daemon=True).start()


def init_worker(parent: int, log_level: int | None = None) -> None:
    """A pool worker's start: one thread for numerical libraries, an end with its parent, and its log on
    stderr as the parent's. Ctrl-C is the parent's to handle (it reaches the whole process group): a worker
    finishes its item or is stopped."""
    import signal

    if log_level is not None:
        log_to_stderr(log_level)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent)
    limit_threads()


def spare_cores() -> bool:
    """Whether one item's work may use a second thread of its own: not inside a worker pool's process, where
    :func:`limit_threads` sets ``OMP_NUM_THREADS=1`` (the pool is the parallelism, and there a clip's threads only
    took turns on the worker's core: ``classify --jobs 2`` spent more CPU a clip with them)."""
    return os.environ.get("OMP_NUM_THREADS") != "1"


def beside(pool: "Executor", fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future":
    """``fn(*args, **kwargs)`` in one of ``pool``'s threads where :func:`spare_cores`, else called here and now;
    either way a future of its result."""
    if spare_cores():
        return pool.submit(fn, *args, **kwargs)
    from concurrent.futures import Future

    done: Future = Future()
    done.set_result(fn(*args, **kwargs))
    return done


def limit_threads() -> None:
    """One BLAS/OpenMP thread per worker: the pool is the parallelism."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    os.environ["OMP_NUM_THREADS"] = "1"          # read by PyTorch and ONNX Runtime sessions made later
    torch = sys.modules.get("torch")              # never imported here: prediction does not need it (1 s, 200 MB)
    if torch is not None:
        torch.set_num_threads(1)


# after Ctrl-C, how long the items in flight may take to finish before their workers are stopped
GRACE_SECONDS = 1.5


def _shut_down(pool: ProcessPoolExecutor, *, wait_for_workers: bool) -> None:
    """End the pool: after a complete batch as usual; after Ctrl-C or a failure at once, queued items
    dropped and the workers still busy stopped (every writer of ours is crash-safe)."""
    if wait_for_workers:
        pool.shutdown(wait=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=2)


def _name(item: Any) -> str:
    """The file an item stands for (an ``Item``, a path, a tuple starting with one, or a list of them)."""
    if isinstance(item, list) and item:         # a chunk of files
        return f"{_name(item[0])} (and {len(item) - 1} more)" if len(item) > 1 else _name(item[0])
    if isinstance(item, tuple) and item:
        item = item[0]
    return str(getattr(item, "path", item))


def _call(func: Callable, item: Any) -> Outcome:
    try:
        return Outcome(item, value=func(item))
    except GenrefuseError as exc:
        return Outcome(item, error=str(exc))
    except Exception as exc:  # a bug or an unforeseen decoder failure: still one line, batch goes on
        return Outcome(item, error=unforeseen(_name(item), exc))


def map_items(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    jobs: int | None = None,
    desc: str = "",
    total: int | None = None,
    unit: str = "file",
    progress: bool = True,
) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per item as each finishes (not in input order when ``jobs > 1``).

    ``func`` must be picklable (a module-level function or a ``functools.partial`` of one).
    Items are submitted a few per worker at a time, so an endless iterator streams.
    """
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    bar = progress_bar(progress=progress, total=total, desc=desc, unit=unit)
    try:
        if jobs == 1:
            for item in items:
                out = _call(func, item)
                bar.update()
                yield out
            return
        items = iter(items)
        try:
            first = next(items)
        except StopIteration:
            return
        items = itertools.chain([first], items)
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        ctx = mp.get_context("forkserver")  # fork after torch/OpenMP start-up can deadlock
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=init_worker,
                                   initargs=(os.getpid(), configured_level()))
        pending: set[Future] = set()
        finished = False
        try:
            it = iter(items)
            exhausted = False
            while True:
                while not exhausted and len(pending) < jobs * 4:
                    try:
                        pending.add(pool.submit(_call, func, next(it)))
                    except StopIteration:
                        exhausted = True
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    bar.update()
                    yield fut.result()
            finished = True
        except KeyboardInterrupt:
            # Ctrl-C: nothing new starts; what is in flight gets GRACE_SECONDS to finish, the rest is abandoned
            for fut in pending:
                fut.cancel()
            done, _ = wait([f for f in pending if not f.cancelled()], timeout=GRACE_SECONDS)
            for fut in done:
                if not fut.cancelled() and fut.exception() is None:
                    yield fut.result()
            raise
        finally:
            _shut_down(pool, wait_for_workers=finished)
    finally:
        bar.close()
