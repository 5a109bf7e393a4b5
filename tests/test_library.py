import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from genrefuse.cli import main
from genrefuse.errors import AudioError, DataError
from genrefuse.library.db import Track, User
from genrefuse.library.library import Library
from genrefuse.library.recommend import genre_because, give_feedback, recommend
from genrefuse.library.users import create_user, user_by_token

from conftest import write

pytestmark = pytest.mark.xdist_group("library")


@pytest.fixture
def library(table_model, tmp_path):
    return Library.open(tmp_path / "lib", table_model)


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_ingest_files_by_genre_and_is_idempotent(library, train_dir):
    src = train_dir / "doom" / "doom.00001.wav"
    r = library.ingest(src, original_name="../../etc/passwd.wav")
    assert r.created
    t = r.track
    assert t.stored_path == f"{t.genre}/passwd [{_sha(src)[:8]}].wav"     # a readable name, cleaned
    assert (library.dir / t.stored_path).read_bytes() == src.read_bytes()
    assert t.original_name == "../../etc/passwd.wav"            # data only, never a path
    assert abs(t.duration - 6.0) < 0.01 and abs(sum(t.probabilities.values()) - 1) < 1e-5
    assert src.exists()                                          # the user's file is copied, not moved
    again = library.ingest(src)
    assert not again.created and again.track.id == t.id
    assert not any((library.dir / ".incoming").iterdir())


def test_bad_files_store_nothing(library, tmp_path):
    text = tmp_path / "song.mp3"
    text.write_text("lyrics only")
    silent = write(tmp_path / "quiet.wav", np.zeros(4 * 22050, np.float32))
    for p, reason in ((text, "not a readable audio file"), (silent, "silent")):
        with pytest.raises(AudioError, match=f"{p.name}: .*{reason}"):
            library.ingest(p)
    with library.Session() as s:
        assert s.query(Track).count() == 0
    stored = [p for p in library.dir.rglob("*") if p.is_file() and not p.name.startswith("library.sqlite")]
    assert stored == []


def test_ingest_command_reports_bad_files(table_model, train_dir, tmp_path, capsys):
    bad = tmp_path / "in" / "broken.flac"
    bad.parent.mkdir()
    bad.write_bytes(b"fLaC" + b"\x00" * 100)
    args = ["ingest", str(train_dir / "swing"), str(bad), "--model", str(table_model), "--library",
            str(tmp_path / "lib"), "--jobs", "2"]
    assert main(args) == 1
    out = capsys.readouterr()
    assert "10 tracks added" in out.err and "broken.flac" in out.err and out.out.count("\tadded (id") == 10
    assert main(args[:2] + args[3:]) == 0
    assert "0 tracks added (copied into" in (err := capsys.readouterr().err) and "10 already" in err


