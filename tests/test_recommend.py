"""Recommendations that learn from listeners: collaborative filtering on real listening data (HetRec
2011 Last.fm 2K) beats most-popular; the hybrid falls back to genre with too little feedback, is stored
without pickle, and never offers a track the listener already rated."""
import json

import numpy as np
import pytest

from conftest import shared_path
from genrefuse import collab
from genrefuse.library.db import User
from genrefuse.library.recommend import give_feedback, recommend, refit_collaborative
from genrefuse.library.users import create_user

pytestmark = pytest.mark.xdist_group("library")


def test_collaborative_filtering_beats_most_popular_on_a_real_slice():
    folder = shared_path("hetrec-lastfm-2k")
    if not (folder / "user_artists.dat").is_file():
        pytest.skip(f"no HetRec data at {folder}")
    from genrefuse.datasets.hetrec import Plays, hold_out, load_plays
    from genrefuse.ranking import evaluate

    full = load_plays(folder)
    keep = full.users < 400                                   # the first 400 listeners: a small real slice
    plays = Plays(full.users[keep], full.items[keep], full.counts[keep], full.user_ids[:400], full.item_ids)
    test = hold_out(plays.users, seed=0)
    train, truth = plays.matrix(~test), plays.matrix(test)
    cf = collab.fit(train, user_keys=list(range(train.shape[0])), item_keys=list(range(train.shape[1])))
    popularity = np.asarray((train > 0).sum(axis=0)).ravel().astype(float)
    ours = evaluate(lambda u: cf.scores(train.indices[train.indptr[u]:train.indptr[u + 1]],
                                        train.data[train.indptr[u]:train.indptr[u + 1]], user_key=u), train, truth)
    popular = evaluate(lambda u: popularity, train, truth)
    assert ours["precision_at_10"] > popular["precision_at_10"] + 0.03, (ours, popular)
    assert ours["ndcg_at_10"] > popular["ndcg_at_10"]


def test_stored_without_pickle(tmp_path):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    m = sp.random(30, 40, density=0.2, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 1
    model = collab.fit(m, user_keys=list(range(100, 130)), item_keys=list(range(500, 540)),
                       params=collab.CFParams(factors=4, iterations=3))
    collab.save(model, tmp_path / "cf")
    assert sorted(p.name for p in (tmp_path / "cf").iterdir()) == ["cf.json", "cf.safetensors"]
    meta = json.loads((tmp_path / "cf" / "cf.json").read_text())
    assert meta["format"] == "genrefuse-cf" and meta["item_keys"][0] == 500
    again = collab.load(tmp_path / "cf")
    items, values = np.array([1, 5, 7]), np.ones(3, np.float32)
    np.testing.assert_array_equal(again.scores(items, values), model.scores(items, values))
    np.testing.assert_array_equal(again.similarity.toarray(), model.similarity.toarray())
    assert collab.load(tmp_path / "nothing") is None
    del rng


def test_hybrid_falls_back_to_genre_and_never_offers_rated_tracks(tmp_path, table_model, train_dir):
    from genrefuse.library.library import Library

    lib = Library.open(tmp_path / "lib", table_model)
    tracks = [lib.ingest(train_dir / g / f"{g}.0000{i}.wav").track for g in ("doom", "dub", "swing") for i in range(5)]
    with lib.Session() as s:
        users = [s.get(User, create_user(s, f"u{i}", ["doom"], lib.vocabulary)[0].id) for i in range(4)]
        model, why = refit_collaborative(s, lib.dir)
        assert model is None and "genre alone" in why and not (lib.dir / "cf").exists()
        recs = recommend(s, users[0])
        assert recs and all(r["liked_with"] is None for r in recs)
        assert all(r["genre_score"] > 0 for r in recs)            # nothing without a reason is offered
        # three listeners like the same four dub and four swing tracks; the fourth likes two of each
        together = [t.id for t in tracks[5:9] + tracks[10:14]]
        for u in users[:3]:
            for tid in together:
                give_feedback(s, u, tid, "like")
        mine = [together[0], together[1], together[4], together[5]]
        for tid in mine:
            give_feedback(s, users[3], tid, "like")
        give_feedback(s, users[3], tracks[0].id, "skip")
        model, why = refit_collaborative(s, lib.dir)
        assert model is not None and (lib.dir / "cf" / "cf.safetensors").is_file(), why
        # a light install without implicit: genre alone, said in the message; the stored model stays
        import importlib.util

        real = importlib.util.find_spec
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "implicit" else real(name, *a))
            none, light = refit_collaborative(s, lib.dir)
        assert none is None and "[recommend] extra" in light and (lib.dir / "cf" / "cf.safetensors").is_file()
        recs = recommend(s, users[3], limit=20, cf=model)
        rated = {*mine, tracks[0].id}
        assert rated.isdisjoint(r["track"]["id"] for r in recs)
        others = [r["track"]["id"] for r in recs if r["track"]["id"] not in {t.id for t in tracks[:5]}]
        # of the dub and swing tracks, those listeners like them liked come first, and say so
        liked_by_others = set(together) - set(mine)
        assert set(others[:4]) == liked_by_others, (others, liked_by_others)
        assert all(r["liked_with"]["id"] in mine for r in recs if r["track"]["id"] in liked_by_others)


