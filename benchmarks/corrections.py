"""What correcting a few tracks of an unseen artist group does to the accuracy on the rest of that group.

The situation of a user's own library: the model has never heard these artists; the user corrects (or
confirms) 5 tracks per genre and retrains (`genrefuse train LIBRARY --base ...`). Simulated on the 443
fault-filtered GTZAN training tracks with blocked folds (whole runs of 10 consecutive track numbers per
genre held out together, a proxy for artist groups; see ff_blocked_cv.py): for each held-out fold,

- base: the default model's recipe (logreg+musicnn, C = 0.1) trained on the other folds;
- corrected: the same recipe trained on the other folds plus 5 tracks per genre of the held-out fold;

both scored on the held-out fold's remaining tracks (the same tracks for both). Repeated over fold seeds
and choices of the corrected tracks; the mean gain and its spread over the repeats are reported.

    python benchmarks/corrections.py --table features_30_sec.csv --embeddings gtzan_ff_train_msd_musicnn_taggram.npz \
        --json out/bench/corrections.json
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402


def arguments(ap) -> None:
    ap.add_argument("--table", required=True, help="features_30_sec.csv")
    ap.add_argument("--embeddings", required=True, help="the published taggrams of the FF training tracks")
    ap.add_argument("--per-genre", type=int, default=5, help="tracks corrected per genre (default 5)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="fold seeds (default 3)")


def measure(a) -> Report:

    from genrefuse.datasets.labelled import load_labelled
    from genrefuse.datasets.splits import blocked_folds
    from genrefuse.features.params import DEFAULT_PARAMS
    from genrefuse.genres import genre_order
    from genrefuse.training.fit import fit_one
    from genrefuse.training.trainer import TrainConfig

    data = load_labelled(a.table, with_mel=False, with_tags=True, embeddings=a.embeddings, progress=False)
    genres = genre_order(data.labels)
    y = np.array([genres.index(g) for g in data.labels])
    config = TrainConfig()

    def accuracy(train_idx: np.ndarray, test_idx: np.ndarray) -> float:
        split = {"train": train_idx, "valid": np.array([], int), "test": test_idx}
        bundle, _ = fit_one("logreg+musicnn", data, split, genres, config=config, params=DEFAULT_PARAMS, progress=False)
        return float(np.mean(bundle.probabilities(data.subset(test_idx).inputs).argmax(1) == y[test_idx]))

    rows = []
    for seed in range(a.repeats):
        rng = np.random.default_rng(1000 + seed)
        for fold, s in enumerate(blocked_folds(data.labels, data.tracks, k=a.folds, block=a.block, seed=seed)):
            held = s["test"]
            others = np.setdiff1d(np.arange(len(data)), held)
            corrected = np.concatenate([rng.permutation(held[y[held] == g])[:a.per_genre] for g in range(len(genres))])
            rest = np.setdiff1d(held, corrected)
            base = accuracy(others, rest)
            fixed = accuracy(np.concatenate([others, corrected]), rest)
            rows.append({"seed": seed, "fold": fold, "corrected": int(len(corrected)), "scored": int(len(rest)),
                         "base": base, "corrected_accuracy": fixed})
    base = np.array([r["base"] for r in rows])
    fixed = np.array([r["corrected_accuracy"] for r in rows])
    # pooled over the folds of one seed (each fold's rest weighted by its size), then spread over seeds
    def pooled(key: str) -> np.ndarray:
        return np.array([sum(r[key] * r["scored"] for r in rows if r["seed"] == sd) /
                         sum(r["scored"] for r in rows if r["seed"] == sd) for sd in range(a.repeats)])

    pb, pf = pooled("base"), pooled("corrected_accuracy")
    result = {"tracks": len(data), "per_genre": a.per_genre, "folds": a.folds, "repeats": a.repeats,
              "base_accuracy": float(pb.mean()), "base_std": float(pb.std()),
              "corrected_accuracy": float(pf.mean()), "corrected_std": float(pf.std()),
              "gain": float((pf - pb).mean()), "gain_std": float((pf - pb).std()),
              "folds_improved": int((fixed > base).sum()), "folds_worse": int((fixed < base).sum()),
              "fold_results": rows}
    return Report(result, [Table(["", "accuracy on the rest of the unseen group"],
                                 [["base (other groups only)", f"{pb.mean():.3f} +- {pb.std():.3f}"],
                                  [f"+ {a.per_genre} corrected tracks per genre", f"{pf.mean():.3f} +- {pf.std():.3f}"],
                                  ["gain", f"{(pf - pb).mean():+.3f} +- {(pf - pb).std():.3f} "
                                           f"({result['folds_improved']} folds better, {result['folds_worse']} worse "
                                           f"of {len(rows)})"]])])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
