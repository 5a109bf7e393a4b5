"""Recommendations that hear: new uploads nobody has played, recommended by genre alone (today's cold start)
against genre and sound (the audio part of ``library.recommend``), with simulated listeners.

The library is GTZAN's 443 fault-filtered training tracks, in a real SQLite library database:
- each track's genre probabilities are predicted out of fold (5-fold logistic regression on its published
  musicnn taggram summary: imperfect, as a model's are on new music);
- its embedding is ``preprocess.embedding.embed`` of its published MSD tag means (MTT taggrams of GTZAN are
  not published, so the MSD half stands for both: the cosine is the MSD tags');
- 20% of the tracks are new uploads: nobody has heard them.

Each simulated listener likes one or two genres (declared, as `users add --likes` does) and, unknown to the
system, likes a track of those genres with probability 0.3 and any other with 0.01. Her likes of the old
tracks are stored as feedback; her would-be likes among the new tracks are the truth. The real `recommend`
ranks the new tracks for her: by genre alone (``audio_share`` 0: today's cold start), with the audio part
at several shares (the default ``AUDIO_SHARE`` among them) and by sound alone (share 1). Reported:
precision@10 and NDCG@10 over the new tracks, mean and spread over seeds.

A second scenario is the one real collections meet (issue 31): listeners of a genre the model does not
know. Each of the ten genres in turn is left out of the model (its probabilities come from a model fitted
without it); its listeners declare no genre, and their likes move their genre weights as the page's like
button does. Genre alone can only reach new tracks of that genre through the genres they are confused with.

    python benchmarks/recommend_audio.py [--seeds 0 1 2] [--listeners 300] [--json out.json]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def tracks(shared: Path):
    """GTZAN's FF training tracks: names, true genre index, out-of-fold probabilities, MSD tag means."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    z = np.load(shared / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    names = sorted(set(ids))
    means = np.stack([z["X"][ids == t].mean(axis=0) for t in names])
    stds = np.stack([z["X"][ids == t].std(axis=0) for t in names])
    genres = sorted({t.split("/")[0] for t in names})
    y = np.array([genres.index(t.split("/")[0]) for t in names])
    proba = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1)),
                              np.hstack([means, stds]), y, cv=5, method="predict_proba")
    return names, genres, y, proba, means, np.hstack([means, stds])


def metrics(picks: list[int], truth: set[int], k: int = 10) -> tuple[float, float]:
    hits = np.array([p in truth for p in picks[:k]], float)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = disc[:min(k, len(truth))].sum()
    return hits.sum() / k, (hits * disc[:len(hits)]).sum() / ideal if ideal else 0.0


