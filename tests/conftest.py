"""Shared fixtures: a small synthetic dataset rendered once per session, and the shared real data."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()
SR = 22050


def _exact_int8() -> bool:
    """Whether ONNX Runtime's 8-bit products are exact on this CPU: ARM, or x86 with VNNI or AMX. Without them its
    x86 kernels can saturate pairwise sums, so the int8 taggers' tags move a little (pretrained/graph.py)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


# how far a pinned probability of the packaged model may move from the one recorded here (a CPU with AMX): to float
# rounding where 8-bit products are exact, else by what saturated sums move the taggers' inputs
PINNED = 1e-4 if _exact_int8() else 0.02


def pytest_configure(config):
    """Compile librosa's numba functions in the controller before the xdist workers start: on a fresh
    install several processes compiling and caching them at once crashed a worker (a segfault in a
    numba gufunc). genrefuse itself no longer uses librosa; the tests compare against it."""
    if not hasattr(config, "workerinput"):
        from genrefuse.features.clip import clip_inputs

        t = np.arange(3 * SR) / SR
        clip_inputs((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), method="reference")


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real GTZAN material not present: {p} (see shared/data/README.md)")
    return p


# three real jazz recordings; a head of GTZAN's genres alone (the gtzan_model fixture) is sure of the first and
# last (0.83, 0.80) and unsure of the second (0.48)
JAZZ = ["jazz/uriopass_jazz.mp3", "jazz/uriopass_jazz2.mp3", "jazz/bensound-thejazzpiano.mp3"]


def retag_album(path: Path, album: str, *, artist: str = "The Trio") -> None:
    """Give a file the album tags ``album`` by ``artist`` and no genre tag."""
    import mutagen

    f = mutagen.File(path, easy=True)
    if f.tags is None:
        f.add_tags()
    f.pop("genre", None)
    f["album"], f["albumartist"] = album, artist
    f.save()


