"""How many tagger patches does a 30 s window need? A 3 s patch hop (the packaged model's until this run chose 6 s)
against longer ones, on the grouped cross-validation over the real recordings, in one run.

The MSD tagger hears a window as 3 s patches every ``patch_hop_seconds`` (6 s in the shipped
``default_model.POLICY`` since this run, 3 s before: 10 patches of a 30 s window; the MTT tagger every other one of
those), and the two
taggers are about half of a clip's analysis time (``benchmarks/peers.py``). A longer hop hears less of the window
for proportionally less time. For each hop the real recordings' rows are computed as prediction would compute them
(cached per hop), and the shipped recipe (``default_model.RECIPE``, kind ``KIND``) is judged by the grouped
cross-validation (``training.real_cv``, fold seeds 0-2) exactly as ``benchmarks/real_world.py --grouped`` judges
it, with the packaged model's familiarity floor. GTZAN's rows are the published taggrams either way (all 28
patches), as they are in the packaged model.

**The rule, fixed before the run**: a longer hop replaces 3 s only if its recordings right (best genre) are
within the seeds' spread of 3 s's and its confidently wrong answers are not more than 3 s's plus that spread.

    python research/patch_hop.py [--hops 3,4.5,6] [--json research/results/patch_hop.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent),                     # research/, then
                str(Path(__file__).resolve().parents[1] / "benchmarks")]      # the benchmarks' shared bits
from _harness import Report, run  # noqa: E402
from real_world import SHARED  # noqa: E402

import numpy as np  # noqa: E402

from genrefuse.features import musicnn_input as mi  # noqa: E402
from genrefuse.preprocess.track import MTT_STRIDE  # noqa: E402


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--hops", default="3,4.5,6", help="patch hops in seconds, the rule's reference first (default 3,4.5,6)")
    ap.add_argument("--jobs", type=int, help="processes analysing the recordings (default: all cores)")


def patches_in(seconds: float, hop: float) -> int:
    """How many patches the MSD tagger hears in a window of ``seconds`` at ``hop`` (``musicnn_input.tagger_patches``
    of that much silence)."""
    return len(mi.tagger_patches(np.zeros(int(seconds * mi.SR), np.float32), mi.SR, hop_seconds=hop))


def measure(a: argparse.Namespace) -> Report:
    from genrefuse import load_model
    from genrefuse.training import default_model as dm, real_cv
    from genrefuse.training.real_rows import real_rows

    hops = [float(h) for h in a.hops.split(",") if h.strip()]
    recs = dm.real_recordings(SHARED)
    gtzan, genres, config = dm.ff_training_data(SHARED), dm.model_genres(recs), dm.training_config(SHARED)
    floor = load_model().min_familiarity
    out = {"recordings": len(recs), "genres": genres, "seeds": list(dm.FOLD_SEEDS), "kind": dm.KIND,
           "recipe": dataclasses.asdict(dm.RECIPE), "mtt_stride": MTT_STRIDE, "hops": {}}
    for hop in hops:
        policy = dataclasses.replace(dm.POLICY, patch_hop_seconds=hop)
        real = real_rows(recs, policy=policy, jobs=a.jobs, progress=True)
        folds = real_cv.cross_validate(gtzan, real, genres, kind=dm.KIND, config=config, recipe=dm.RECIPE,
                                       seeds=dm.FOLD_SEEDS)
        t, _, _ = real_cv.calibration(folds, real)
        msd = patches_in(policy.window_seconds, hop)
        out["hops"][f"{hop:g}"] = {
            "msd_patches": msd, "mtt_patches": len(range(0, msd, MTT_STRIDE)),
            "answers": real_cv.summary(real_cv.outcomes(folds, real, temperature=t, min_familiarity=floor), real, genres)}
        print(f"hop {hop:g} s: {out['hops'][f'{hop:g}']['answers']['right']}", file=sys.stderr)
    base = out["hops"][f"{hops[0]:g}"]["answers"]
    for key, r in out["hops"].items():
        x = r["answers"]
        r["keeps_the_rule"] = bool(x["right"]["mean"] >= base["right"]["mean"] - base["right"]["std"] and
                                   x["confidently_wrong"]["mean"] <= base["confidently_wrong"]["mean"]
                                   + base["confidently_wrong"]["std"])
    return Report(out, lines=[table(out)])


def table(r: dict) -> str:
    """The run's table (Markdown), with the rule's verdict per hop."""
    cell = lambda x: f"{100 * x['mean']:.1f}% +- {100 * x['std']:.1f}"  # noqa: E731
    lines = [f"Grouped cross-validation over {r['recordings']} real recordings, the shipped recipe "
             f"(`{r['kind']}`), fold seeds {r['seeds']}, mean +- spread over seeds; the MTT tagger hears one MSD "
             f"patch in {r['mtt_stride']}:", "",
             "| patch hop | MSD patches | MTT patches | right (best genre) | right and sure | confidently wrong | "
             "sure answers right | within the rule |", "|---|---|---|---|---|---|---|---|"]
    for h, x in r["hops"].items():
        a = x["answers"]
        lines.append(f"| {h} s | {x['msd_patches']} | {x['mtt_patches']} | {cell(a['right'])} | {cell(a['right_and_sure'])} "
                     f"| {cell(a['confidently_wrong'])} | {cell(a['sure_precision'])} | "
                     f"{'yes' if x['keeps_the_rule'] else 'no'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