def without_genre(data, g: int):
    """The data as a model that never learnt genre ``g`` sees it: probabilities over the other genres (5-fold
    out of fold for their tracks; for ``g``'s tracks, a model fitted on all the others)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names, genres, y, _, means, X = data
    keep = y != g
    others = [x for i, x in enumerate(genres) if i != g]
    yk = np.array([others.index(genres[i]) for i in y[keep]])
    make = lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))  # noqa: E731
    proba = np.zeros((len(y), len(others)))
    proba[keep] = cross_val_predict(make(), X[keep], yk, cv=5, method="predict_proba")
    proba[~keep] = make().fit(X[keep], yk).predict_proba(X[~keep])
    return names, others, y, proba, means, X


def simulate(seed: int, listeners: int, data, *, unknown: int | None = None) -> dict[float, tuple[float, float]]:
    """One simulated library; ``unknown``: the listeners all like this genre, which the model does not know
    (they declare no genre; their likes move their weights, as the page's like button does)."""
    from genrefuse.library.db import Feedback, Track, User, UserGenre, make_engine, session_factory
    from genrefuse.library.recommend import give_feedback, recommend
    from genrefuse.library.similar import SimilarIndex, record
    from genrefuse.preprocess.embedding import embed

    names, genres, y, proba, means, _ = data
    rng = np.random.default_rng(seed)
    n = len(y)
    new = rng.random(n) < 0.2
    with tempfile.TemporaryDirectory() as tmp:
        Session = session_factory(make_engine(f"sqlite:///{tmp}/library.sqlite"))
        with Session() as s:
            for i in range(n):
                s.add(Track(id=i + 1, content_hash=f"{i:064x}", original_name=names[i].split("/")[-1],
                            stored_path=f"{i}.wav", duration=30.0, genre=genres[int(np.argmax(proba[i]))],
                            probabilities={g: float(p) for g, p in zip(genres, proba[i])}, model_id="bench",
                            embedding=record(embed(means[i], means[i])), audio_hash=f"{i:064x}"))
            s.commit()
            truth = {}
            for u in range(listeners):
                if unknown is None:
                    liked_genres = rng.choice(len(genres), rng.integers(1, 3), replace=False)
                    likes = np.flatnonzero(rng.random(n) < np.where(np.isin(y, liked_genres), 0.3, 0.01)) + 1
                    declared = [UserGenre(genre=genres[g], weight=1.0) for g in liked_genres]
                else:
                    likes = np.flatnonzero(rng.random(n) < np.where(y == unknown, 0.3, 0.01)) + 1
                    declared = []
                user = User(name=f"listener{u}", token_hash=f"{seed}{u:063x}", genres=declared)
                s.add(user)
                s.flush()
                for t in likes:
                    if not new[t - 1]:
                        if unknown is None:
                            s.add(Feedback(user_id=user.id, track_id=int(t), action="like"))
                        else:
                            give_feedback(s, user, int(t), "like")
                truth[user.id] = {int(t) for t in likes if new[t - 1]}
            s.commit()
            new_ids = {int(i) + 1 for i in np.flatnonzero(new)}
            audio = SimilarIndex()
            out = {}
            for share in SHARES:
                scores = []
                for uid, wanted in truth.items():
                    if not wanted:
                        continue
                    recs = recommend(s, s.get(User, uid), limit=n, audio=audio, audio_share=share)
                    picks = [r["track"]["id"] for r in recs if r["track"]["id"] in new_ids]
                    scores.append(metrics(picks, wanted))
                out[share] = tuple(float(np.mean([x[j] for x in scores])) for j in (0, 1))
    return out


def arguments(ap) -> None:
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--listeners", type=int, default=300)


def measure(a) -> Report:
    if not (a.shared / "musicnn").is_dir():
        raise SystemExit(f"no published taggrams under {a.shared} (see shared/data/README.md)")
    from genrefuse.library.recommend import AUDIO_SHARE

    data = tracks(a.shared)

    def summarise(runs: list[dict]) -> dict:
        rows = {}
        for share in SHARES:
            p = np.array([r[share][0] for r in runs])
            g = np.array([r[share][1] for r in runs])
            name = "genre alone (today's cold start)" if share == 0 else "sound alone" if share == 1 else \
                f"genre and sound, audio share {share:g}" + (" (the default)" if share == AUDIO_SHARE else "")
            rows[name] = {"audio_share": share, "precision_at_10": round(float(p.mean()), 4),
                          "precision_sd": round(float(p.std()), 4), "ndcg_at_10": round(float(g.mean()), 4),
                          "ndcg_sd": round(float(g.std()), 4)}
        return rows

    known = summarise([simulate(seed, a.listeners, data) for seed in a.seeds])
    per_genre = max(10, a.listeners // len(data[1]))
    unknown = summarise([simulate(seed, per_genre, without_genre(data, g), unknown=g)
                         for seed in a.seeds for g in range(len(data[1]))])
    scenarios = {"listeners of genres the model knows (declared)": known,
                 "listeners of a genre the model does not know (each of the ten in turn, left out of the model)": unknown}
    tables = [Table(["ranking", "P@10 (mean +- sd over the runs)", "NDCG@10 (mean +- sd)"],
                    [[k, f"{v['precision_at_10']:.3f} +- {v['precision_sd']:.3f}",
                      f"{v['ndcg_at_10']:.3f} +- {v['ndcg_sd']:.3f}"] for k, v in rows.items()],
                    title=f"\n{title}: {len(data[0])} GTZAN tracks (20% new), seeds {a.seeds}; the new tracks, ranked")
              for title, rows in scenarios.items()]
    return Report({"tracks": len(data[0]), "listeners": a.listeners, "listeners_per_unknown_genre": per_genre,
                   "seeds": a.seeds, "known": known, "unknown": unknown}, tables)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