def jazz_album(folder: Path, *, album: str = "Night Set") -> list[Path]:
    """Copies of :data:`JAZZ` in ``folder``, tagged as one album."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for rel in JAZZ:
        dst = folder / rel.split("/")[1]
        shutil.copy(shared_path("real-dev", *rel.split("/")), dst)
        retag_album(dst, album)
        out.append(dst)
    return out


def _synth(tmp_path_factory, name: str, *, per_genre: int, seed: int) -> Path:
    from genrefuse.datasets.synth import synthesize

    out = tmp_path_factory.mktemp(name)
    synthesize(out, per_genre=per_genre, seconds=6.0, seed=seed, jobs=2, progress=False)
    return out


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """6 synthetic genres x 6 clips of 6 s each."""
    return _synth(tmp_path_factory, "synth", per_genre=6, seed=1)


@pytest.fixture(scope="session")
def tone() -> np.ndarray:
    """5 s of a 440 Hz tone with a little noise, mono float32 at 22050 Hz."""
    rng = np.random.default_rng(0)
    t = np.arange(5 * SR) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int = SR, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, **kw)
    return path




def tiny_params():
    from genrefuse.features import FeatureParams

    return FeatureParams(n_frames=320)   # 6 s clips have 259 frames


@pytest.fixture(scope="session")
def train_dir(tmp_path_factory) -> Path:
    """6 synthetic genres x 10 clips of 6 s: enough for a 70/15/15 split with 2 test clips per genre."""
    return _synth(tmp_path_factory, "train_data", per_genre=10, seed=2)


@pytest.fixture(scope="session")
def fusion_run(train_dir, tmp_path_factory):
    """A fusion model trained for a few epochs on ``train_dir``: (run folder, report, cache folder)."""
    from genrefuse.training.run import train_run
    from genrefuse.training.trainer import TrainConfig

    root = tmp_path_factory.mktemp("fusion_run")
    report = train_run(train_dir, root / "run", kind="fusion", config=TrainConfig(epochs=12, batch_size=16, seed=0),
                       cache_dir=root / "cache", params=tiny_params(), jobs=2, progress=False)
    return root / "run", report, root / "cache"


@pytest.fixture(scope="session")
def table_model(train_dir, tmp_path_factory) -> Path:
    """An mlp trained on the 57 features of ``train_dir``: a quick model that predicts from audio."""
    from genrefuse.datasets.extract import features_table
    from genrefuse.datasets.layouts import discover
    from genrefuse.training.run import train_run
    from genrefuse.training.trainer import TrainConfig

    root = tmp_path_factory.mktemp("table_model")
    features_table(discover(train_dir), root / "table.csv", jobs=2, progress=False)
    train_run(root / "table.csv", root / "run", kind="mlp", config=TrainConfig(epochs=60, batch_size=16),
              progress=False)
    return root / "run" / "model"


def built_once(tmp_path_factory, worker_id: str, name: str, build) -> Path:
    """``build(folder)`` run once for the whole test run, whichever xdist worker asks first: the others wait for
    it and take the same folder (a fixture of a minute would otherwise be built once per worker)."""
    if worker_id == "master":                      # not distributed: this process's own temporary folder
        out = tmp_path_factory.mktemp(name) / "built"
        build(out)
        return out
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent   # this run's folder, shared by its workers
    out = root / f"once-{name}"
    with FileLock(str(root / f"once-{name}.lock")):
        if not (out / ".done").is_file():
            build(out / "built")
            (out / ".done").touch()
    return out / "built"


@pytest.fixture(scope="session")
def gtzan_model(tmp_path_factory, worker_id) -> Path:
    """The packaged recipe as it was before real recordings: GTZAN's ten genres from GTZAN's 443 training rows
    alone (training.default_model.build_gtzan_model), for what a model of GTZAN's genres alone does (the taggers
    naming electronic, for one). Built once for the run (tests only read it)."""
    from genrefuse.training.default_model import build_gtzan_model

    shared = shared_path("musicnn").parent
    return built_once(tmp_path_factory, worker_id, "gtzan-model", lambda out: build_gtzan_model(shared, out))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``genrefuse serve`` in a subprocess on 127.0.0.1, as a user starts it."""

    def __init__(self, *, model: Path, library: Path, db: str | None = None, extra: list[str] | None = None,
                 listener: bool = True):
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "genrefuse.cli", "serve", "--model", str(model), "--library", str(library),
                "--port", str(self.port), *(["--db", db] if db else []), *(extra or [])]
        self.log = open(library.parent / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "GENREFUSE_LOG_LEVEL": "warning"})
        self._wait()
        self.token = self.new_listener()["token"] if listener and "--no-signup" not in (extra or []) else None

    def new_listener(self, likes: list[str] | None = None) -> dict:
        """A listener made through the API (uploads need one's token)."""
        import uuid

        import httpx

        r = httpx.post(self.url + "/api/users", json={"name": f"listener-{uuid.uuid4().hex[:8]}", "likes": likes or []})
        r.raise_for_status()
        return r.json()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def _wait(self, timeout: float = 120) -> None:
        import time

        import httpx

        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {open(self.log.name).read()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def stored_files(lib: Path) -> list[Path]:
    """The audio files a library stores, sorted (its database, playlists, locks, temporary, backup,
    feature-cache and model folders left out)."""
    skip = {".incoming", ".locks", "playlists", "backups", "cf", ".features", "model"}
    return sorted(p for p in lib.rglob("*")
                  if p.is_file() and p.parent != lib and p.relative_to(lib).parts[0] not in skip)


def race(write, check, *, readers: int = 2, timeout: float = 120.0) -> list[str]:
    """Run ``write()`` in one thread and ``check()`` over and over in ``readers`` others until it returns, with
    threads switching every microsecond (so that a reader often lands inside a change); the first errors the
    readers raised (``repr``), empty when none did."""
    import sys
    import threading

    stop, errors = threading.Event(), []

    def writer():
        try:
            write()
        finally:
            stop.set()

    def reader():
        try:
            while not stop.is_set():
                check()
        except Exception as exc:            # noqa: BLE001 - returned to the test
            errors.append(repr(exc))
            stop.set()

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=timeout)
    finally:
        sys.setswitchinterval(before)
    return errors[:3]
