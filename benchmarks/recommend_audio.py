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

    python benchmarks/recommend_audio.py [--seeds 0 1 2] [--listeners 300] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402

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
    return names, genres, y, proba, means


def metrics(picks: list[int], truth: set[int], k: int = 10) -> tuple[float, float]:
    hits = np.array([p in truth for p in picks[:k]], float)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = disc[:min(k, len(truth))].sum()
    return hits.sum() / k, (hits * disc[:len(hits)]).sum() / ideal if ideal else 0.0


def run(seed: int, listeners: int, data) -> dict[float, tuple[float, float]]:
    from genrefuse.library.db import Feedback, Track, User, UserGenre, make_engine, session_factory
    from genrefuse.library.recommend import recommend
    from genrefuse.library.similar import SimilarIndex, record
    from genrefuse.preprocess.embedding import embed

    names, genres, y, proba, means = data
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
                liked_genres = rng.choice(len(genres), rng.integers(1, 3), replace=False)
                likes = np.flatnonzero(rng.random(n) < np.where(np.isin(y, liked_genres), 0.3, 0.01)) + 1
                user = User(name=f"listener{u}", token_hash=f"{seed}{u:063x}",
                            genres=[UserGenre(genre=genres[g], weight=1.0) for g in liked_genres])
                s.add(user)
                s.flush()
                for t in likes:
                    if not new[t - 1]:
                        s.add(Feedback(user_id=user.id, track_id=int(t), action="like"))
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--listeners", type=int, default=300)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not (a.shared / "musicnn").is_dir():
        print(f"no published taggrams under {a.shared} (see shared/data/README.md)", file=sys.stderr)
        return 2
    from genrefuse.library.recommend import AUDIO_SHARE

    start = time.time()
    data = tracks(a.shared)
    runs = [run(seed, a.listeners, data) for seed in a.seeds]
    rows = {}
    for share in SHARES:
        p = np.array([r[share][0] for r in runs])
        g = np.array([r[share][1] for r in runs])
        name = "genre alone (today's cold start)" if share == 0 else "sound alone" if share == 1 else \
            f"genre and sound, audio share {share:g}" + (" (the default)" if share == AUDIO_SHARE else "")
        rows[name] = {"audio_share": share, "precision_at_10": round(float(p.mean()), 4),
                      "precision_sd": round(float(p.std()), 4), "ndcg_at_10": round(float(g.mean()), 4),
                      "ndcg_sd": round(float(g.std()), 4)}
    print(f"{len(data[0])} GTZAN tracks (20% new), {a.listeners} listeners, seeds {a.seeds}: the new tracks, ranked")
    print_table(["ranking", "P@10 (mean +- sd)", "NDCG@10 (mean +- sd)"],
                [[k, f"{v['precision_at_10']:.3f} +- {v['precision_sd']:.3f}", f"{v['ndcg_at_10']:.3f} +- {v['ndcg_sd']:.3f}"]
                 for k, v in rows.items()])
    if a.json:
        write_json(a.json, {"machine": machine(), "tracks": len(data[0]), "listeners": a.listeners, "seeds": a.seeds,
                            "rows": rows, "seconds": round(time.time() - start, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
