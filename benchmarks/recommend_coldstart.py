"""Cold start: the hybrid against genre alone and against listeners alone, with simulated listeners.

A library of real and synthetic tracks goes into a real SQLite library database:
- real: the 1000 GTZAN tracks of features_30_sec.csv, their genre probabilities predicted out of fold
  (5-fold logistic regression on the 57 features: imperfect, as a model's are);
- synthetic: as many again, each with a true genre and probabilities drawn around it.
Every track also has a hidden style (one of 5 per genre; think of an artist group) that no model sees.

Each simulated listener declares 1 or 2 genres (as `users add --likes` does) and, unknown to the
system, prefers 2 styles within each: they like a track of a preferred style with probability 0.5,
another track of their genres with 0.05 and anything else with 0.005. 20% of the tracks are new: no
one has heard them yet. The listeners' likes of the other tracks are stored as feedback rows (their
genre weights stay those they declared), 20% of each listener's likes held out; the collaborative
model is refitted through the real refit function; the real `recommend` ranks.

- established listeners, old tracks: the held-out likes among the old tracks;
- new tracks: each listener's would-be likes among the new tracks, ranking only those.

Reported: precision@10 and NDCG@10 of the hybrid, genre alone (collab_share 0) and listeners alone
(collab_share 1). Aims (the recommendation issue): on new tracks the hybrid beats listeners alone; on
established listeners it beats genre alone.

    python benchmarks/recommend_coldstart.py --table features_30_sec.csv --json out/bench/coldstart.json
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

STYLES = 5


def real_tracks(table: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genrefuse.datasets.table_csv import read_feature_table
    from genrefuse.genres import genre_order

    t = read_feature_table(table)
    genres = genre_order(t.labels)
    y = np.array([genres.index(g) for g in t.labels])
    proba = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1)), t.X, y,
                              cv=5, method="predict_proba")
    return genres, y, proba, [f"{n}" for n in t.filenames]


def synthetic_tracks(n: int, n_genres: int, rng):
    y = rng.integers(0, n_genres, n)
    alpha = np.full((n, n_genres), 0.3)
    alpha[np.arange(n), y] = 3.0
    return y, np.array([rng.dirichlet(a) for a in alpha])


def ranking(recs: list[dict], allowed: set[int], k: int = 10) -> list[int]:
    return [r["track"]["id"] for r in recs if r["track"]["id"] in allowed][:k]


def metrics(picks: list[int], truth: set[int], k: int = 10) -> tuple[float, float]:
    hits = np.array([p in truth for p in picks[:k]], float)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = disc[:min(k, len(truth))].sum()
    return hits.sum() / k, (hits * disc[:len(hits)]).sum() / ideal if ideal else 0.0


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--table", required=True, help="features_30_sec.csv (the real tracks)")
    ap.add_argument("--listeners", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)


def measure(a: argparse.Namespace) -> Report:

    from genrefuse.library.db import Feedback, Track, User, UserGenre, make_engine, session_factory
    from genrefuse.library.recommend import recommend, refit_collaborative

    start = time.time()
    rng = np.random.default_rng(a.seed)
    genres, y_real, p_real, names = real_tracks(a.table, a.seed)
    y_syn, p_syn = synthetic_tracks(len(y_real), len(genres), rng)
    y = np.concatenate([y_real, y_syn])
    proba = np.vstack([p_real, p_syn])
    n = len(y)
    style = rng.integers(0, STYLES, n)
    new = rng.random(n) < 0.2
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/library.sqlite")
        Session = session_factory(engine)
        with Session() as s:
            for i in range(n):
                s.add(Track(id=i + 1, content_hash=f"{i:064x}", original_name=names[i] if i < len(names) else f"synth{i}.wav",
                            stored_path=f"{genres[y[i]]}/{i}.wav", duration=30.0, genre=genres[y[i]],
                            probabilities={g: float(p) for g, p in zip(genres, proba[i])}, model_id="bench"))
            s.commit()
            users, truth_old, truth_new = [], {}, {}
            for u in range(a.listeners):
                liked_genres = rng.choice(len(genres), rng.integers(1, 3), replace=False)
                styles = {g: set(rng.choice(STYLES, 2, replace=False)) for g in liked_genres}
                p_like = np.where(np.isin(y, liked_genres), 0.05, 0.005)
                for g, st in styles.items():
                    p_like[(y == g) & np.isin(style, list(st))] = 0.5
                likes = np.flatnonzero(rng.random(n) < p_like) + 1
                user = User(name=f"listener{u}", token_hash=f"{u:064x}",
                            genres=[UserGenre(genre=genres[g], weight=1.0) for g in liked_genres])
                s.add(user)
                s.flush()
                old_likes = [t for t in likes if not new[t - 1]]
                rng.shuffle(old_likes)
                cut = int(round(0.8 * len(old_likes)))
                for t in old_likes[:cut]:
                    s.add(Feedback(user_id=user.id, track_id=int(t), action="like"))
                truth_old[user.id] = set(int(t) for t in old_likes[cut:])
                truth_new[user.id] = set(int(t) for t in likes if new[t - 1])
                users.append(user.id)
            s.commit()
            cf, message = refit_collaborative(s, tmp)
            print(message)
            old_ids = set(int(i) + 1 for i in np.flatnonzero(~new))
            new_ids = set(int(i) + 1 for i in np.flatnonzero(new))
            modes = {"hybrid": None, "genre alone": 0.0, "listeners alone": 1.0}
            res = {m: {"old": [], "new": []} for m in modes}
            for uid in users:
                user = s.get(User, uid)
                for mode, share in modes.items():
                    recs = recommend(s, user, limit=n, cf=cf, collab_share=share)
                    if truth_old[uid]:
                        res[mode]["old"].append(metrics(ranking(recs, old_ids), truth_old[uid]))
                    if truth_new[uid]:
                        res[mode]["new"].append(metrics(ranking(recs, new_ids), truth_new[uid]))
    out = {m: {f"{part}_{name}": float(np.mean([x[j] for x in v[part]])) for part in ("old", "new")
               for j, name in enumerate(("precision_at_10", "ndcg_at_10"))} for m, v in res.items()}
    table = Table(["", "established listeners, old tracks: P@10 / NDCG@10", "new tracks: P@10 / NDCG@10"],
                  [[m, f"{r['old_precision_at_10']:.3f} / {r['old_ndcg_at_10']:.3f}",
                    f"{r['new_precision_at_10']:.3f} / {r['new_ndcg_at_10']:.3f}"] for m, r in out.items()])
    return Report({"benchmark": "cold start, simulated listeners", "tracks": n, "new_tracks": int(new.sum()),
                   "listeners": a.listeners, "seed": a.seed, "methods": out}, [table],
                  [f"{n} tracks ({int(new.sum())} new), {a.listeners} listeners, {time.time() - start:.0f} s"])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
