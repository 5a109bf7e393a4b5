"""Classify a whole music library: stream the tree, extract in worker processes, write rows as they finish.

The same chunk function runs in a local process pool (all cores by default, one BLAS thread each) or
on a Dask distributed cluster (``scheduler='tcp://HOST:PORT'``, or ``'local'`` for a throwaway
``LocalCluster``); each worker loads the model once. The output CSV is appended row by row, so an
interrupted run resumes by skipping the paths it already holds. Memory stays flat: the tree is never
listed whole, and only a few chunks are in flight at once.
"""
from __future__ import annotations

import csv
import functools
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import iter_audio_files
from ..errors import DataError
from ..models.bundle import model_folder, model_genres
from ..parallel import default_jobs, map_items
from ..progress import progress_bar
from ..models.verdict import FIELDS
from .predict import cached_model


def classify_chunk(paths: list[str], model_dir: str) -> list[dict]:
    """Rows for a chunk of files: each file's windows preprocessed, one batched inference for the chunk."""
    model = cached_model(model_dir)
    rows = []
    for path, pred, error in model.predict_batch(paths):
        if error:
            rows.append({"path": path, "error": error})
        else:
            rows.append({"path": path, **pred.verdict.csv_fields(), "windows": pred.windows,
                         "probabilities": list(pred.probabilities.values())})
    return rows


@dataclass
class ClassifyReport:
    done: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False           # Ctrl-C: the rows written so far stand, a re-run does the rest

    @property
    def clips_per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def _already_done(out: Path) -> set[str]:
    """Paths in an earlier, possibly interrupted, output; a torn last line is cut off."""
    if not out.exists():
        return set()
    with open(out, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)
    with open(out, newline="", encoding="utf-8", errors="surrogateescape") as f:
        return {row["path"] for row in csv.DictReader(f) if row.get("path")}


def chunk_sizes(n: int, *, jobs: int, most: int) -> list[int]:
    """Sizes of the chunks ``n`` files go in: at most ``most`` each, as even as can be, and a multiple of ``jobs``
    of them where there are more files than workers, so that no worker is left alone with the last chunk while
    the others idle (40 clips in chunks of at most 8 over 2 workers: 7, 7, 7, 7, 6, 6, not 8, 8, 8, 8, 8)."""
    if n <= 0:
        return []
    count = -(-n // max(1, most))
    if count > 1 or n >= jobs:
        count = max(jobs, jobs * -(-count // jobs))
    count = min(count, n)
    small, extra = divmod(n, count)
    return [small + 1] * extra + [small] * (count - extra)


def _chunks(paths: list[str], sizes: list[int]) -> Iterator[list[str]]:
    start = 0
    for size in sizes:
        yield paths[start:start + size]
        start += size


def _dask_map(func, chunks: Iterator[list[str]], scheduler: str, jobs: int) -> Iterator[list[dict]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info()["workers"]))
        pending = as_completed()
        for chunk in itertools.islice(chunks, 2 * n_workers):
            pending.add(client.submit(func, chunk, pure=False))
        for fut in pending:
            yield fut.result()
            fut.release()
            nxt = next(chunks, None)
            if nxt is not None:
                pending.add(client.submit(func, nxt, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def classify(folder: str | Path, *, model_dir: str | Path, out: str | Path, jobs: int | None = None,
             scheduler: str | None = None, chunk_size: int = 8, progress: bool = True) -> ClassifyReport:
    """Classify every audio file under ``folder`` into ``out`` (CSV: path, the verdict's fields (answer: the
    genre or "unknown"; genre, the closest also for an unknown track; confidence; unsure and unknown as 0/1;
    familiarity), windows, one probability column per genre, error). Returns counts, failures and
    throughput."""
    model_dir, out = model_folder(model_dir).resolve(), Path(out)
    genres = model_genres(model_dir)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    columns = ["path", *FIELDS, "windows", *(f"p_{g}" for g in genres), "error"]
    done = _already_done(out)
    if out.exists() and done:
        with open(out, newline="", encoding="utf-8", errors="surrogateescape") as f:
            header = next(csv.reader(f), [])
        if header != columns:
            raise DataError(f"{out}: an existing output of another model or format; choose a new --out")
    report = ClassifyReport()
    todo = []
    for p in iter_audio_files([folder], strict=True):       # listed first: even chunks, and a bar with a total
        if str(p) in done:
            report.skipped += 1
        else:
            todo.append(str(p))
    chunks = _chunks(todo, chunk_sizes(len(todo), jobs=jobs, most=chunk_size))
    work = functools.partial(classify_chunk, model_dir=str(model_dir))
    outcomes = None
    if scheduler:
        results = _dask_map(work, chunks, scheduler, jobs)
    else:
        outcomes = map_items(work, chunks, jobs=jobs, progress=False)
        results = (o.value if o.ok else [{"path": p, "error": o.error} for p in o.item] for o in outcomes)
    out.parent.mkdir(parents=True, exist_ok=True)
    new_file = not out.exists() or out.stat().st_size == 0
    start = time.perf_counter()
    bar = progress_bar(progress=progress, desc="classify", unit="clip", total=len(todo))
    try:
        with open(out, "a", newline="", encoding="utf-8", errors="surrogateescape") as f:
            w = csv.writer(f)
            if new_file:
                w.writerow(columns)
            for rows in results:
                for r in rows:
                    probs = [f"{p:.6f}" for p in r["probabilities"]] if "probabilities" in r else [""] * len(genres)
                    w.writerow([r["path"], *(r.get(k, "") for k in FIELDS), r.get("windows", ""), *probs,
                                r.get("error", "")])
                    if "error" in r:
                        report.failures.append(r["error"])
                    else:
                        report.done += 1
                f.flush()
                bar.update(len(rows))
                report.seconds = time.perf_counter() - start
                bar.set_postfix(clips_per_s=f"{report.clips_per_second:.2f}", failed=len(report.failures), refresh=False)
    except KeyboardInterrupt:        # every finished chunk is on disk; the rest is for a re-run
        report.interrupted = True
    finally:
        results.close()
        if outcomes is not None:
            outcomes.close()            # stops the workers now, not when the generator is collected
    bar.close()
    report.seconds = time.perf_counter() - start
    return report
