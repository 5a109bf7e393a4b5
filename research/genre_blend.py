"""Does blending the head's probabilities with the taggers' genre evidence name the right genre more often?

The packaged model uses the musicnn taggers' evidence (``models.evidence``) to judge its answers (dispute,
support, the tagger's own genres) but never to change which of GTZAN's genres it names. This benchmark
measures the obvious way to let it: a product of experts among the genres the taggers have a word for,

    p'(g) = M * p(g)^(1-w) * e(g)^w / sum_h p(h)^(1-w) * e(h)^w     (g, h among those genres; M their mass in p)

with ``e`` the evidence (floored at 0.001) and the other genres' probabilities left as they are; w = 0 is
today's model. Two measurements for each w, in one run:

- **GTZAN**: accuracy of the blended out-of-fold probabilities of the default model's blocked 5-fold
  cross-validation over the 443 fault-filtered training tracks (fold seeds 0, 1, 2; the packaged temperature),
  with the published MSD taggrams' evidence (no MTT taggram of GTZAN exists, so classical is left out of the
  blend here);
- **real-dev**: how many of its recordings of GTZAN's genres get the right genre (top-1, sure or not), with the
  packaged model's probabilities and both taggers' evidence (classical from MTT).

Nothing here is shipped unless it helps both; the figures go to the model card.

    python research/genre_blend.py [--json research/results/genre_blend.json]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent),                     # research/, then
                str(Path(__file__).resolve().parents[1] / "benchmarks")]      # the benchmarks' shared bits
from _harness import Report, Table, run  # noqa: E402
from real_world import SHARED, folder_genre, recordings  # noqa: E402

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)


def blend(p: np.ndarray, genres: list[str], heard: dict[str, float], w: float) -> np.ndarray:
    """``p`` ``(k,)`` blended with the evidence ``heard`` ({genre: score}) at weight ``w`` (see above)."""
    idx = [i for i, g in enumerate(genres) if g in heard]
    if not idx or w == 0:
        return p
    out = p.copy()
    s = np.array([p[i] ** (1 - w) * max(heard[genres[i]], 1e-3) ** w for i in idx])
    out[idx] = p[idx].sum() * s / max(s.sum(), 1e-12)
    return out


def gtzan(shared: Path) -> dict:
    from tagger_blend import EVIDENCE, evidence

    from genrefuse import load_model
    from genrefuse.models.calibration import apply_temperature
    from genrefuse.pretrained.weights import MSD_TAGS
    from genrefuse.training.default_model import GTZAN_KIND as KIND, cross_validate, ff_training_data, training_config

    data = ff_training_data(shared)
    model = load_model(None)
    genres = list(model.genres)
    accs, oof = cross_validate(data, KIND, config=training_config(shared))      # the packaged model's recipe
    z = np.load(shared / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    heard = {}
    for t in sorted(set(ids)):
        e = evidence(z["X"][ids == t].mean(axis=0), list(MSD_TAGS))
        heard[t.removesuffix(".au")] = {g: v for g, v in e.items() if g in genres and g in EVIDENCE}
    y = np.array([genres.index(g) for g in data.labels])
    out = {}
    for w in WEIGHTS:
        per_seed = []
        for k in range(oof.shape[0]):
            P = apply_temperature(oof[k], model.bundle.temperature)
            B = np.stack([blend(P[i], genres, heard[t], w) for i, t in enumerate(data.tracks)])
            per_seed.append(float(np.mean(B.argmax(1) == y)))
        out[str(w)] = {"mean": round(float(np.mean(per_seed)), 4), "sd": round(float(np.std(per_seed)), 4),
                       "per_seed": [round(a, 4) for a in per_seed]}
    return {"tracks": len(data), "accuracy": out}


def real_dev(folder: Path) -> dict:
    from genrefuse import load_model

    model = load_model(None)
    genres = list(model.genres)
    rows = []
    for path, rel in recordings([folder]):
        truth = folder_genre(rel.parts[0])
        if truth not in genres:
            continue
        pred = model.predict(path)
        p = np.array([pred.probabilities[g] for g in genres])
        rows.append((rel.as_posix(), truth, p, dict(pred.evidence)))
    out = {}
    for w in WEIGHTS:
        named = [genres[int(np.argmax(blend(p, genres, heard, w)))] for _, _, p, heard in rows]
        out[str(w)] = {"right": sum(n == t for n, (_, t, _, _) in zip(named, rows)),
                       "changed": [f"{f}: {genres[int(np.argmax(p))]} -> {n}" for n, (f, _, p, _) in zip(named, rows)
                                   if n != genres[int(np.argmax(p))]]}
    return {"recordings": len(rows), "right": out}


def arguments(ap) -> None:
    ap.add_argument("--shared", type=Path, default=SHARED)


def measure(a) -> Report:
    if not (a.shared / "musicnn").is_dir():
        raise SystemExit(f"no shared data at {a.shared} (see shared/data/README.md)")
    g = gtzan(a.shared)
    d = real_dev(a.shared / "real-dev") if (a.shared / "real-dev").is_dir() else None
    rows = [[f"{w:g}", f"{g['accuracy'][str(w)]['mean']:.3f} +- {g['accuracy'][str(w)]['sd']:.3f}",
             d["right"][str(w)]["right"] if d else "-"] for w in WEIGHTS]
    lines = [f"  w {w:g}: {line}" for w in WEIGHTS for line in (d["right"][str(w)]["changed"] if d else [])]
    return Report({"weights": list(WEIGHTS), "gtzan": g, "real_dev": d},
                  [Table(["w", f"GTZAN blocked CV accuracy ({g['tracks']} FF training tracks, 3 fold seeds)",
                          f"real-dev: right genre, of {d['recordings'] if d else '-'} of GTZAN's genres"], rows)],
                  lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
