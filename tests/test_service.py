"""The HTTP API against a live `genrefuse serve` on 127.0.0.1."""
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from conftest import Server, stored_files, write

pytestmark = pytest.mark.xdist_group("library")


@pytest.fixture(scope="module")
def server(table_model, tmp_path_factory):
    lib = tmp_path_factory.mktemp("svc") / "lib"
    srv = Server(model=table_model, library=lib, extra=["--max-upload-mb", "1", "--body-timeout", "3"])
    srv.library = lib
    yield srv
    srv.stop()


def upload(server, path, name=None, token=None):
    """POST a file as a listener (the server's own test listener unless ``token`` names another)."""
    with open(path, "rb") as f:
        return httpx.post(server.url + "/api/tracks", files={"file": (name or path.name, f)}, timeout=120,
                          headers={"Authorization": f"Bearer {token or server.token}"})


def test_upload_classify_store(server, train_dir):
    src = train_dir / "techno" / "techno.00004.wav"
    r = upload(server, src)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"id", "genre", "probabilities", "duration", "confidence", "unsure"}
    assert body["genre"] in body["probabilities"] and abs(body["duration"] - 6.0) < 0.01
    assert body["confidence"] == pytest.approx(max(body["probabilities"].values()), abs=1e-6)
    again = upload(server, src, name="renamed.wav")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    got = httpx.get(f"{server.url}/api/tracks/{body['id']}").json()
    assert got["genre"] == body["genre"] and got["name"] == "techno.00004.wav"
    audio = httpx.get(f"{server.url}/api/tracks/{body['id']}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == src.read_bytes()
    listed = httpx.get(f"{server.url}/api/tracks", params={"genre": body["genre"]}).json()["tracks"]
    assert body["id"] in [t["id"] for t in listed]
    counts = {g["genre"]: g["count"] for g in httpx.get(server.url + "/api/genres").json()["genres"]}
    assert counts[body["genre"]] >= 1 and set(counts) >= {"ambient", "techno"}
    assert httpx.get(f"{server.url}/api/tracks/99999").status_code == 404
    assert httpx.get(server.url + "/api/health").json()["status"] == "ok"
    assert "/api/tracks" in httpx.get(server.url + "/openapi.json").json()["paths"]
    assert httpx.get(server.url + "/docs").status_code == 200


def test_bad_uploads_store_nothing(server, tmp_path):
    before = stored_files(server.library)
    n_before = len(httpx.get(server.url + "/api/tracks", params={"limit": 500}).json()["tracks"])
    text = tmp_path / "notes.mp3"
    text.write_text("not music")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(64))
    silent = write(tmp_path / "silent.wav", np.zeros(3 * 22050, np.float32))
    nan = write(tmp_path / "nan.wav", np.full(3 * 22050, np.nan, np.float32), subtype="FLOAT")
    big = write(tmp_path / "big.wav", np.random.default_rng(0).standard_normal(40 * 22050).astype(np.float32) * 0.1,
                subtype="FLOAT")                                    # 3.5 MB > the 1 MB limit of this server
    for path, status, words in ((text, 415, "not a readable audio file"), (empty, 400, "empty"),
                                (corrupt, 415, "corrupt.wav"), (silent, 415, "silent"), (nan, 415, "NaN"),
                                (big, 413, "upload limit")):
        r = upload(server, path)
        assert r.status_code == status, (path.name, r.status_code, r.text)
        assert words in r.json()["detail"]
        # an oversized body is refused from its Content-Length, before its file name is read
        assert path.name in r.json()["detail"] or path is big
    r = httpx.post(server.url + "/api/tracks", data={"nofile": "x"}, headers=server.auth)
    assert r.status_code == 422
    with open(silent, "rb") as f:                                  # no token: refused before any analysis
        r = httpx.post(server.url + "/api/tracks", files={"file": ("anon.wav", f)})
    assert r.status_code == 401 and "token" in r.json()["detail"]
    assert stored_files(server.library) == before
    assert len(httpx.get(server.url + "/api/tracks", params={"limit": 500}).json()["tracks"]) == n_before
    assert not list((server.library / ".incoming").iterdir())


