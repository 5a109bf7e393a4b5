"""Music like this: embeddings stored at ingest (and made once for tracks stored before), the nearest tracks
of a track or a file, and a radio that never plays the same artist twice in a row; through the CLI and the
API, on real recordings."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import shared_path

pytestmark = pytest.mark.xdist_group("similar")      # its own worker: one library for all its tests

# real recordings: three electronic, three solo-piano classical/jazz-like, two jazz band recordings
FILES = ["dubstep/bensound-dubstep.mp3", "dubstep/essentia_dubstep.wav", "techno/essentia_techno_loop.mp3",
         "classical/piast_solo-piano_classical.mp3", "ragtime/piast_solo-piano_ragtime.mp3",
         "ballad/piast_solo-piano_ballad.mp3", "jazz/uriopass_jazz.mp3", "jazz/jtd_KennyBarron_AllGodsChildren.wav"]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A library of the eight recordings, ingested with the packaged model; two share an artist tag."""
    import mutagen

    from genrefuse.cli import main

    root = tmp_path_factory.mktemp("similar")
    music = root / "music"
    music.mkdir()
    for rel in FILES:
        shutil.copy(shared_path("real-dev", *rel.split("/")), music / rel.split("/")[1])
    for name in ("bensound-dubstep.mp3", "essentia_techno_loop.mp3"):
        f = mutagen.File(music / name, easy=True)
        if f.tags is None:
            f.add_tags()
        f["artist"], f["title"] = "Same Artist", name.split(".")[0]
        f.save()
    lib = root / "lib"
    assert main(["ingest", str(music), "--library", str(lib), "--jobs", "1"]) == 0
    return lib


def ids_by_name(lib) -> dict[str, int]:
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library

    library = Library.open(lib, create=False)
    with library.Session() as s:
        return {t.original_name: t.id for t in s.query(Track)}


def test_every_ingested_track_keeps_a_unit_embedding_of_the_current_recipe(library):
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library
    from genrefuse.library.similar import stored
    from genrefuse.preprocess.embedding import DIM, RECIPE

    lib = Library.open(library, create=False)
    with lib.Session() as s:
        tracks = s.query(Track).all()
    assert len(tracks) == len(FILES)
    for t in tracks:
        assert t.embedding["recipe"] == RECIPE
        v = stored(t)
        assert v.shape == (DIM,) and abs(float(np.linalg.norm(v)) - 1) < 1e-3