def test_the_service_refits_in_the_background(tmp_path, table_model, train_dir):
    import time

    from fastapi.testclient import TestClient

    from genrefuse.library.library import Library
    from genrefuse.service.app import create_app

    lib = Library.open(tmp_path / "lib", table_model)
    ids = [lib.ingest(train_dir / g / f"{g}.0000{i}.wav").track.id for g in ("dub", "swing") for i in range(6)]
    with TestClient(create_app(lib, allowed_hosts=["testserver"], refit_minutes=0.01)) as c:
        tokens = [c.post("/api/users", json={"name": f"l{i}", "likes": ["dub"]}).json()["token"] for i in range(3)]
        for tok in tokens[:2]:
            for tid in ids[:5] + ids[6:11]:
                assert c.post("/api/me/feedback", json={"track_id": tid, "action": "like"},
                              headers={"Authorization": f"Bearer {tok}"}).status_code == 200
        for tid in ids[:3]:
            c.post("/api/me/feedback", json={"track_id": tid, "action": "like"},
                   headers={"Authorization": f"Bearer {tokens[2]}"})
        deadline = time.time() + 30
        while time.time() < deadline and not (lib.dir / "cf" / "cf.json").is_file():
            time.sleep(0.2)
        assert (lib.dir / "cf" / "cf.json").is_file()
        time.sleep(1.5)                                   # the next refit loads it into the running service
        recs = c.get("/api/me/recommendations", params={"limit": 20},
                     headers={"Authorization": f"Bearer {tokens[2]}"}).json()["recommendations"]
    assert any(r["liked_with"] for r in recs) and not {r["track"]["id"] for r in recs} & set(ids[:3])


def test_no_recommendation_below_the_floors_and_none_of_ones_own_uploads(tmp_path, table_model, train_dir):
    """A genre counts only as the track's own or at GENRE_FLOOR; nothing under MIN_SCORE is listed; what a
    listener uploaded is not recommended to her (unless asked); an unlike moves the weights back."""
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library
    from genrefuse.library.recommend import GENRE_FLOOR, MIN_SCORE, evidence, withdraw_feedback

    lib = Library.open(tmp_path / "lib", table_model)
    with lib.Session() as s:
        ana = create_user(s, "ana", ["doom", "dub"], lib.vocabulary)[0]
    for g in ("doom", "dub", "swing", "techno"):
        for i in range(3):
            lib.ingest(train_dir / g / f"{g}.0000{i}.wav", added_by=ana.id if (g, i) == ("doom", 0) else None)
    with lib.Session() as s:
        # a track whose probabilities give the listener's genres only crumbs: not a recommendation
        crumbs = s.get(Track, 7)
        crumbs.probabilities = {g: (0.001 if g in ("doom", "dub") else p) for g, p in crumbs.probabilities.items()}
        s.commit()
        ana = s.get(User, ana.id)
        recs = recommend(s, ana, limit=50)
        assert recs and all(r["score"] >= MIN_SCORE for r in recs)
        for r in recs:
            t = r["track"]
            ev = evidence(t["probabilities"], t["genre"])
            assert all(ev[b["genre"]] >= GENRE_FLOOR or b["genre"] == t["genre"] for b in r["because"])
            assert {b["genre"] for b in r["because"]} <= {"doom", "dub"}
        ids = {r["track"]["id"] for r in recs}
        assert 7 not in ids and 1 not in ids                      # the crumbs; her own upload
        assert 1 in {r["track"]["id"] for r in recommend(s, ana, limit=50, include_own=True)}
        before = dict(ana.weights())
        give_feedback(s, ana, 4, "like")
        assert ana.weights() != before
        after = withdraw_feedback(s, ana, 4)
        assert all(abs(after.get(g, 0) - w) < 1e-6 for g, w in before.items())
        assert 4 in {r["track"]["id"] for r in recommend(s, ana, limit=50)}     # offered again


