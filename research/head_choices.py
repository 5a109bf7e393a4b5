"""Two choices in how the default model is trained, for music unlike GTZAN's, measured in one run.

The default model is a logistic regression on GTZAN's 57 table features and the MSD tagger's taggram summary,
trained from GTZAN's published rows (no audio). Two ways to lean less on what only GTZAN's recordings look like:

- ``table_weight``: the standardised table columns are multiplied by it while fitting (same L2 penalty), so a
  weight under 1 leans on the taggram (learnt from about 200,000 commercial tracks). Alone, the table names 3
  of real-dev's 12 recordings of GTZAN's genres.
- ``shift_weight``: every training row also trains moved as a loud master moves it (``training.mastering``:
  the shift measured on the 5 shared GTZAN clips, brightened and ``tanh``-limited at drives 2 and 4), at this
  weight.

For each candidate the default model is rebuilt exactly as ``make default-model`` does (blocked 5-fold CV over
the 443 fault-filtered training tracks, fold seeds 0-2: accuracy, temperature, unsure threshold), then:

- **real-dev** (``benchmarks/real_world.py``'s outcomes, the product's full rules) on the recordings as they are;
- **an unseen master**: the same recordings bass-boosted and hard-clipped at +6 and +12 dB (a chain unlike the
  one the shifts were measured with): how many of the 36 recordings' best genre changes (whether or not the
  answer is unknown: a heavy master often makes a recording unfamiliar, which is honest, and hides the genre
  underneath), and how many answers are then sure of another genre.

**The rule, fixed before the run**: of the candidates whose CV accuracy is within :data:`TOLERANCE` of the plain
model's (the FF-test aim is 0.83, today's FF test 0.841; CV has tracked it within about 0.02), the one whose
best genres the unseen master changes least (then the higher CV). real-dev's labels are reported, not used to choose;
its audio is (unlabelled) in the unseen-master count.

    python research/head_choices.py [--json research/results/head_choices.json]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent),                     # research/, then
                str(Path(__file__).resolve().parents[1] / "benchmarks")]      # the benchmarks' shared bits
from _common import machine  # noqa: E402
from _harness import Report, run  # noqa: E402
from real_world import SHARED, recordings, scored, summary  # noqa: E402

CANDIDATES = ((1.0, 0.0), (0.75, 0.0), (1.0, 0.25), (0.75, 0.25))     # (table_weight, shift_weight)
GAINS_DB = (6.0, 12.0)
TOLERANCE = 0.01


def unseen_master(y: np.ndarray, *, sr: int, gain_db: float) -> np.ndarray:
    """``y`` with its bass (under 150 Hz) boosted, peak-normalised, raised by ``gain_db`` and hard-clipped."""
    from scipy.signal import butter, sosfilt

    y = np.asarray(y, np.float64)
    y = y + 0.5 * sosfilt(butter(2, 150.0, "lowpass", fs=sr, output="sos"), y)
    y = y / max(float(np.max(np.abs(y))), 1e-9) * 10 ** (gain_db / 20)
    return (0.97 * np.clip(y, -1.0, 1.0)).astype(np.float32)


def real_dev_inputs(folder: Path) -> list[dict]:
    """Each real-dev recording's inputs as it is and under each unseen master, computed once."""
    from genrefuse import load_model
    from genrefuse.audio import load

    model = load_model(None)
    sr = model.params.sr
    out = []
    for path, rel in recordings([folder]):
        y = load(path, sr=sr)
        out.append({"file": rel.as_posix(), "folder": rel.parts[0], "plain": model.preprocess(path),
                    "mastered": [model.preprocess(unseen_master(y, sr=sr, gain_db=g), sr=sr) for g in GAINS_DB]})
    return out


def judge(model, recs: list[dict]) -> dict:
    from genrefuse.genres import Vocabulary

    vocabulary = Vocabulary(list(model.genres) + list(model.rules.tagger_genres))
    answer = lambda inp: model.postprocess(model.forward(inp), inputs=inp).verdict  # noqa: E731
    rows, changed, sure = [], [0] * len(GAINS_DB), [0] * len(GAINS_DB)
    for rec in recs:
        v = answer(rec["plain"])
        mastered = [answer(inp) for inp in rec["mastered"]]
        for i, m in enumerate(mastered):
            changed[i] += m.genre != v.genre
            sure[i] += m.genre != v.genre and m.sure
        rows.append({**scored(v, file=rec["file"], folder=rec["folder"], genres=model.genres, vocabulary=vocabulary),
                     "mastered": [m.fields() for m in mastered]})
    gains = [f"+{g:g} dB" for g in GAINS_DB]
    return {**summary(rows, "outcome"), "changed": dict(zip(gains, changed)), "changed_sure": dict(zip(gains, sure)),
            "rows": rows}