def test_users_auth_and_isolation(server, train_dir):
    t = upload(server, train_dir / "ambient" / "ambient.00005.wav").json()
    a = httpx.post(server.url + "/api/users", json={"name": "alice", "likes": [t["genre"]]})
    b = httpx.post(server.url + "/api/users", json={"name": "bob", "likes": []})
    assert a.status_code == 201 and b.status_code == 201
    ha = {"Authorization": f"Bearer {a.json()['token']}"}
    hb = {"Authorization": f"Bearer {b.json()['token']}"}
    assert httpx.post(server.url + "/api/users", json={"name": "alice"}).status_code == 409      # name taken
    assert httpx.post(server.url + "/api/users", json={"name": "x", "likes": ["polka"]}).status_code == 422
    for h in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        assert httpx.get(server.url + "/api/me/recommendations", headers=h).status_code == 401
        assert httpx.post(server.url + "/api/me/feedback", headers=h, json={"track_id": t["id"], "action": "like"}).status_code == 401
    recs = httpx.get(server.url + "/api/me/recommendations", headers=ha).json()["recommendations"]
    assert recs[0]["track"]["id"] == t["id"] and recs[0]["because"][0]["genre"] == t["genre"]
    fb = httpx.post(server.url + "/api/me/feedback", headers=ha, json={"track_id": t["id"], "action": "like"})
    assert fb.status_code == 200 and fb.json()["weights"][t["genre"]] > 1.0
    assert httpx.post(server.url + "/api/me/feedback", headers=ha, json={"track_id": 99999, "action": "like"}).status_code == 404
    assert httpx.post(server.url + "/api/me/feedback", headers=ha, json={"track_id": t["id"], "action": "love"}).status_code == 422
    # integers beyond the database's range are refused as input errors, never an overflow and a 500
    huge = 10**20
    assert httpx.post(server.url + "/api/me/feedback", headers=ha, json={"track_id": huge, "action": "like"}).status_code == 422
    with httpx.Client(base_url=server.url) as c:       # one keep-alive connection: it must stay usable
        for path in (f"/api/tracks/{huge}", f"/api/tracks/{huge}/audio", "/api/tracks?offset=1e20",
                     f"/api/tracks?offset={huge}", "/api/tracks/0", "/api/tracks/-1"):
            assert c.get(path).status_code == 422, path
        assert c.get("/api/health").status_code == 200
    assert t["id"] not in [r["track"]["id"] for r in
                           httpx.get(server.url + "/api/me/recommendations", headers=ha).json()["recommendations"]]
    liked = httpx.get(server.url + "/api/me/feedback", headers=ha).json()["feedback"]
    assert [(f["track_id"], f["action"], f["track"]["genre"]) for f in liked] == [(t["id"], "like", t["genre"])]
    assert httpx.get(server.url + "/api/me/feedback", headers=hb).json()["feedback"] == []   # bob sees only his own
    assert httpx.get(server.url + "/api/me", headers=hb).json()["name"] == "bob"


def test_corrections_move_the_file_and_need_a_token(server, train_dir):
    src = train_dir / "swing" / "swing.00009.wav"
    t = upload(server, src).json()
    assert t["added_by"] is not None and not t["confirmed"]
    other = next(g for g in t["probabilities"] if g != t["genre"])
    url = f"{server.url}/api/tracks/{t['id']}"
    assert httpx.patch(url, json={"genre": other}).status_code == 401
    assert httpx.patch(url, json={"genre": "polka"}, headers=server.auth).status_code == 422
    assert httpx.patch(f"{server.url}/api/tracks/99999", json={"genre": other}, headers=server.auth).status_code == 404
    r = httpx.patch(url, json={"genre": other.upper()}, headers=server.auth)        # any spelling the vocabulary knows
    assert r.status_code == 200 and r.json()["genre"] == other and r.json()["confirmed"]
    files = [p for p in stored_files(server.library) if f"[{t['content_hash'][:8]}]" in p.name]
    assert [p.parent.name for p in files] == [other] and files[0].name == f"swing.00009 [{t['content_hash'][:8]}].wav"
    assert f"../{other}/{files[0].name}" in (server.library / "playlists" / f"{other}.m3u8").read_text()
    assert httpx.get(url + "/audio").content == src.read_bytes()
    listed = httpx.get(server.url + "/api/tracks", params={"genre": other.title()}).json()["tracks"]
    assert t["id"] in [x["id"] for x in listed]
    assert httpx.get(server.url + "/api/tracks", params={"genre": "polka"}).status_code == 422