def test_similar_finds_a_track_s_kind_first(library, capsys):
    from genrefuse.cli import main

    ids = ids_by_name(library)
    assert main(["similar", str(ids["essentia_dubstep.wav"]), "--library", str(library), "-n", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and ids["essentia_dubstep.wav"] not in [r["id"] for r in rows]
    assert [r["similarity"] for r in rows] == sorted((r["similarity"] for r in rows), reverse=True)
    assert {r["name"] for r in rows[:2]} == {"bensound-dubstep.mp3", "essentia_techno_loop.mp3"}   # electronic first
    piano = shared_path("real-dev", "jazz", "piast_solo-piano_jazz.mp3")          # a file outside the library
    assert main(["similar", str(piano), "--library", str(library), "-n", "3", "--json"]) == 0
    names = [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
    assert set(names) <= {"piast_solo-piano_classical.mp3", "piast_solo-piano_ragtime.mp3",
                          "piast_solo-piano_ballad.mp3"}, names                  # other solo piano
    assert main(["similar", "999", "--library", str(library)]) == 2
    assert "no track 999" in capsys.readouterr().err


def test_tracks_stored_before_embeddings_get_one_once(library, capsys):
    from genrefuse.cli import main
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library
    from genrefuse.library.similar import missing

    lib = Library.open(library, create=False)
    ids = ids_by_name(library)
    with lib.Session() as s:                                 # as a library of an older version left them
        for t in s.query(Track):
            if t.original_name != "essentia_dubstep.wav":
                t.embedding = None
        s.commit()
    shutil.rmtree(library / ".features")                     # and no cached features: each file is analysed again
    assert len(missing(lib)) == len(FILES) - 1
    assert main(["similar", str(ids["essentia_dubstep.wav"]), "--library", str(library), "-n", "2"]) == 0
    captured = capsys.readouterr()
    assert f"embedding {len(FILES) - 1} tracks" in captured.err and not missing(lib)
    assert len(captured.out.splitlines()) == 2
    assert main(["similar", str(ids["essentia_dubstep.wav"]), "--library", str(library), "-n", "2"]) == 0
    assert "embedding" not in capsys.readouterr().err          # once


def test_a_radio_walks_to_similar_tracks_without_an_artist_twice_in_a_row(library, tmp_path, capsys):
    from genrefuse.cli import main
    from genrefuse.library.library import Library
    from genrefuse.library.similar import radio

    ids = ids_by_name(library)
    lib = Library.open(library, create=False)
    played = radio(lib, ids["bensound-dubstep.mp3"], n=len(FILES))
    assert played[0].id == ids["bensound-dubstep.mp3"] and len({t.id for t in played}) == len(played) == len(FILES)
    artists = [t.artist for t in played]
    assert all(not (a and a == b) for a, b in zip(artists, artists[1:]))        # never the same artist back to back
    assert played[1].original_name == "essentia_dubstep.wav"          # the techno loop shares the seed's artist
    out = tmp_path / "radio.m3u8"
    assert main(["radio", str(ids["bensound-dubstep.mp3"]), "--library", str(library), "-n", "4", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and len([x for x in lines if not x.startswith("#")]) == 4
    assert all((library / p).exists() or p.startswith("/") for p in lines if not p.startswith("#"))


def test_the_api_gives_similar_tracks_and_a_radio(library):
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    import time

    ids = ids_by_name(library)
    app = create_app(Library.open(library, create=False), allowed_hosts=["testserver"])
    with TestClient(app) as client:
        state, waited = app.state.service, time.monotonic()
        while len(state.similar_index) < len(FILES) and time.monotonic() - waited < 30:
            time.sleep(0.05)                        # read into memory at start, before any request asks
        assert len(state.similar_index) == len(FILES) and len(state.track_index.ids) == len(FILES)
        r = client.get(f"/api/tracks/{ids['essentia_dubstep.wav']}/similar", params={"limit": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["seed"]["id"] == ids["essentia_dubstep.wav"] and len(body["tracks"]) == 2
        assert body["tracks"][0]["similarity"] >= body["tracks"][1]["similarity"]
        assert {t["track"]["name"] for t in body["tracks"]} == {"bensound-dubstep.mp3", "essentia_techno_loop.mp3"}
        assert client.get("/api/tracks/99999/similar").status_code == 404
        r = client.get(f"/api/tracks/{ids['bensound-dubstep.mp3']}/radio", params={"limit": 3})
        assert r.status_code == 200 and [t["id"] for t in r.json()["tracks"]][0] == ids["bensound-dubstep.mp3"]
        m3u = client.get(f"/api/tracks/{ids['bensound-dubstep.mp3']}/radio.m3u8", params={"n": 3})
        assert m3u.status_code == 200 and m3u.text.startswith("#EXTM3U")
        urls = [x for x in m3u.text.splitlines() if not x.startswith("#")]
        assert len(urls) == 3 and all(u.startswith("/api/tracks/") and u.endswith("/audio") for u in urls)


def test_the_page_shows_more_like_a_track_and_its_radio(library, tmp_path):
    """In real headless Chromium: "more like this" on a track lists the tracks that sound most alike, and the
    radio link gives an M3U of the library's audio."""
    import httpx

    from conftest import Server
    from test_web_page import CHROMIUM, _offline_page

    if not shutil.which(CHROMIUM) and not __import__("os").path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    srv = Server(model="default", library=library)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page, foreign = _offline_page(browser, srv.url)
            page.goto(srv.url + "/")
            row = page.locator("#track-list li", has_text="essentia dubstep")
            row.wait_for()
            row.locator("button.like").click()
            page.wait_for_selector("#similar-list li")
            names = page.locator("#similar-list li .name").all_inner_texts()
            assert len(names) == len(FILES) - 1
            assert set(names[:2]) == {"Same Artist – bensound-dubstep", "Same Artist – essentia_techno_loop"}, names
            assert "% alike" in page.inner_text("#similar-list li >> nth=0")
            assert "most alike" in page.inner_text("#similar-status")
            href = page.get_attribute("#radio-link", "href")
            m3u = httpx.get(srv.url + href, timeout=60)
            assert m3u.status_code == 200 and m3u.text.count("/audio") == len(FILES)
            assert "energy 0.9" in row.inner_text() or "energy 1.0" in row.inner_text()   # shown per track
            page.select_option("#energy", "calm")                  # the energy select filters the list
            page.locator("#track-list li", has_text="essentia dubstep").wait_for(state="detached")
            page.locator("#track-list li", has_text="piast solo-piano ballad").wait_for()
            assert not foreign
            browser.close()
    finally:
        srv.stop()


def test_moods_and_tempo_are_kept_and_filter_the_list(library):
    """Each track keeps its tempo, moods and energy; the API's list filters by mood and by energy."""
    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    with TestClient(create_app(Library.open(library, create=False), allowed_hosts=["testserver"])) as client:
        tracks = client.get("/api/tracks", params={"limit": 50}).json()["tracks"]
        assert all(t["bpm"] and t["bpm"] > 30 for t in tracks)
        heard = {m["name"] for t in tracks for m in t["moods"]}
        assert heard, "the tagger hears no mood in any of the eight recordings"
        mood = sorted(heard)[0]
        some = client.get("/api/tracks", params={"mood": mood}).json()["tracks"]
        assert some and all(mood in [m["name"] for m in t["moods"]] for t in some) and len(some) <= len(tracks)
        assert client.get("/api/tracks", params={"mood": "furious"}).status_code == 422
        energy = {t["name"]: t["energy"] for t in tracks}
        assert all(0 <= e <= 1 for e in energy.values())
        assert min(energy[n] for n in ("essentia_dubstep.wav", "essentia_techno_loop.mp3")) > 0.65 > max(
            energy[n] for n in ("piast_solo-piano_ballad.mp3",))          # the tagger hears a loop as lively
        lively = {t["name"] for t in client.get("/api/tracks", params={"energy": "lively"}).json()["tracks"]}
        calm = {t["name"] for t in client.get("/api/tracks", params={"energy": "calm"}).json()["tracks"]}
        assert lively == {n for n, e in energy.items() if e >= 0.65} and "essentia_techno_loop.mp3" in lively
        assert calm == {n for n, e in energy.items() if e < 0.35} and not calm & lively


def test_a_track_nobody_played_is_recommended_for_how_it_sounds(library, capsys):
    """A listener who likes classical by declaration but liked a dubstep track: the other electronic tracks,
    which nobody has played and whose genres she did not name, are recommended because they sound like it
    (and say so), after her declared genre's; without the audio part none is recommended for its sound, and
    the techno loop comes last if at all (only for the hip-hop and disco the head hears in the liked track)."""
    from genrefuse.cli import main
    from genrefuse.library.db import User
    from genrefuse.library.library import Library
    from genrefuse.library.recommend import recommend
    from genrefuse.library.similar import SimilarIndex

    ids = ids_by_name(library)
    args = ["--library", str(library)]
    assert main(["users", "add", "mo", "--likes", "classical", *args]) == 0
    assert main(["feedback", "mo", str(ids["bensound-dubstep.mp3"]), "like", *args]) == 0
    capsys.readouterr()
    assert main(["recommend", "mo", "--limit", "10", *args]) == 0
    out = capsys.readouterr().out
    # named as a person knows it: artist - title from its tags (the file name before)
    assert out.count("sounds like Same Artist - bensound-dubstep, which you liked") >= 2
    lib = Library.open(library, create=False)
    electronic = {ids["essentia_dubstep.wav"], ids["essentia_techno_loop.mp3"]}
    with lib.Session() as s:
        mo = s.query(User).filter_by(name="mo").one()
        heard = [r for r in recommend(s, mo, limit=10, audio=SimilarIndex())]
        deaf_rows = recommend(s, mo, limit=10, audio=SimilarIndex(), audio_share=0)
    deaf = [r["track"]["id"] for r in deaf_rows]
    by_sound = [r["track"]["id"] for r in heard if r["sounds_like"]]
    loop = ids["essentia_techno_loop.mp3"]
    assert electronic <= set(by_sound) and not any(r["sounds_like"] for r in deaf_rows), (heard, deaf)
    assert loop not in deaf or deaf.index(loop) == len(deaf) - 1, deaf
    assert all(r["sounds_like"]["name"] == "Same Artist - bensound-dubstep" for r in heard if r["sounds_like"])


def test_the_service_s_index_takes_embeddings_made_elsewhere(library):
    """A server's kept index sees tracks without embeddings as pending, and takes their embeddings once they
    are made by another process (`genrefuse similar` beside it), without a restart."""
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library
    from genrefuse.library.similar import SimilarIndex, fill_embeddings

    lib = Library.open(library, create=False)
    with lib.Session() as s:
        t = s.query(Track).filter_by(original_name="uriopass_jazz.mp3").one()
        t.embedding = None
        s.commit()
        tid = t.id
    index = SimilarIndex()
    with lib.Session() as s:
        index.refresh(s)
    assert index.pending == {tid} and index.vector(tid) is None and len(index) == len(FILES) - 1
    fill_embeddings(lib, [tid])                          # as another process would
    index.RECHECK_SECONDS = 0.0
    with lib.Session() as s:
        index.refresh(s)
    assert not index.pending and index.vector(tid) is not None and len(index) == len(FILES)
    assert list(index.ids) == sorted(index.ids)


def test_readers_see_a_consistent_index_while_tracks_come_and_go():
    """A service's index is read by requests while others add and remove tracks: each reader sees ids,
    vectors and artists that belong together (a nearest track's similarity is that of its own vector), never a
    half-made change."""
    from conftest import race
    from genrefuse.library.similar import SimilarIndex
    from genrefuse.preprocess.embedding import RECIPE

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 100)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    index = SimilarIndex.of(np.arange(1, 1001), X[:1000])

    class Row:
        def __init__(self, i):
            self.id, self.artist, self.audio_hash = i, f"artist {i}", None
            self.embedding = {"recipe": RECIPE, "vector": X[i - 1].tolist()}

    def write():
        for i in range(1001, 3001):
            index.update(Row(i))
            index.remove(i - 1000)

    def check():
        rows = index.rows
        assert len(rows.ids) == len(rows.vectors) == len(rows.artists)
        q = X[int(rng.integers(0, 3000))]
        for i, s in index.nearest(q, n=3):
            assert abs(s - float(X[i - 1] @ q)) < 1e-5, (i, s)

    assert race(write, check) == []
    assert list(index.rows.ids) == list(range(2001, 3001))