def evaluate(shared: Path, candidates=CANDIDATES) -> dict:
    from genrefuse import load_model
    from genrefuse.training.default_model import (build_default_model, ff_training_data, loud_master_shifts,
                                                  training_config)

    data = ff_training_data(shared)
    shifts = loud_master_shifts(shared)
    recs = real_dev_inputs(shared / "real-dev")
    out = []
    for tw, sw in candidates:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            config = training_config(shared, table_weight=tw, shift_weight=sw, shifts=shifts)
            bundle = build_default_model(shared, tmp, config=config, data=data)
            m = bundle.extra["card"]["measured"]
            r = {"table_weight": tw, "shift_weight": sw, "cv_mean": round(m["accuracy_mean"], 4),
                 "cv_std": round(m["accuracy_std"], 4), "cv_per_seed": [round(a, 4) for a in m["accuracy_per_seed"]],
                 "min_confidence": round(m["min_confidence"], 4), "sure_fraction": round(m["sure_fraction"], 4),
                 "sure_accuracy": round(m["sure_accuracy"], 4), "real_dev": judge(load_model(tmp), recs)}
        r["seconds"] = round(time.perf_counter() - start, 1)
        out.append(r)
        print(f"  table weight {tw:g}, loud-master weight {sw:g}: CV {r['cv_mean']:.3f} ({r['seconds']} s)",
              file=sys.stderr)
    base = out[0]["cv_mean"]
    eligible = [r for r in out if r["cv_mean"] >= base - TOLERANCE]
    best = min(eligible, key=lambda r: (sum(r["real_dev"]["changed"].values()), -r["cv_mean"]))
    return {"machine": machine(), "tolerance": TOLERANCE, "gains_db": list(GAINS_DB), "recordings": len(recs),
            "chosen": {"table_weight": best["table_weight"], "shift_weight": best["shift_weight"]}, "results": out}


def table(r: dict) -> str:
    gains = " / ".join(f"+{g:g} dB" for g in r["gains_db"])
    lines = [f"| table weight | loud-master weight | GTZAN blocked CV (3 fold seeds) | sure on GTZAN (right) | "
             f"best genres an unseen master changes ({gains}, of {r['recordings']}; then sure) | real-dev, GTZAN's genres: "
             f"right / flagged / confidently wrong | other genres: sure | sure answers right |",
             "|---|---|---|---|---|---|---|---|"]
    for x in r["results"]:
        d = x["real_dev"]
        k = d["known"]
        mark = " (chosen)" if (x["table_weight"], x["shift_weight"]) == (r["chosen"]["table_weight"],
                                                                          r["chosen"]["shift_weight"]) else ""
        lines.append(f"| {x['table_weight']:g}{mark} | {x['shift_weight']:g} | {x['cv_mean']:.3f} +- {x['cv_std']:.3f} "
                     f"| {x['sure_fraction']:.0%} ({x['sure_accuracy']:.3f}) | "
                     + " / ".join(f"{v} ({s})" for v, s in zip(d["changed"].values(), d["changed_sure"].values()))
                     + f" | {k['right']} / {k['flagged, best genre right'] + k['flagged, best genre wrong']} / "
                     f"{k['confidently wrong']} of {k['n']} | {d['other']['sure']} of {d['other']['n']} | "
                     f"{d['sure']['right']} of {d['sure']['n']} |")
    lines.append(f"\nthe rule: of those within {r['tolerance']} of the plain model's CV, the fewest best genres changed "
                 f"by the unseen master -> table weight {r['chosen']['table_weight']:g}, loud-master weight "
                 f"{r['chosen']['shift_weight']:g}")
    return "\n".join(lines)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shared", type=Path, default=SHARED)


def measure(a: argparse.Namespace) -> Report:
    missing = [d for d in ("musicnn", "gtzan-clips", "real-dev") if not (a.shared / d).is_dir()]
    if missing:
        print(f"no {', '.join(missing)} under {a.shared} (see shared/data/README.md)", file=sys.stderr)
        raise SystemExit(2)
    r = evaluate(a.shared)
    return Report(r, lines=[table(r)])


if __name__ == "__main__":
    run(measure, doc=__doc__.splitlines()[0], arguments=arguments)