def test_docs_are_served_offline(server):
    """/docs must work without internet: every script and style it names is served by this server."""
    import re

    html = httpx.get(server.url + "/docs").text
    assets = re.findall(r"""(?:src|href)\s*[=:]\s*["']([^"']+\.(?:js|css))["']""", html)
    assert len(assets) >= 2 and all(a.startswith("/") for a in assets), assets
    assert all(httpx.get(server.url + a).status_code == 200 for a in assets)


def raw_post(server, path: str, headers: bytes, body: bytes = b"", *, timeout: float) -> tuple[str, float]:
    """Send a hand-made POST over a plain socket; the first bytes of the reply and how long they took."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + headers + b"\r\n" + body)
        start = time.time()
        reply = sock.recv(4096).decode(errors="replace")
        return reply, time.time() - start


def test_a_stalled_body_gets_408(server):
    """A client that promises 100 kB and sends 10 bytes is cut off after the body time limit (3 s here)."""
    reply, waited = raw_post(server, "/api/users", b"Content-Type: application/json\r\nContent-Length: 100000\r\n",
                             b'{"name": ', timeout=30)
    assert reply.startswith("HTTP/1.1 408") and waited > 2, (reply, waited)     # not before the limit
    assert httpx.get(server.url + "/api/health").status_code == 200


def test_same_bytes_under_many_names_at_once_make_one_file(server, train_dir):
    """Ten concurrent uploads of one wav named .au, .wav, .flac, .mp3, .ogg: one row and one file, stored
    and served as what the bytes are."""
    src = train_dir / "doom" / "doom.00004.wav"
    names = [f"same{i}.{ext}" for i, ext in enumerate(("au", "wav", "flac", "mp3", "ogg") * 2)]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        responses = list(pool.map(lambda n: upload(server, src, name=n), names))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    files = [p for p in stored_files(server.library) if p.stem.endswith(f"[{digest[:8]}]")]
    assert [p.suffix for p in files] == [".wav"]
    audio = httpx.get(f"{server.url}/api/tracks/{responses[0].json()['id']}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"


def test_concurrent_uploads_stored_exactly_once(server, train_dir):
    files = [train_dir / g / f"{g}.0000{i}.wav" for g in ("chiptune", "dub", "swing") for i in (6, 7, 8)]
    jobs = files * 3                                              # 27 uploads at once, each file three times
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(lambda p: upload(server, p), jobs))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses if r.status_code >= 300]
    ids = {}
    for p, r in zip(jobs, responses):
        ids.setdefault(p, set()).add(r.json()["id"])
    assert all(len(v) == 1 for v in ids.values())                  # one track per content
    assert sum(r.status_code == 201 for r in responses) == len(files)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    on_disk = {p.stem[-9:-1] for p in stored_files(server.library)}
    assert {d[:8] for d in digests} <= on_disk


def test_restart_keeps_everything(table_model, train_dir, tmp_path):
    lib = tmp_path / "lib"
    srv = Server(model=table_model, library=lib)
    t = upload(srv, train_dir / "doom" / "doom.00007.wav").json()
    token = httpx.post(srv.url + "/api/users", json={"name": "kim", "likes": [t["genre"]]}).json()["token"]
    srv.stop()
    srv = Server(model=table_model, library=lib)
    try:
        assert httpx.get(f"{srv.url}/api/tracks/{t['id']}").json()["genre"] == t["genre"]
        recs = httpx.get(srv.url + "/api/me/recommendations", headers={"Authorization": f"Bearer {token}"})
        assert recs.status_code == 200 and recs.json()["recommendations"][0]["track"]["id"] == t["id"]
    finally:
        srv.stop()


@pytest.fixture
def client(table_model, tmp_path):
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    app = create_app(Library.open(tmp_path / "lib", table_model), max_upload_mb=1,
                     allowed_hosts=["testserver", "127.0.0.1"], allowed_origins=["https://friend.example"])
    with TestClient(app) as c:
        yield c


def test_hosts_origins_and_headers(client):
    assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 400     # DNS rebinding
    page = client.get("/")
    assert page.status_code == 200 and page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    body = {"name": "carol", "likes": []}
    assert client.post("/api/users", json=body, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/api/users", json=body, headers={"Origin": "https://testserver"}).status_code == 403  # scheme
    assert client.post("/api/users", json=body, headers={"Origin": "http://testserver"}).status_code == 201
    again = {"name": "dave", "likes": []}
    assert client.post("/api/users", json=again, headers={"Origin": "https://friend.example"}).status_code == 201


def test_signup_can_be_closed(table_model, tmp_path):
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    with TestClient(create_app(Library.open(tmp_path / "lib", table_model), signup=False,
                               allowed_hosts=["testserver"])) as c:
        r = c.post("/api/users", json={"name": "eve", "likes": []})
        assert r.status_code == 403 and "users add" in r.json()["detail"]
        assert c.get("/api/health").json()["signup"] is False


def test_wrong_tokens_are_limited_and_errors_do_not_echo(client):
    for _ in range(20):
        assert client.get("/api/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = client.get("/api/me", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 429 and "Retry-After" in r.headers
    big = {"name": "x" * 500_000, "likes": []}
    r = client.post("/api/users", json=big)
    assert r.status_code == 422 and len(r.content) < 2000                  # the 500 kB name is not sent back
    r = client.post("/api/users", json={"name": "x" * 2_000_000, "likes": []})
    assert r.status_code == 413 and len(r.content) < 2000                  # a JSON body over 1 MB is not read


def test_oversized_upload_refused_from_its_headers(server):
    """A 300 MB Content-Length against a 1 MB limit is answered at once, before any body is sent."""
    reply, waited = raw_post(server, "/api/tracks", b"Content-Type: multipart/form-data; boundary=x\r\n"
                             b"Content-Length: 314572800\r\n", timeout=10)
    assert reply.startswith("HTTP/1.1 413"), (reply, waited)     # with no body sent: refused from the headers
    assert not list((server.library / ".incoming").glob("*"))


def test_kill_9_of_serve_mid_upload_then_restart(table_model, train_dir, tmp_path):
    """Uploads in flight when the server is killed with -9: after a restart every row has its file,
    .incoming is empty, uploading the same files again gives one row per file, and no process is left."""
    import os
    import signal
    import sqlite3
    import threading

    lib = tmp_path / "lib"
    srv = Server(model=table_model, library=lib)
    files = [train_dir / g / f"{g}.0000{i}.wav" for g in ("ambient", "techno") for i in (1, 2, 3, 4)]

    def send(p):
        try:
            upload(srv, p)
        except httpx.HTTPError:          # the server died under it: expected
            pass

    threads = [threading.Thread(target=send, args=(p,)) for p in files]
    for t in threads:
        t.start()
    time.sleep(1.0)                         # some stored, some classifying, some still arriving
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait()
    srv.log.close()
    for t in threads:
        t.join(timeout=60)
    srv = Server(model=table_model, library=lib)
    try:
        assert not any((lib / ".incoming").iterdir())             # the dead server's temporary files are gone
        with sqlite3.connect(lib / "library.sqlite") as db:
            rows = dict(db.execute("select content_hash, stored_path from tracks"))
        assert all((lib / path).is_file() for path in rows.values())      # no row without its file
        for p in files:
            assert upload(srv, p).status_code in (200, 201)
        with sqlite3.connect(lib / "library.sqlite") as db:
            rows = dict(db.execute("select content_hash, stored_path from tracks"))
        assert len(rows) == len(files) and sorted(stored_files(lib)) == sorted(lib / p for p in rows.values())
    finally:
        srv.stop()
    assert srv.proc.poll() is not None