def test_the_track_index_gives_readers_a_consistent_view_while_genres_are_added():
    """Corrections to new genres (a library's own) widen the recommendation index while requests read it: each
    view's evidence has a column per genre and a row per id, never a half-made change."""
    from types import SimpleNamespace

    from conftest import race
    from genrefuse.library.recommend import TrackIndex, Tracks

    index = TrackIndex(["rock", "jazz"])
    index.rows = Tracks(np.arange(1, 201, dtype=np.int64), np.full((200, 2), 0.5, np.float32), ("rock", "jazz"))

    def write():
        for k in range(300):
            index.update(SimpleNamespace(id=1 + k % 200, genre=f"genre {k}", probabilities={"rock": 1.0},
                                         confirmed=True))

    def check():
        view = index.rows
        assert view.probs.shape == (len(view.ids), len(view.genres))
        assert (view.probs @ np.ones(len(view.genres), np.float32)).shape == (len(view.ids),)

    assert race(write, check) == []
    view = index.rows
    assert len(view.genres) == 302 and view.probs[99, view.genres.index("genre 299")] == 1.0


def test_the_track_index_reads_a_page_at_a_time_and_keeps_each_track_s_evidence(tmp_path):
    """Pages smaller than the library, and a genre first seen on a later page: every track's evidence lands in
    its own row and column, as one read would put it."""
    from genrefuse.library.db import Track, make_engine, session_factory
    from genrefuse.library.recommend import TrackIndex

    Session = session_factory(make_engine(f"sqlite:///{tmp_path / 'lib.sqlite'}"))       # a real SQLite file
    with Session() as s:
        for i in range(7):
            genre = "rock" if i < 4 else "big band"                 # the new genre from the third page on
            s.add(Track(content_hash=f"{i:064d}", original_name=f"t{i}", stored_path=f"{genre}/t{i}.wav",
                        duration=30.0, genre=genre, probabilities={genre: 0.8, "jazz": 0.2}, model_id="m"))
        s.commit()
    whole, paged = TrackIndex(["jazz"]), TrackIndex(["jazz"])
    paged.PAGE = 2
    with Session() as s:
        whole.PAGE = 100
        whole.refresh(s)
        paged.refresh(s)
    assert paged.genres == whole.genres == ["jazz", "rock", "big band"]
    assert list(paged.ids) == list(whole.ids) and len(paged.ids) == 7
    assert np.array_equal(paged.probs, whole.probs)
    assert np.allclose(paged.probs[6], [0.2, 0.0, 0.8]) and np.allclose(paged.probs[0], [0.2, 0.8, 0.0])