def test_interrupted_ingest_leaves_a_consistent_library(table_model, train_dir, tmp_path):
    """SIGKILL a real ingest mid-way: every row has its complete file; a re-run finishes the job."""
    lib = tmp_path / "lib"
    cmd = [sys.executable, "-m", "genrefuse.cli", "ingest", str(train_dir / "doom"), str(train_dir / "dub"),
           "--model", str(table_model),
           "--library", str(lib), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GENREFUSE_TCMALLOC": "0"})
    db = lib / "library.sqlite"
    deadline = time.time() + 120
    rows = 0
    while time.time() < deadline and rows < 3:
        time.sleep(0.2)
        if db.exists():
            try:
                rows = sqlite3.connect(db).execute("select count(*) from tracks").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= rows < 20

    def check() -> int:
        con = sqlite3.connect(db)
        stored = dict(con.execute("select stored_path, content_hash from tracks").fetchall())
        for rel, digest in stored.items():
            assert _sha(lib / rel) == digest                       # no row without its complete file
        for f in lib.glob("[!.]*/*.wav"):                           # genre folders (.incoming holds work in progress)
            assert f.stem.endswith(f"[{_sha(f)[:8]}]")             # no half-written file in the library
        return len(stored)

    check()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert check() == 20


def test_users_and_recommendations(library, train_dir):
    added = [library.ingest(train_dir / g / f"{g}.0000{i}.wav").track for g in ("doom", "techno", "ambient")
             for i in range(2)]
    with library.Session() as s:
        with pytest.raises(DataError, match="unknown genre 'polka'"):
            create_user(s, "x", ["polka"], library.vocabulary)
        user, token = create_user(s, "ana", ["doom"], library.vocabulary)
        with pytest.raises(DataError, match="already exists"):
            create_user(s, "ana", [], library.vocabulary)
        assert user_by_token(s, token).id == user.id and user_by_token(s, "wrong") is None
        user = s.get(User, user.id)
        recs = recommend(s, user, limit=10)
        # only the doom tracks: a techno track's crumbs of doom probability are no reason (GENRE_FLOOR)
        assert sorted(r["track"]["id"] for r in recs) == [t.id for t in added if t.genre == "doom"]
        scores = [r["score"] for r in recs]
        assert scores == sorted(scores, reverse=True)
        expected = {t.id: t.probabilities.get("doom", 0) for t in added}
        for r in recs:
            assert r["genre_score"] == pytest.approx(expected[r["track"]["id"]], abs=1e-5)
        assert [r["genre_score"] for r in recs] == sorted((r["genre_score"] for r in recs), reverse=True)
        assert recs[0]["because"][0]["genre"] == "doom"
        top = recs[0]["track"]["id"]
        before = user.weights()["doom"]
        w = give_feedback(s, user, top, "skip")
        assert w["doom"] < before
        assert top not in [r["track"]["id"] for r in recommend(s, user)]
        give_feedback(s, user, recs[1]["track"]["id"], "like")
        assert recommend(s, user) == []                        # both doom tracks rated; nothing else has a reason
        with pytest.raises(DataError, match="unknown action"):
            give_feedback(s, user, top, "love")


def test_because_names_the_genres_that_drove_the_score():
    assert genre_because({"a": 1.0, "b": 0.0}, {"a": 0.3, "b": 0.7}) == [{"genre": "a", "contribution": 0.3}]
    assert genre_because({"a": 1.0, "b": 1.0}, {"a": 0.9, "b": 0.1}) == [{"genre": "a", "contribution": 0.9}]


def test_users_and_recommend_commands(library, table_model, train_dir, capsys):
    library.ingest(train_dir / "dub" / "dub.00002.wav")
    lib = ["--library", str(library.dir), "--model", str(table_model)]
    assert main(["users", "add", "bo", "--likes", "dub,techno", *lib]) == 0
    assert "API token (shown once)" in capsys.readouterr().out
    assert main(["users", "add", "cy", "--likes", "polka", *lib]) == 2
    assert "unknown genre 'polka'" in capsys.readouterr().err
    assert main(["recommend", "bo", "--library", str(library.dir)]) == 0
    assert "dub.00002.wav" in capsys.readouterr().out
    assert main(["recommend", "nobody", "--library", str(library.dir)]) == 2


def test_postgresql(table_model, train_dir):
    url = os.environ.get("GENREFUSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: set GENREFUSE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://user@host/db)")
    import tempfile

    from sqlalchemy import text

    with tempfile.TemporaryDirectory() as d:
        lib = Library.open(d, table_model, db_url=url)
        with lib.engine.begin() as con:
            for table in ("feedback", "user_genres", "users", "tracks"):
                con.execute(text(f"DELETE FROM {table}"))
        t = lib.ingest(train_dir / "chiptune" / "chiptune.00001.wav").track
        assert not lib.ingest(train_dir / "chiptune" / "chiptune.00001.wav").created
        with lib.Session() as s:
            user, _ = create_user(s, "pg", ["chiptune"], lib.vocabulary)
            assert recommend(s, s.get(User, user.id))[0]["track"]["id"] == t.id


def test_model_from_the_public_table_files_real_recordings(tmp_path):
    """Until a GTZAN-trained fusion model exists, the mlp of features_30_sec.csv classifies real music."""
    from conftest import shared_path
    from genrefuse.genres import GTZAN_GENRES
    from genrefuse.training.run import train_run
    from genrefuse.training.trainer import TrainConfig

    table = shared_path("gtzan-features", "features_30_sec.csv")
    train_run(table, tmp_path / "run", kind="mlp", config=TrainConfig(epochs=40), progress=False)
    lib = Library.open(tmp_path / "lib", tmp_path / "run" / "model")
    genres = [lib.ingest(shared_path("gtzan-clips", g, f"{g}.00000.au")).track.genre
              for g in ("classical", "disco")]
    assert set(genres) <= set(GTZAN_GENRES)
    assert genres[0] == "classical"             # the clearest of the five real clips


def test_incoming_keeps_only_files_of_live_processes(table_model, tmp_path):
    """A server or ingest that was killed leaves its temporary files; the next start removes them, but not
    those of a live process beside it."""
    from genrefuse.library import store

    lib = tmp_path / "lib"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    incoming = lib / store.INCOMING
    incoming.mkdir(parents=True)
    orphan = incoming / f"{dead.pid}-0123456789abcdef.part"
    live = store.incoming_path(lib, ".part")              # this process's own
    old = incoming / "0123456789abcdef.wav"                 # an unowned name from before pids were written
    for p in (orphan, live, old):
        p.write_bytes(b"x" * 1000)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    Library.open(lib, table_model)
    assert not orphan.exists() and not old.exists() and live.exists()
    assert store.owner_pid(live) == os.getpid() and store.owner_pid(old) is None


def test_pool_workers_end_when_their_parent_is_killed(tmp_path):
    """kill -9 of a batch command must not leave its worker processes (hundreds of MB each) behind."""
    script = tmp_path / "batch.py"
    script.write_text("""
import time
from genrefuse.parallel import map_items

def slow(x):
    time.sleep(60)
    return x

if __name__ == "__main__":
    for _ in map_items(slow, range(8), jobs=2, progress=False):
        pass
""")
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.time() + 60
        workers: set[int] = set()
        while time.time() < deadline and len(workers) < 2:
            workers = _descendants(proc.pid) - {proc.pid}
            time.sleep(0.2)
        assert len(workers) >= 2, "the pool did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)], "processes outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()


def _descendants(root: int) -> set[int]:
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in out]
        out.update(kids)
        frontier.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"     # a zombie has ended
    except OSError:
        return False
