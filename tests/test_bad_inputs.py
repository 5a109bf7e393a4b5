"""A generated corpus of 35 hostile and odd files through `predict`, `ingest` and the API: each one is
refused with one line that names it and its problem, or answered; nothing of a refused file is stored.
(Peak memory and time per file are in benchmarks/bad_inputs.py, not in a test.)"""
import json
import sqlite3

import pytest

from conftest import stored_files

from genrefuse.cli import main

from badfiles import make_corpus

pytestmark = pytest.mark.xdist_group("bad_inputs")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return make_corpus(folder)


def test_predict_refuses_or_answers_each(corpus, capsys):
    paths = [str(p) for p in corpus]
    assert main(["predict", "--json", *paths]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in lines] == paths                # one line per input, in order: the batch went on
    for r in lines:
        expect = corpus[next(p for p in corpus if str(p) == r["path"])]
        if expect is None:
            assert "error" not in r and r["genre"] and 0 < r["confidence"] <= 1, r
        else:
            assert expect in r["error"] and r["path"] in r["error"] and "\n" not in r["error"], (expect, r)
    assert sum(v is None for v in corpus.values()) >= 12 and sum(v is not None for v in corpus.values()) >= 20


def test_the_decoders_notes_stay_off_the_screen(corpus, capfd):
    """libmpg123 writes "Note: Trying to resync..." to file descriptor 2 for damaged frames; only our own
    lines may reach the user, and a line another part of the program writes meanwhile is kept."""
    import sys

    damaged = next(p for p in corpus if p.name == "damaged_frames.mp3")
    print("before", file=sys.stderr)
    assert main(["predict", str(damaged)]) == 0
    out, err = capfd.readouterr()
    assert damaged.name in out
    assert "before" in err and "resync" not in err and "Note:" not in err and "libmpg123" not in err, err


def test_ingest_stores_only_what_it_could_answer(corpus, tmp_path, capsys):
    lib = tmp_path / "lib"
    assert main(["ingest", *map(str, corpus), "--library", str(lib), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    refused = [p for p, e in corpus.items() if e is not None]
    assert f"{len(refused)} files failed" in err and len(refused) > 1
    for p in refused:
        assert p.name in err
    with sqlite3.connect(lib / "library.sqlite") as db:
        names = {n for (n,) in db.execute("select original_name from tracks")}
    stored = stored_files(lib)
    answered = {p.name for p, e in corpus.items() if e is None}
    assert names == answered and len(stored) == len(answered)
    assert not any((lib / ".incoming").iterdir())


def test_the_api_refuses_with_4xx_and_stores_nothing_of_them(corpus, table_model, tmp_path):
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    lib = tmp_path / "lib"
    with TestClient(create_app(Library.open(lib, table_model), max_upload_mb=64, allowed_hosts=["testserver"])) as c:
        token = c.post("/api/users", json={"name": "uploader", "likes": []}).json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        for p, expect in corpus.items():
            if not p.is_file():
                continue
            with open(p, "rb") as f:
                r = c.post("/api/tracks", files={"file": (p.name, f)})
            if expect is None:
                assert r.status_code in (200, 201), (p.name, r.status_code, r.text)
            else:
                assert r.status_code in (400, 413, 415), (p.name, r.status_code, r.text)
        listed = c.get("/api/tracks", params={"limit": 500}).json()["tracks"]
    assert {t["name"] for t in listed} == {p.name for p, e in corpus.items() if e is None and p.is_file()
                                           and p.stat().st_size <= 64 * 2**20}
    assert not any((lib / ".incoming").iterdir())
