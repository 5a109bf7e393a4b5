"""The similar-track index's approximate graph (voyager): built once the index is large enough, it gives the
exact answer's tracks on clustered embeddings, ranks them by their exact cosine, and follows tracks added,
replaced and removed, also while it is being built."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("voyager", reason="the library extra brings voyager")


def embeddings(n: int, *, seed: int) -> np.ndarray:
    """``(n, 100)`` unit vectors in 30 clusters (neighbours clustered, as real tracks' are)."""
    rng = np.random.default_rng(seed)
    profiles = rng.gamma(0.3, 1.0, (30, 100))
    x = (profiles[rng.integers(0, 30, n)] + rng.gamma(0.3, 0.3, (n, 100))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class _Row:
    """A track as the index reads it."""

    def __init__(self, id, v):
        from genrefuse.preprocess.embedding import RECIPE

        self.id, self.artist, self.audio_hash = id, None, None
        self.embedding = {"recipe": RECIPE, "vector": [float(x) for x in v]}


def _exact(index, q, n, exclude=()):
    from genrefuse.library.similar import SimilarIndex

    plain = SimilarIndex.of(index.rows.ids, index.rows.vectors)
    return plain.nearest(q, n=n, exclude=exclude)


def test_the_graph_answers_like_the_exact_scan_and_follows_changes():
    from genrefuse.library.similar import SimilarIndex

    X = embeddings(3000, seed=3)
    index = SimilarIndex.of(np.arange(1, 3001), X, approximate=True, approximate_from=1000)
    assert index.graph is None
    index.build_graph(threads=1)
    assert index.graph is not None and len(index.graph) == 3000
    rng = np.random.default_rng(0)
    hits = 0
    for q in X[rng.choice(3000, 50, replace=False)]:
        got, want = index.nearest(q, n=10, exclude=[7]), _exact(index, q, 10, exclude=[7])
        assert 7 not in [i for i, _ in got] and len(got) == 10
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)      # exact cosines, best first
        hits += len({i for i, _ in got} & {i for i, _ in want})
    assert hits / 500 >= 0.9
    q = X[41]
    assert index.nearest(q, n=1)[0][0] == 42                  # a track is its own nearest
    index.remove(42)
    assert 42 not in [i for i, _ in index.nearest(q, n=10)] and 42 not in index.graph.live

    index.update(_Row(5000, X[41]))                            # a new track where 42 was
    assert index.nearest(q, n=1)[0][0] == 5000 and 5000 in index.graph.live
    index.update(_Row(1, X[2999]))                             # track 1 sounds like track 3000 now
    assert {i for i, _ in index.nearest(X[2999], n=2)} == {1, 3000}


def test_changes_while_the_graph_is_built_are_not_lost():
    from genrefuse.library import approximate
    from genrefuse.library.similar import SimilarIndex

    X = embeddings(1200, seed=4)
    index = SimilarIndex.of(np.arange(1, 1201), X, approximate=True, approximate_from=1000)
    ids, vectors = index.snapshot()
    index.remove(10)                                           # a track goes while the graph is built ...
    index.update(_Row(3000, X[99]))                            # ... and one comes
    graph = approximate.Approximate(ids, vectors, threads=1)   # what build_graph builds from its snapshot
    assert 10 in graph.live and 3000 not in graph.live
    index.catch_up(graph)
    assert index.graph is graph and 10 not in graph.live and 3000 in graph.live and len(graph) == 1200
    assert 10 not in [i for i, _ in index.nearest(X[9], n=5)]
    assert {i for i, _ in index.nearest(X[99], n=2)} == {100, 3000}
    index.remove(3000)                                         # from now on the graph follows at once
    assert 3000 not in graph.live


def test_the_graph_s_remembered_answers_follow_its_changes():
    """search_many (a listener's likes, asked on every request) remembers each vector's answer, and forgets it
    when a track is added or removed: never an answer the graph would not give now."""
    from genrefuse.library import approximate

    X = embeddings(1500, seed=5)
    graph = approximate.Approximate(np.arange(1, 1501), X, threads=1)
    q = X[[10, 20]]
    first = graph.search_many(q, 5)
    assert {11, 21} <= set(first) and len(graph._answers) == 2
    assert np.array_equal(graph.search_many(q, 5), first)     # remembered: the same answer
    graph.drop(11)
    assert 11 not in graph.search_many(q, 5) and len(graph._answers) == 2
    graph.put([9000], X[20:21])                                # a new track where 21 is
    assert 9000 in graph.search_many(q, 5)
    assert np.array_equal(np.unique(np.concatenate([graph.search_many(q[:1], 5), graph.search_many(q[1:], 5)])),
                          graph.search_many(q, 5))              # remembered per vector, asked alone or together


def test_a_small_index_never_builds_a_graph():
    from genrefuse.library.similar import SimilarIndex

    X = embeddings(500, seed=5)
    index = SimilarIndex.of(np.arange(1, 501), X, approximate=True, approximate_from=1000)
    index._maybe_build()
    assert index._builder is None and index.graph is None
    assert index.nearest(X[0], n=1)[0][0] == 1


def test_a_large_pending_set_is_rechecked_a_batch_at_a_time(tmp_path):
    """Tracks without embeddings are looked at again a batch at a time, in turn, so that a library of many
    unembedded tracks is never read whole per request; all of them join once embedded elsewhere."""
    from genrefuse.library.db import Track, make_engine, session_factory
    from genrefuse.library.similar import SimilarIndex, record

    Session = session_factory(make_engine(f"sqlite:///{tmp_path / 'lib.sqlite'}"))
    X = embeddings(7, seed=6)
    with Session() as s:
        for i in range(7):
            s.add(Track(content_hash=f"{i:064d}", original_name=f"t{i}", stored_path=f"rock/t{i}.wav", duration=30.0,
                        genre="rock", probabilities={"rock": 1.0}, model_id="m"))
        s.commit()
    index = SimilarIndex()
    index.RECHECK_SECONDS, index.RECHECK_BATCH, index.PAGE = 0.0, 3, 2      # pages of 2 rows, rechecks of 3
    with Session() as s:
        index.refresh(s)
        assert len(index) == 0 and index.pending == set(range(1, 8))
        for t in s.query(Track):
            t.embedding = record(X[t.id - 1])                                 # embedded by another process
        s.commit()
        sizes = [len(index.refresh(s)) for _ in range(3)]
    assert sizes == [3, 6, 7] and not index.pending
    assert index.nearest(X[4], n=1)[0][0] == 5


def test_a_service_works_out_its_latest_listeners_recommendations_ahead(tmp_path):
    """`recommend.warm` (what a service runs once its indexes are read): the latest listeners' sound is worked
    out as their requests would, so their first requests find their audio floor and the graph's answers for
    their likes remembered; their picks are the same as without it; a set stop event ends it."""
    import threading

    from genrefuse.library import recommend as rec
    from genrefuse.library.db import Feedback, Track, User, make_engine, session_factory
    from genrefuse.library.recommend import TrackIndex, recommend, warm
    from genrefuse.library.similar import SimilarIndex, record

    n = rec.FLOOR_SAMPLE + 500                       # large enough for the audio part to ask the graph
    X = embeddings(n, seed=8)
    rng = np.random.default_rng(8)
    Session = session_factory(make_engine(f"sqlite:///{tmp_path / 'lib.sqlite'}"))
    with Session() as s:
        conn = s.connection()
        conn.execute(Track.__table__.insert(), [
            {"id": i + 1, "content_hash": f"{i:064x}", "original_name": f"t{i}", "stored_path": f"rock/t{i}.wav",
             "duration": 30.0, "genre": "rock", "probabilities": {"rock": 0.6, "jazz": 0.4}, "model_id": "m",
             "confirmed": False, "embedding": record(X[i])} for i in range(n)])
        conn.execute(User.__table__.insert(), [{"id": u, "name": f"l{u}", "token_hash": f"{u:064x}"}
                                               for u in range(1, 7)])
        conn.execute(Feedback.__table__.insert(), [{"user_id": u, "track_id": int(t), "action": "like"}
                                                   for u in range(1, 7) for t in rng.choice(n, 5, replace=False) + 1])
        s.commit()
    with Session() as s:
        index, audio = TrackIndex(["rock", "jazz"]), SimilarIndex(approximate=True, approximate_from=0)
        audio.refresh(s)
        assert audio.wait_for_graph(timeout=120)
        assert warm(s, index=index, audio=audio, stop=threading.Event()) == 6     # every listener with feedback
        rec._FLOORS._values.clear()
        audio.graph._answers.clear()
        stop = threading.Event()
        stop.set()
        assert warm(s, index=index, audio=audio, stop=stop) == 0 and not audio.graph._answers
        assert warm(s, index=index, audio=audio, listeners=2) == 2          # the two who liked last: 6 and 5
        floors = len(rec._FLOORS._values)
        assert floors == 2 and len(audio.graph._answers) == 10              # their 5 likes each, asked once
        warmed = {u: recommend(s, s.get(User, u), index=index, audio=audio) for u in (5, 6)}
        assert len(rec._FLOORS._values) == floors                           # found, not worked out again
        rec._FLOORS._values.clear()
        audio.graph._answers.clear()
        for u, picks in warmed.items():                                     # the same picks, worked out cold
            assert picks == recommend(s, s.get(User, u), index=index, audio=audio)
        assert any(p["sounds_like"] is not None for p in warmed[6])
