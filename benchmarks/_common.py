"""Shared bits of the benchmark scripts: machine description, JSON output, tables, a running server."""
from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """The shared data folder: ``$GENREFUSE_SHARED_DATA``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import importlib.metadata

    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:     # the light install has no torch
            return None

    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "numpy": version("numpy"), "torch": version("torch"), "onnxruntime": version("onnxruntime"),
            "ld_preload": os.environ.get("LD_PRELOAD", "")}


def write_json(path: str | Path | None, result: dict) -> None:
    result = {"machine": machine(), **result}
    text = json.dumps(result, indent=2)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
        print(f"wrote {path}")


def print_table(header: list[str], rows: list[list]) -> None:
    """A Markdown table on stdout."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")


@contextlib.contextmanager
def serving(library: Path, *args: str, log: Path | None = None):
    """`genrefuse serve --library LIBRARY ARGS` on a free loopback port until the block ends; yields
    ``(process, base URL)`` once it answers."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    err = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "genrefuse.cli", "serve", "--library", str(library), "--port",
                             str(port), *args], stdout=subprocess.DEVNULL, stderr=err,
                            env={**os.environ, "GENREFUSE_LOG_LEVEL": "warning"})
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    raise RuntimeError(f"genrefuse serve exited with status {proc.returncode}") from None
                time.sleep(0.2)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if log:
            err.close()


def ff_train_and_test(shared: Path, test_embeddings: Path | None):
    """GTZAN's 443 fault-filtered training tracks (table rows + taggram summaries) from the shared data, and
    with ``test_embeddings`` (the shared taggram format) the labelled tracks of that file, their table rows
    joined by track id; else None."""
    from genrefuse.datasets.labelled import load_labelled
    from genrefuse.training.default_model import TABLE, ff_training_data

    test = None
    if test_embeddings:
        test = load_labelled(Path(shared).joinpath(*TABLE), with_mel=False, with_tags=True, embeddings=test_embeddings,
                             progress=False)
    return ff_training_data(Path(shared)), test
