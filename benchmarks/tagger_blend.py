"""A study for issue 31 (no product change): what the musicnn tagger's own genre evidence would add to the
packaged model, with its two thresholds chosen on GTZAN alone and then scored on real recordings.

The tagger (musicnn, MSD) scores 50 Last.fm tags per 3 s patch; a genre's **evidence** is the highest mean
score of the tags that name it (``EVIDENCE``, fixed from the tags' names, not from data). The candidate rule:

1. a genre the GTZAN head does not know (``NEW``: electronic, folk, soul, punk, funk) is the answer when its
   evidence is at least ``new`` and higher than every GTZAN genre's;
2. otherwise the head answers, and a sure answer is **disputed** (made unsure) when another GTZAN genre's
   evidence is at least ``dispute`` and higher than the answer's own.

Thresholds: on the published taggrams of GTZAN's 443 fault-filtered training tracks (none of which is
of a NEW genre), ``new`` is the lowest that gives a NEW genre to at most ``--new-rate`` of them, and
``dispute`` the lowest at which at most ``--dispute-rate`` of them would have their true genre disputed.
Nothing is tuned on the real recordings; they are only scored (``benchmarks/real_world.py``'s outcomes),
with subgenre folders read as their parent (``PARENT``: techno is electronic, swing is jazz).

    python benchmarks/tagger_blend.py [--shared ../shared/data] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402
from real_world import KNOWN_OUTCOMES, OTHER_OUTCOMES, outcome, recordings  # noqa: E402

EVIDENCE = {"blues": ("blues",), "country": ("country",), "hiphop": ("Hip-Hop",), "jazz": ("jazz",),
            "metal": ("metal", "heavy metal"), "pop": ("pop", "indie pop"),
            "rock": ("rock", "classic rock", "hard rock", "alternative rock", "indie rock", "Progressive rock"),
            "electronic": ("electronic", "electronica", "electro", "House"), "folk": ("folk",),
            "soul": ("soul", "rnb"), "punk": ("punk",), "funk": ("funk",)}
NEW = ("electronic", "folk", "soul", "punk", "funk")
PARENT = {"techno": "electronic", "trance": "electronic", "dubstep": "electronic", "house": "electronic",
          "breaks": "electronic", "electronica-downtempo": "electronic", "swing": "jazz"}


def evidence(tag_means: np.ndarray, tags: list[str]) -> dict[str, float]:
    return {g: float(max(tag_means[tags.index(t)] for t in ts)) for g, ts in EVIDENCE.items()}


def gtzan_thresholds(shared: Path, tags: list[str], *, new_rate: float, dispute_rate: float) -> dict:
    z = np.load(shared / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    tracks = sorted(set(ids))
    means = np.stack([z["X"][ids == t].mean(axis=0) for t in tracks])
    truth = [t.split("/")[0] for t in tracks]
    ev = [evidence(m, tags) for m in means]
    new_best = np.array([max(e[g] for g in NEW) if max(e[g] for g in NEW) > max(e[g] for g in e if g not in NEW)
                         else 0.0 for e in ev])
    grid = np.round(np.arange(0.05, 0.95, 0.01), 2)
    new = next(float(t) for t in grid if np.mean(new_best >= t) <= new_rate)
    rival = np.array([max((v for g, v in e.items() if g not in NEW and g != y), default=0.0) for e, y in zip(ev, truth)])
    own = np.array([e.get(y, 0.0) for e, y in zip(ev, truth)])
    disputed = lambda t: np.mean((rival >= t) & (rival > own))  # noqa: E731
    dispute = next(float(t) for t in grid if disputed(t) <= dispute_rate)
    return {"tracks": len(tracks), "new": new, "new_rate": float(np.mean(new_best >= new)),
            "dispute": dispute, "dispute_rate": float(disputed(dispute))}


class _Judged:
    def __init__(self, genre, unsure, unknown):
        self.genre, self.unsure, self.unknown = genre, unsure, unknown
        self.sure = not unsure and not unknown


def blended(pred, ev: dict[str, float], *, new: float, dispute: float) -> _Judged:
    gtzan_best = max(v for g, v in ev.items() if g not in NEW)
    best_new = max(NEW, key=ev.__getitem__)
    if ev[best_new] >= new and ev[best_new] > gtzan_best:
        return _Judged(best_new, False, False)
    v = pred.verdict
    rival = max((val for g, val in ev.items() if g not in NEW and g != v.genre), default=0.0)
    disputed = rival >= dispute and rival > ev.get(v.genre, 0.0)
    return _Judged(v.genre, v.unsure or disputed, v.unknown)


def score(rows: list[dict]) -> dict:
    known = [r for r in rows if r["truth"] is not None]
    other = [r for r in rows if r["truth"] is None]
    sure = [r for r in rows if r["sure"]]
    right = [r for r in sure if r["truth"] == r["genre"]]
    return {"known": {"n": len(known), **{k: sum(r["outcome"] == k for r in known) for k in KNOWN_OUTCOMES}},
            "other": {"n": len(other), **{k: sum(r["outcome"] == k for r in other) for k in OTHER_OUTCOMES}},
            "sure": {"n": len(sure), "right": len(right), "precision": round(len(right) / len(sure), 3) if sure else None}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--new-rate", type=float, default=0.02)
    ap.add_argument("--dispute-rate", type=float, default=0.05)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    from genrefuse import load_model
    from genrefuse.genres import Vocabulary
    from genrefuse.pretrained.weights import MSD_TAGS

    tags = list(MSD_TAGS)
    th = gtzan_thresholds(a.shared, tags, new_rate=a.new_rate, dispute_rate=a.dispute_rate)
    model = load_model()
    before_vocab = Vocabulary(model.genres)
    after_vocab = Vocabulary(list(model.genres) + list(NEW))
    before, after = [], []
    for path, rel in recordings([a.shared / "real-dev"]):
        folder = rel.parts[0]
        inputs = model.preprocess(path)
        pred = model.postprocess(model.forward(inputs), path=str(path), inputs=inputs)
        ev = evidence(inputs.tags[:, :50].mean(axis=0), tags)
        t0 = before_vocab.get(PARENT.get(folder, folder))
        before.append({"file": rel.as_posix(), "truth": t0, "genre": pred.genre, "sure": pred.verdict.sure,
                       "outcome": outcome(pred.verdict, t0)})
        j = blended(pred, ev, new=th["new"], dispute=th["dispute"])
        t1 = after_vocab.get(PARENT.get(folder, folder))
        after.append({"file": rel.as_posix(), "truth": t1, "genre": j.genre, "sure": j.sure,
                      "outcome": outcome(j, t1)})
    result = {"thresholds": th, "before": score(before), "after": score(after), "rows_after": after}
    print(f"thresholds from GTZAN's {th['tracks']} FF training tracks: new {th['new']} (a NEW genre for "
          f"{th['new_rate']:.1%} of them), dispute {th['dispute']} ({th['dispute_rate']:.1%} of true genres disputed)")
    for name in ("before", "after"):
        s = result[name]
        print(f"{name:>6}: known {s['known']}  other {s['other']}  sure {s['sure']}")
    if a.json:
        write_json(a.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
