"""The service when things go wrong: who becomes admin, a library deleted under it, a file gone, a name too
long, a damaged, read-only or full library, guessed tokens and sign-ups from many addresses, connections that
never finish their request. Every failure is a 4xx or 503/507 with a one-line body, never a 500, and leaves
the library as it was."""
from __future__ import annotations

import gc
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Server, stored_files
from genrefuse.cli import main

pytestmark = pytest.mark.xdist_group("library")


def make_client(lib: Path, model: Path, *, address: str = "127.0.0.1", **settings):
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    app = create_app(Library.open(lib, model), allowed_hosts=["testserver"], refit_minutes=0, **settings)
    return TestClient(app, client=(address, 50000), raise_server_exceptions=False)


def sign_up(c, name: str):
    return c.post("/api/users", json={"name": name, "likes": []})


def upload(c, path: Path, token: str):
    with open(path, "rb") as f:
        return c.post("/api/tracks", files={"file": (path.name, f)}, headers={"Authorization": f"Bearer {token}"})


def rows(lib: Path) -> dict[str, str]:
    with sqlite3.connect(lib / "library.sqlite") as db:
        return dict(db.execute("select stored_path, content_hash from tracks"))


def unchanged(lib: Path, before: dict[str, str]) -> None:
    assert rows(lib) == before
    assert {p.relative_to(lib).as_posix() for p in stored_files(lib)} == set(before)
    assert not any((lib / ".incoming").glob("*"))


# ------------------------------------------------------------------------------------------- who is admin
def test_only_the_first_sign_up_of_a_brand_new_local_library_is_admin(table_model, train_dir, tmp_path):
    with make_client(tmp_path / "new", table_model) as c:
        first, second = sign_up(c, "owner").json(), sign_up(c, "guest").json()
        assert first["admin"] is True and second["admin"] is False
    lib = tmp_path / "used"                           # a library built at the command line, with tracks
    assert main(["ingest", str(train_dir / "dub" / "dub.00001.wav"), "--library", str(lib), "--model",
                 str(table_model), "--jobs", "1"]) == 0
    with make_client(lib, table_model) as c:
        stranger = sign_up(c, "stranger").json()
        assert stranger["admin"] is False
        r = c.delete("/api/tracks/1", headers={"Authorization": f"Bearer {stranger['token']}"})
        assert r.status_code == 403 and len(rows(lib)) == 1
    with make_client(tmp_path / "public", table_model, local=False) as c:      # served beyond loopback
        r = sign_up(c, "anyone")
        assert r.status_code == 403 and "users add" in r.json()["detail"]
        assert c.get("/api/health").json()["signup"] is False
    with make_client(tmp_path / "open", table_model, local=False, signup=True) as c:
        assert sign_up(c, "first").json()["admin"] is False              # open sign-up, but no admin by it
    assert main(["users", "add", "boss", "--admin", "--likes", "rock", "--library", str(lib)]) == 0


# ------------------------------------------------------------------------------------ the library itself
def test_a_library_deleted_under_the_server_takes_no_upload(table_model, train_dir, tmp_path):
    lib = tmp_path / "lib"
    with make_client(lib, table_model) as c:
        token = sign_up(c, "ann").json()["token"]
        assert upload(c, train_dir / "dub" / "dub.00002.wav", token).status_code == 201
        shutil.rmtree(lib)
        r = upload(c, train_dir / "doom" / "doom.00002.wav", token)
        assert r.status_code == 503 and "is gone" in r.json()["detail"]
        health = c.get("/api/health")
        assert health.status_code == 503 and "restart the server" in health.json()["detail"]
        assert not lib.exists()                       # nothing written into a folder made anew


def test_a_replaced_database_file_is_noticed(table_model, train_dir, tmp_path):
    lib = tmp_path / "lib"
    with make_client(lib, table_model) as c:
        token = sign_up(c, "ann").json()["token"]
        shutil.copy(lib / "library.sqlite", tmp_path / "copy.sqlite")
        (lib / "library.sqlite").unlink()
        shutil.copy(tmp_path / "copy.sqlite", lib / "library.sqlite")
        r = upload(c, train_dir / "doom" / "doom.00002.wav", token)
        assert r.status_code == 503 and "replaced" in r.json()["detail"]


