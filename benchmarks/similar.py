"""Similar tracks: how often a track's nearest tracks share its genre, for candidate audio embeddings, against
a random pick and a genre-only pick, on GTZAN's published taggrams and on real recordings (real-dev).

- **GTZAN** (``../shared/data/musicnn``): the 443 fault-filtered training tracks' published MSD taggrams (the
  only tagger published for them): each track's 10 nearest by cosine similarity of its mean MSD tags, leave
  one out; the share of them of its own genre. Random: the share of its genre among the others.
- **real-dev** (36 recordings, folder = genre, the electronic subgenres read as electronic): every candidate
  computed through genrefuse's own path (the two musicnn taggers on the same 3 s patches), each recording
  with a genre partner queried for its 3 nearest (and the nearest alone). Genre-only: tracks picked at random
  among those the packaged model gives the same answer (what "recommend by genre" would do).

    python benchmarks/similar.py [--json out.json]

A few recordings per genre give a wide spread; the JSON keeps every query's neighbours.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402
from real_world import SHARED, folder_genre  # noqa: E402



def unit(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, np.float64)
    return E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)


def neighbours(E: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` nearest other rows by cosine similarity ``(n, k)``."""
    S = unit(E) @ unit(E).T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def agreement(E: np.ndarray, y: np.ndarray, k: int, queries: np.ndarray) -> float:
    nn = neighbours(E, k)
    return float((y[nn] == y[:, None])[queries].mean())


def random_agreement(y: np.ndarray, queries: np.ndarray) -> float:
    return float(np.mean([((y == y[i]).sum() - 1) / (len(y) - 1) for i in np.flatnonzero(queries)]))


def genre_only_agreement(y: np.ndarray, answers: np.ndarray, queries: np.ndarray) -> float:
    """A pick at random among the other tracks the model gives the same answer (all others when none)."""
    out = []
    for i in np.flatnonzero(queries):
        pool = [j for j in range(len(y)) if j != i and answers[j] == answers[i]] or [j for j in range(len(y)) if j != i]
        out.append(np.mean(y[pool] == y[i]))
    return float(np.mean(out))


def gtzan(shared: Path, k: int = 10) -> dict:
    z = np.load(shared / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    tracks = sorted(set(ids))
    means = np.stack([z["X"][ids == t].mean(axis=0) for t in tracks])
    y = np.array([t.split("/")[0] for t in tracks])
    q = np.ones(len(y), bool)
    return {"tracks": len(y), "k": k, "random": round(random_agreement(y, q), 3),
            "MSD tags": round(agreement(means, y, k, q), 3)}


def real_dev(folder: Path) -> dict:
    from genrefuse import load_model
    from genrefuse.audio import iter_audio_files
    from genrefuse.features import musicnn_input as mi
    from genrefuse.pretrained.tagger import load_tagger
    from genrefuse.pretrained.weights import MTT
    from genrefuse.preprocess.embedding import embedding

    model = load_model()
    msd_tagger, mtt_tagger = load_tagger(), load_tagger(model=MTT)
    rows, cands = [], {"MSD tags": [], "MTT tags": [], "MSD penultimate": [], "MTT penultimate": [],
                       "genrefuse (MSD + MTT tags)": []}
    for path in sorted(iter_audio_files([folder])):
        rel = path.relative_to(folder)
        inputs = model.preprocess(path)
        pred = model.postprocess(model.forward(inputs), path=str(path), inputs=inputs)
        from genrefuse.audio import load_native

        y, sr = load_native(path)
        P = mi.tagger_patches(y, sr, hop_seconds=model.bundle.window_policy.patch_hop_seconds)
        t1, p1 = msd_tagger.taggram(P)
        t2, p2 = mtt_tagger.taggram(P)
        for name, v in (("MSD tags", t1.mean(0)), ("MTT tags", t2.mean(0)), ("MSD penultimate", p1.mean(0)),
                        ("MTT penultimate", p2.mean(0)), ("genrefuse (MSD + MTT tags)", embedding(inputs))):
            cands[name].append(v)
        rows.append({"file": rel.as_posix(), "genre": folder_genre(rel.parts[0]), "answer": pred.answer})
    y = np.array([r["genre"] for r in rows])
    answers = np.array([r["answer"] for r in rows])
    q = np.array([(y == g).sum() > 1 for g in y])
    out = {"recordings": len(y), "queries": int(q.sum()),
           "random": {"k3": round(random_agreement(y, q), 3), "k1": round(random_agreement(y, q), 3)},
           "genre only": {"k3": round(genre_only_agreement(y, answers, q), 3),
                          "k1": round(genre_only_agreement(y, answers, q), 3)}}
    for name, vs in cands.items():
        E = np.stack(vs)
        out[name] = {"k3": round(agreement(E, y, 3, q), 3), "k1": round(agreement(E, y, 1, q), 3)}
    chosen = np.stack(cands["genrefuse (MSD + MTT tags)"])
    nn = neighbours(chosen, 3)
    out["rows"] = [{**r, "nearest": [rows[j]["file"] for j in nn[i]]} for i, r in enumerate(rows)]
    return out


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shared", type=Path, default=SHARED)


def measure(a: argparse.Namespace) -> Report:
    result, tables, lines = {}, [], []
    if (a.shared / "musicnn").is_dir():
        result["gtzan"] = g = gtzan(a.shared)
        lines.append(f"GTZAN, {g['tracks']} fault-filtered training tracks, the {g['k']} nearest (published MSD "
                     f"taggrams): same genre {g['MSD tags']:.0%} (random {g['random']:.0%})")
    if (a.shared / "real-dev").is_dir():
        result["real_dev"] = r = real_dev(a.shared / "real-dev")
        tables.append(Table(["pick", "3 nearest", "nearest"],
                            [[name, f"{v['k3']:.0%}", f"{v['k1']:.0%}"] for name, v in r.items()
                             if isinstance(v, dict) and "k3" in v],
                            f"real-dev, {r['queries']} of {r['recordings']} recordings with a genre partner: share of "
                            "the nearest of the same genre"))
    if not result:
        print(f"no shared data under {a.shared} (see shared/data/README.md)", file=sys.stderr)
        raise SystemExit(2)
    return Report(result, tables, lines)


if __name__ == "__main__":
    run(measure, doc=__doc__.splitlines()[0], arguments=arguments)
