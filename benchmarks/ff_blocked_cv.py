"""An estimate of fault-filtered (FF) test accuracy from the FF training tracks alone.

The FF test tracks' taggrams are held out, so the musicnn kinds can only be cross-validated on the 443
FF training tracks. Plain stratified CV there is optimistic: GTZAN repeats artists, and the FF split
keeps each artist on one side. GTZAN files of one artist mostly sit in runs of consecutive numbers, so
this script also cross-validates with whole blocks of 10 consecutive track numbers per genre held out
together (a proxy for artist groups), and reports both for table-only models, whose true FF test
accuracy is known, beside the musicnn kinds.

    python benchmarks/ff_blocked_cv.py --table features_30_sec.csv --embeddings ff_train_taggram.npz \
        --split-dir gtzan-splits/fault-filtered --json out/bench/ff_cv.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402


def blocked_folds(tracks: list[str], labels: list[str], *, k: int, block: int, seed: int) -> list[dict]:
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [f"{lab}/{int(t.rsplit('.', 1)[-1]) // block}" for t, lab in zip(tracks, labels)]
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    out = []
    rng = np.random.default_rng(seed)
    for train, test in cv.split(np.zeros(len(labels)), labels, groups):
        train = rng.permutation(train)
        n_valid = len(train) // 7                       # ~15% of all for validation, as the random split
        out.append({"train": np.sort(train[n_valid:]), "valid": np.sort(train[:n_valid]), "test": test})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", required=True)
    ap.add_argument("--embeddings", required=True)
    ap.add_argument("--split-dir", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--models", default="svm,mlp,musicnn,mlp+musicnn")
    ap.add_argument("--json")
    a = ap.parse_args()

    from genrefuse.features.params import DEFAULT_PARAMS
    from genrefuse.genres import genre_order
    from genrefuse.training.run import bundle_proba, fit_one, load_labelled, make_splits
    from genrefuse.training.trainer import TrainConfig

    data = load_labelled(a.table, with_mel=False, with_tags=True, embeddings=a.embeddings, progress=False)
    full = load_labelled(a.table, with_mel=False, progress=False)
    genres = genre_order(data.labels)
    y = np.array([genres.index(g) for g in data.labels])
    config = TrainConfig(epochs=a.epochs)
    protocols = {
        "stratified": make_splits(data, "kfold", folds=a.folds, seed=0),
        f"blocked-{a.block}": blocked_folds(data.tracks, data.labels, k=a.folds, block=a.block, seed=0),
    }
    results: dict = {}
    print(f"{'model':<14}" + "".join(f"{p:>16}" for p in protocols) + f"{'FF test':>10}")
    for kind in a.models.split(","):
        row = {}
        for name, splits in protocols.items():
            correct = 0
            for s in splits:
                bundle, _ = fit_one(kind, data, s, genres, config=config, params=DEFAULT_PARAMS, progress=False)
                t = s["test"]
                p = bundle_proba(bundle, data.table[t], None, None if data.tags is None else data.tags[t], device="cpu")
                correct += int((p.argmax(1) == y[t]).sum())
            row[name] = correct / len(data)
        if kind in ("svm", "mlp", "knn"):             # the true FF test figure, known for table-only models
            s = make_splits(full, "fault-filtered", split_dir=a.split_dir)[0]
            s = {"train": np.concatenate([s["train"], s["valid"]]) if kind != "mlp" else s["train"],
                 "valid": s["valid"] if kind == "mlp" else np.array([], int), "test": s["test"]}
            fy = np.array([genres.index(g) for g in full.labels])
            bundle, _ = fit_one(kind, full, s, genres, config=config, params=DEFAULT_PARAMS, progress=False)
            p = bundle_proba(bundle, full.table[s["test"]], None, device="cpu")
            row["ff_test"] = float(np.mean(p.argmax(1) == fy[s["test"]]))
        results[kind] = row
        print(f"{kind:<14}" + "".join(f"{row[p]:>16.3f}" for p in protocols) +
              (f"{row['ff_test']:>10.3f}" if "ff_test" in row else f"{'  held out':>10}"))
    write_json(a.json, {"tracks": len(data), "folds": a.folds, "block": a.block, "epochs": a.epochs,
                        "results": results})


if __name__ == "__main__":
    main()
