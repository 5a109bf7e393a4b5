"""The levels at which the musicnn MSD tagger's genre evidence enters the packaged model's answers
(:mod:`genrefuse.models.evidence`), chosen on GTZAN alone: the published MSD taggrams of GTZAN's 443
fault-filtered training tracks. Nothing here is tuned on real recordings (``benchmarks/real_world.py``
scores the rules that use these levels).

A genre's **evidence** is the highest mean score of the tags that name it (the product's ``EVIDENCE`` and
``TAGGER_GENRES``, MSD's tags; fixed from the tags' names, not from data). Three levels:

- ``dispute``: the lowest at which at most ``--dispute-rate`` (5%) of the tracks would have their true genre
  disputed (another GTZAN genre's evidence at least this, whether or not above the true genre's own);
- ``new``: the lowest at which at most ``--new-rate`` (2%) of the tracks (none of a tagger genre) would be
  given a tagger genre (its evidence at least this and above every GTZAN genre's);
- ``support`` per genre: the level under which ``--support-rate`` (5%) of that genre's tracks fall, so that a
  sure answer needing at least that evidence loses at most about 5% of true answers on GTZAN.

MTT's tags (classical, techno) have no published GTZAN taggram, so they get no level here.

    python research/tagger_blend.py [--shared ../shared/data] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).resolve().parent),                     # research/, then
                str(Path(__file__).resolve().parents[1] / "benchmarks")]      # the benchmarks' shared bits
from _harness import Report, Table, run  # noqa: E402

from genrefuse.models.evidence import EVIDENCE as HEAD  # noqa: E402
from genrefuse.models.evidence import TAGGER_GENRES  # noqa: E402
from genrefuse.pretrained.weights import MSD  # noqa: E402

# the product's genres with MSD's tags for them, and those of them a GTZAN head lacks
EVIDENCE = {g: src[MSD] for g, src in {**HEAD, **TAGGER_GENRES}.items() if MSD in src}
NEW = tuple(g for g in TAGGER_GENRES if g in EVIDENCE)
GRID = np.round(np.arange(0.05, 0.95, 0.01), 2)


def evidence(tag_means: np.ndarray, tags: list[str]) -> dict[str, float]:
    return {g: float(max(tag_means[tags.index(t)] for t in ts)) for g, ts in EVIDENCE.items()}


def gtzan_evidence(shared: Path, tags: list[str]) -> tuple[list[str], list[dict[str, float]]]:
    """Each fault-filtered training track's true genre and evidence, from the published MSD taggrams."""
    z = np.load(shared / "musicnn" / "gtzan_ff_train_msd_musicnn_taggram.npz")
    ids = z["IDS"].astype(str)
    tracks = sorted(set(ids))
    means = np.stack([z["X"][ids == t].mean(axis=0) for t in tracks])
    return [t.split("/")[0] for t in tracks], [evidence(m, tags) for m in means]


def gtzan_thresholds(shared: Path, tags: list[str], *, new_rate: float, dispute_rate: float,
                     support_rate: float = 0.05) -> dict:
    truth, ev = gtzan_evidence(shared, tags)
    new_best = np.array([max(e[g] for g in NEW) if max(e[g] for g in NEW) > max(e[g] for g in e if g not in NEW)
                         else 0.0 for e in ev])
    new = next(float(t) for t in GRID if np.mean(new_best >= t) <= new_rate)
    rival = np.array([max((v for g, v in e.items() if g not in NEW and g != y), default=0.0) for e, y in zip(ev, truth)])
    disputed = lambda t: np.mean(rival >= t)  # noqa: E731     (any rival that strong: models.evidence.rival)
    dispute = next(float(t) for t in GRID if disputed(t) <= dispute_rate)
    support = {}
    for genre in (g for g in HEAD if g in EVIDENCE):
        mine = np.array([e[genre] for e, y in zip(ev, truth) if y == genre])
        level = np.floor(float(np.quantile(mine, support_rate, method="lower")) * 1000) / 1000   # a track's own value
        others = np.array([e[genre] for e, y in zip(ev, truth) if y != genre])
        support[genre] = {"level": float(level), "tracks": int(len(mine)),
                          "true_below": round(float(np.mean(mine < level)), 3),
                          "others_at_or_above": round(float(np.mean(others >= level)), 3)}
    return {"tracks": len(truth), "new": new, "new_rate": float(np.mean(new_best >= new)),
            "dispute": dispute, "dispute_rate": float(disputed(dispute)), "support_rate": support_rate,
            "support": support}


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--new-rate", type=float, default=0.02)
    ap.add_argument("--dispute-rate", type=float, default=0.05)
    ap.add_argument("--support-rate", type=float, default=0.05)


def measure(a: argparse.Namespace) -> Report:
    from genrefuse.pretrained.weights import MSD_TAGS

    th = gtzan_thresholds(a.shared, list(MSD_TAGS), new_rate=a.new_rate, dispute_rate=a.dispute_rate,
                          support_rate=a.support_rate)
    lines = [f"from GTZAN's {th['tracks']} fault-filtered training tracks (published MSD taggrams):",
             f"dispute {th['dispute']} ({th['dispute_rate']:.1%} of true genres disputed); new genre {th['new']} "
             f"(a tagger genre for {th['new_rate']:.1%} of them)"]
    table = Table(["genre", "tracks", "support level", "its tracks below", "other tracks at or above"],
                  [[g, s["tracks"], s["level"], f"{s['true_below']:.1%}", f"{s['others_at_or_above']:.1%}"]
                   for g, s in th["support"].items()])
    return Report(th, [table], lines)


if __name__ == "__main__":
    run(measure, doc=__doc__.splitlines()[0], arguments=arguments)