def test_the_track_index_benchmark_reads_a_real_library_in_a_fresh_process(tmp_path):
    """benchmarks/track_index.py on a small library: every track read, the time and peak memory reported."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "ti.json"
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "track_index.py"), "--tracks", "12000", "--repeat",
                        "1", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())["results"]["this tree"]
    assert res["tracks_read"] == 12000 and res["seconds"] >= 0 and res["peak_rss_mb"] >= res["rss_before_mb"] > 0
    assert "| this tree |" in r.stdout


def test_a_large_library_s_picks_from_the_postings_are_those_of_scoring_every_track(tmp_path, monkeypatch):
    """Scoring only the top of the listener's genres (deeper until nothing left out could rank) gives exactly
    the picks of scoring every track, ties (rounded probabilities, confirmed tracks) included: for listeners with
    and without likes, before and after tracks are corrected, removed and added behind the postings' back."""
    from datetime import datetime

    from genrefuse.library import recommend as rec
    from genrefuse.library.db import Feedback, Track, UserGenre, make_engine, session_factory

    genres = ["blues", "jazz", "rock", "pop", "metal", "reggae"]
    rng = np.random.default_rng(3)
    url = f"sqlite:///{tmp_path / 'lib.sqlite'}"                             # a real SQLite file
    engine = make_engine(url)
    n, when = 6000, datetime(2026, 12, 7)
    p = np.round(rng.dirichlet(np.full(len(genres), 0.3), n), 2)           # coarse: many equal scores
    with engine.begin() as con:
        con.execute(Track.__table__.insert(), [
            {"id": i + 1, "content_hash": f"{i:064x}", "original_name": f"t{i}.mp3", "stored_path": f"x/t{i}.mp3",
             "duration": 180.0, "genre": genres[int(p[i].argmax())], "probabilities": dict(zip(genres, p[i].tolist())),
             "model_id": "m", "added_at": when, "confirmed": bool(i % 97 == 0)} for i in range(n)])
        con.execute(User.__table__.insert(), [{"id": u + 1, "name": f"l{u}", "token_hash": f"h{u}", "created_at": when}
                                              for u in range(12)])
        con.execute(UserGenre.__table__.insert(), [{"user_id": u + 1, "genre": g, "weight": float(1 + u % 3)}
                                                   for u in range(12) for g in rng.choice(genres, 1 + u % 3, replace=False)])
        con.execute(Feedback.__table__.insert(), [{"user_id": u + 1, "track_id": int(t), "action": "like", "created_at": when}
                                                  for u in range(8) for t in rng.choice(3000, 40, replace=False) + 1])
    Session = session_factory(engine)

    def picks(session, index, dense: bool, cf) -> list[list]:
        monkeypatch.setattr(rec, "DENSE_UP_TO", 10**9 if dense else 0)
        monkeypatch.setattr(rec, "CANDIDATE_DEPTH", 16)                     # several rounds deeper
        return [[(r["track"]["id"], r["score"]) for r in recommend(session, session.get(User, u), index=index, cf=cf,
                                                                   limit=12)] for u in range(1, 13)]

    with Session() as s:
        cf, _ = refit_collaborative(s, tmp_path)
        index = rec.TrackIndex(genres)
        assert picks(s, index, False, cf) == picks(s, index, True, cf)
        assert picks(s, index, False, None) == picks(s, index, True, None)
        first = picks(s, index, True, cf)
        assert all(len(p) == 12 for p in first)
        track = s.get(Track, first[0][5][0])          # a pick moved to the listener's own genre, confirmed
        track.genre, track.confirmed = genres[0], True
        index.update(track)
        index.remove(first[1][0][0])
        s.add(Track(content_hash="f" * 64, original_name="new.mp3", stored_path="x/new.mp3", duration=60.0,
                    genre="jazz", probabilities={"jazz": 0.99, "rock": 0.01}, model_id="m"))
        s.commit()
        assert rec.TrackIndex.REBUILD > 3 and index._postings is not None         # not rebuilt: scored besides
        after = picks(s, index, False, cf)
        assert after == picks(s, index, True, cf) and after != first


def test_what_a_request_remembers_keeps_no_replaced_view_alive():
    """A library's views are replaced whole on every change (a million tracks' rows each): the values computed
    from one are remembered while it is the view asked about, and never keep it alive after it is replaced."""
    import gc
    import weakref

    from genrefuse.library.recommend import Tracks, _Memo

    memo = _Memo(8)
    view = Tracks(np.arange(5), np.zeros((5, 2), np.float32), ("a", "b"))
    assert memo.get((view,), "k", lambda: 1) == 1
    assert memo.get((view,), "k", lambda: 2) == 1                  # the same view: remembered
    newer = Tracks(np.arange(6), np.zeros((6, 2), np.float32), ("a", "b"))
    assert memo.get((newer,), "k", lambda: 3) == 3                 # another view: computed again
    gone = weakref.ref(view)
    del view
    gc.collect()
    assert gone() is None