def test_missing_files_long_names_and_a_damaged_database_are_4xx_or_503(table_model, train_dir, tmp_path):
    lib = tmp_path / "lib"
    with make_client(lib, table_model, database_check_seconds=0) as c:
        token = sign_up(c, "ann").json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for g in ("dub", "doom"):
            assert upload(c, train_dir / g / f"{g}.00003.wav", token).status_code == 201
        before = rows(lib)
        gone = next(iter(before))
        (lib / gone).unlink()
        tid = c.get("/api/tracks", params={"sort": "oldest"}).json()["tracks"][0]["id"]
        r = c.patch(f"/api/tracks/{tid}", json={"genre": "swing"}, headers=auth)
        assert r.status_code == 410 and "missing" in r.json()["detail"]
        assert c.get("/api/health").status_code == 200                      # the next request is fine
        other = next(t for t in c.get("/api/tracks").json()["tracks"] if t["id"] != tid)["id"]
        r = c.patch(f"/api/tracks/{other}", json={"genre": "\U0001F3B8" * 64, "new": True}, headers=auth)
        assert r.status_code == 422 and "at most 64 characters" in r.text
        r = c.patch(f"/api/tracks/{other}", json={"genre": "\U0001F3B8" * 40, "new": True}, headers=auth)
        assert r.status_code == 200
        assert c.patch(f"/api/tracks/{other}", json={"genre": "swing"}, headers=auth).status_code == 200
        assert c.get("/api/genres").status_code == 200
        db_file = lib / "library.sqlite"                                     # now damage the database
        with sqlite3.connect(db_file) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            page = db.execute("PRAGMA page_size").fetchone()[0]
        data = bytearray(db_file.read_bytes())
        data[:16] = b"not a database!!"
        data[2 * page:] = b"\xa5" * (len(data) - 2 * page)
        with open(db_file, "r+b") as f:
            f.write(data)
        r = upload(c, train_dir / "swing" / "swing.00003.wav", token)      # a write: the database checked first
        assert r.status_code == 503 and "damaged" in r.json()["detail"], r.text
        assert c.get("/api/health").status_code == 503
        c.app.state.service.library.engine.dispose()       # connections opened after the damage read the disk
        for path in ("/api/tracks", "/api/me"):            # /api/me: the token check itself answers 503
            r = c.get(path, headers=auth)
            assert r.status_code == 503 and "database" in r.json()["detail"], path


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (``mount(size)``), remountable read-only; skipped where mounting is not allowed."""
    mounted = []

    def mount(size: str) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_read_only_library_answers_503_and_keeps_everything(table_model, train_dir, tmpfs):
    lib = tmpfs("20m") / "lib"
    with make_client(lib, table_model) as c:
        token = sign_up(c, "ann").json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert upload(c, train_dir / "dub" / "dub.00004.wav", token).status_code == 201
        before = rows(lib)
        tid = c.get("/api/tracks").json()["tracks"][0]["id"]
        gc.collect()                                        # no file open for writing, so that it can be remounted
        c.app.state.service.library.engine.dispose()
        subprocess.run(["mount", "-o", "remount,ro", str(lib.parent)], check=True)
        try:
            r = upload(c, train_dir / "doom" / "doom.00004.wav", token)
            assert r.status_code == 503 and r.json()["detail"], r.text
            for r in (c.patch(f"/api/tracks/{tid}", json={"genre": "swing"}, headers=auth),
                      c.delete(f"/api/tracks/{tid}", headers=auth)):
                assert r.status_code == 503 and r.json()["detail"], r.text
            # SQLite cannot open a WAL database on a read-only file system at all: reading says so too
            assert c.get("/api/tracks").status_code in (200, 503)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(lib.parent)], check=True)
        unchanged(lib, before)


def test_a_full_disk_answers_507_and_leaves_nothing_half_written(table_model, train_dir, tmpfs):
    lib = tmpfs("1m") / "lib"
    with make_client(lib, table_model, max_upload_mb=2) as c:
        token = sign_up(c, "ann").json()["token"]
        statuses = []
        for p in sorted(train_dir.glob("*/*.0000[5-9].wav"))[:8]:             # about 2 MB in all
            statuses.append(upload(c, p, token).status_code)
        assert 507 in statuses and set(statuses) <= {201, 507}, statuses
        before = rows(lib)
        assert len(before) == statuses.count(201)
        unchanged(lib, before)
        assert c.get("/api/health").status_code == 200


# ------------------------------------------------------------------------------------------- the limiters
def test_a_blocked_client_is_not_checked_and_many_addresses_share_a_budget(table_model, tmp_path):
    lib = tmp_path / "lib"
    with make_client(lib, table_model, wrong_tokens_per_minute=5, wrong_tokens_per_minute_total=40) as c:
        token = sign_up(c, "ann").json()["token"]
        for _ in range(5):
            assert c.get("/api/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = c.get("/api/me", headers={"Authorization": f"Bearer {token}"})     # a right guess, once blocked
        assert r.status_code == 429 and "this address" in r.json()["detail"]
        state = c.app.state.service
        codes = []
        for i in range(30):                                                 # 30 addresses x 2 wrong tokens
            for _ in range(2):
                try:
                    state.user_for("Bearer wrong", f"198.51.100.{i}")
                except Exception as exc:                                    # HTTPException
                    codes.append(exc.status_code)
        assert 429 in codes and codes.index(429) <= 40
        with pytest.raises(Exception) as caught:
            state.user_for(f"Bearer {token}", "203.0.113.9")                # a fresh address waits too
        assert caught.value.status_code == 429 and "all addresses" in caught.value.detail


def test_sign_ups_are_limited_across_addresses(table_model, tmp_path):
    lib = tmp_path / "lib"
    codes = []
    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app
    from fastapi.testclient import TestClient

    app = create_app(Library.open(lib, table_model), allowed_hosts=["testserver"], refit_minutes=0,
                     signups_per_hour_total=12)
    for i in range(20):
        with TestClient(app, client=(f"192.0.2.{i}", 50000)) as c:
            codes.append(sign_up(c, f"user{i}").status_code)
    assert codes == [201] * 12 + [429] * 8


# ------------------------------------------------------------------------------------------ connections
def test_half_sent_requests_are_closed_and_the_server_goes_on(table_model, tmp_path):
    import httpx

    srv = Server(model=table_model, library=tmp_path / "lib", extra=["--header-timeout", "2", "--max-connections", "20"])
    try:
        socks = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")       # never finished
            socks.append(s)
        assert httpx.get(srv.url + "/api/health", timeout=5).status_code == 503    # past --max-connections
        time.sleep(3.5)
        closed = 0
        for s in socks:
            s.settimeout(2)
            try:
                closed += s.recv(100) == b""
            except (ConnectionResetError, socket.timeout):
                closed += 0
            s.close()
        assert closed == 50
        with httpx.Client() as http:                      # a keep-alive connection idles past the deadline too
            assert http.get(srv.url + "/api/health").status_code == 200
            time.sleep(2.5)
            assert http.get(srv.url + "/api/health").status_code == 200
    finally:
        srv.stop()
    log = Path(srv.log.name).read_text()
    assert "Traceback" not in log


def test_accept_errors_are_logged_once_per_interval():
    import logging

    from genrefuse.service.connections import ACCEPT_ERRORS, OncePerInterval

    logger = logging.getLogger("test-accept-errors")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger.addHandler(Keep())
    flt = OncePerInterval(ACCEPT_ERRORS, interval=0.2)
    logger.addFilter(flt)
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        for _ in range(500):                                  # what 20,000 idle connections caused: one line
            logger.error("socket.accept() out of system resource", exc_info=True)
    logger.error("something else")                             # other lines pass as they are
    time.sleep(0.25)
    logger.error("socket.accept() out of system resource")
    assert [r.getMessage() for r in records] == ["socket.accept() out of system resource", "something else",
                                                  "socket.accept() out of system resource (499 more like it in the "
                                                  "last 0.2 s)"]
    assert records[0].exc_info is None                          # no traceback repeated
