"""Recommendation quality on real listening data: HetRec 2011 Last.fm 2K.

The usual protocol: 20% of each user's artists held out (seeded), 10 unseen artists recommended per
user, precision@10, recall@10 and NDCG@10 against the held-out ones; scores on log(1 + plays).

- popular: the artists most users played;
- item_knn: cosine item-item neighbours;
- als: implicit's ALS, untuned (64 factors, its defaults);
- genrefuse: the collaborative part of genrefuse's recommender (genrefuse.collab: ALS blended with
  item neighbours), its settings chosen on a validation split carved from the training part (20% of
  each user's remaining artists), then refitted on the whole training part. HetRec has no genres, so
  the genre half of the hybrid has nothing to add here; the cold-start benchmark measures it.

    python benchmarks/recommend.py --data ../shared/data/hetrec-lastfm-2k --seed 0 --json out/bench/recommend.json
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

GRID = {"factors": (32, 64), "alpha": (1.0, 2.0), "knn_weight": (0.5, 1.0)}


def popular(train):
    counts = np.asarray((train > 0).sum(axis=0)).ravel().astype(np.float64)
    return lambda u: counts


def item_knn(train):
    from genrefuse.collab import item_similarity

    sim = item_similarity(train, neighbours=train.shape[1])
    return lambda u: np.asarray((train[u] @ sim).todense()).ravel()


def als_untuned(train, seed):
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=64, random_state=seed, calculate_training_loss=False)
    model.fit(train, show_progress=False)
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda u: V @ U[u]


def genrefuse_cf(train, params):
    from genrefuse import collab

    model = collab.fit(train, user_keys=list(range(train.shape[0])), item_keys=list(range(train.shape[1])),
                       params=params)

    def score(u):
        a, b = train.indptr[u], train.indptr[u + 1]
        return model.scores(train.indices[a:b], train.data[a:b], user_key=u)
    return score


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--data", required=True, help="the hetrec-lastfm-2k folder")
    ap.add_argument("--seed", type=int, default=0, help="seed of the held-out split and the models (default 0)")


def measure(a: argparse.Namespace) -> Report:

    from genrefuse.collab import CFParams
    from genrefuse.datasets.hetrec import hold_out, load_plays
    from genrefuse.ranking import evaluate

    start = time.time()
    plays = load_plays(a.data)
    test = hold_out(plays.users, seed=a.seed)
    train = plays.matrix(~test)
    truth = plays.matrix(test)
    # validation, carved from the training part only: the test part never chooses anything
    valid = hold_out(plays.users, seed=a.seed + 1000, within=~test)
    fit_part, valid_truth = plays.matrix(~test & ~valid), plays.matrix(valid)
    tried = []
    base = CFParams(seed=a.seed)
    for values in itertools.product(*GRID.values()):
        params = replace(base, **dict(zip(GRID, values)))
        m = evaluate(genrefuse_cf(fit_part, params), fit_part, valid_truth)
        tried.append({**dict(zip(GRID, values)), "valid_precision_at_10": m["precision_at_10"]})
        print(f"validation {dict(zip(GRID, values))}: precision@10 {m['precision_at_10']:.4f}", flush=True)
    best = max(tried, key=lambda t: t["valid_precision_at_10"])
    chosen = replace(base, **{k: best[k] for k in GRID})

    methods = {"popular": popular(train), "item_knn": item_knn(train), "als": als_untuned(train, a.seed),
               "genrefuse": genrefuse_cf(train, chosen)}
    results = {name: evaluate(fn, train, truth) for name, fn in methods.items()}
    table = Table(["method", "precision@10", "recall@10", "NDCG@10"],
                  [[n, f"{r['precision_at_10']:.3f}", f"{r['recall_at_10']:.3f}", f"{r['ndcg_at_10']:.3f}"]
                   for n, r in results.items()])
    return Report({"benchmark": "HetRec 2011 Last.fm 2K, 20% of each user's artists held out", "seed": a.seed,
                   "methods": results, "chosen": {k: best[k] for k in GRID}, "validation": tried}, [table],
                  [f"genrefuse settings chosen on validation: {({k: best[k] for k in GRID})}; "
                   f"{results['popular']['users']} users, seed {a.seed}, {time.time() - start:.0f} s"])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
