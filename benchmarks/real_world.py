"""A model on real recordings from outside GTZAN: folders of genre-named recordings (``DIR/<genre>/<file>``),
by default ``../shared/data/real-dev`` (36 recordings: 12 of GTZAN's genres, 24 of others).

For each recording of a genre the model knows: **right** (sure and right), **flagged** (unsure or
unknown: the model said it might be wrong; split by whether its best genre was right anyway) or
**confidently wrong** (sure and wrong). For a genre the model does not know: **unknown**, **unsure**, or
**sure** (a sure answer naming a genre it is not). Then the share of all sure answers that were right.
A folder's name is the recording's genre, through the model's vocabulary (``hip-hop`` is hiphop), with the
electronic styles read as electronic (``genrefuse.datasets.real.genre_of``, fixed from the genres' names), so that a genre the model
names from the musicnn tagger can be scored; those recordings are counted apart ("genres from the tagger").
The same answers are also judged without the tagger's word (``models.evidence``: no dispute, no tagger
genre), in the same run.

    python benchmarks/real_world.py                          # real-dev, the packaged model
    python benchmarks/real_world.py DIR... --model MODEL --json out.json
    python benchmarks/real_world.py --learn [SEEDS]          # also: what a library learns from the others

``--learn`` measures what ``genrefuse learn`` brings a library of these recordings, leaving one out at a time:
a model is learnt (``training.learn.learn_rows``, on top of the packaged model's rows, as ``learn`` does) from
the other recordings labelled by their folders (a genre with fewer than 3 of them is left out, as in
``learn``), and the left-out one is judged by it; with and without the taggers' word on its answers of
GTZAN's genres (``models.evidence.judged``). Its genres that GTZAN lacks ("taught": electronic, from the six
electronic recordings) are counted apart.

These are measurements on the files named, nothing tuned on them; a handful of recordings per genre gives
a wide spread, which the JSON's per-file rows let anyone look at.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from _harness import Report, run  # noqa: E402

SHARED = Path(os.environ.get("GENREFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))
KNOWN_OUTCOMES = ("right", "flagged, best genre right", "flagged, best genre wrong", "confidently wrong")
OTHER_OUTCOMES = ("unknown", "unsure", "sure")


def recordings(folders: list[Path]) -> list[tuple[Path, Path]]:
    """``(path, path relative to its folder)`` of every recording in a genre folder."""
    from genrefuse.audio import iter_audio_files

    out = []
    for folder in folders:
        for path in iter_audio_files([folder]):
            rel = path.relative_to(folder)
            if len(rel.parts) >= 2:
                out.append((path, rel))
    return sorted(out)


def shown(folder: Path) -> str:
    """A folder as the results name it: under the shared data, relative to it (no machine's own paths)."""
    try:
        return f"shared/data/{folder.resolve().relative_to(SHARED.resolve()).as_posix()}"
    except ValueError:
        return str(folder)


def outcome(verdict, truth: str | None) -> str:
    """One recording's outcome (see the module's description); ``truth`` None: a genre the model lacks."""
    if truth is None:
        return "unknown" if verdict.unknown else "unsure" if verdict.unsure else "sure"
    if verdict.sure:
        return "right" if verdict.genre == truth else "confidently wrong"
    return "flagged, best genre right" if verdict.genre == truth else "flagged, best genre wrong"


def folder_genre(folder: str) -> str:
    """The genre a folder names: its own name, or the parent an electronic subgenre's folder is read as
    (:func:`genrefuse.datasets.real.genre_of`, as training reads it)."""
    from genrefuse.datasets.real import genre_of

    return genre_of(folder)


def scored(verdict, *, file: str, folder: str, genres, vocabulary) -> dict:
    """One recording's row: its file and folder, the genre its folder names (through ``vocabulary``, the model's
    genres and those it names from the tagger; None: one the model lacks), its group (``head``: the ``genres``
    of the model's head, ``tagger``, ``other``), the verdict's fields and its :func:`outcome`."""
    truth = vocabulary.get(folder_genre(folder))
    group = "other" if truth is None else "head" if truth in genres else "tagger"
    return {"file": file, "folder": folder, "truth": truth, "group": group, **verdict.fields(),
            "outcome": outcome(verdict, truth)}


def without_tagger(rules):
    """``rules`` without the taggers' word: no dispute, no support, no genre from the taggers."""
    return dataclasses.replace(rules, dispute=None, new_genre=None, support=False)


def evaluate(folders: list[Path], model_arg: str | None = None, *, learn: tuple[int, ...] = ()) -> dict:
    """The model's outcome on every recording of ``folders``; with ``learn`` (seeds of ``learn``'s folds), also
    :func:`learned`'s, once per seed."""
    from genrefuse import load_model
    from genrefuse.genres import Vocabulary

    model = load_model(model_arg)
    plain_rules = without_tagger(model.rules)
    vocabulary = Vocabulary(list(model.genres) + list(model.rules.tagger_genres))
    rows, failures, kept = [], [], []
    start = time.perf_counter()
    for path, rel in recordings(folders):
        try:
            inputs = model.preprocess(path)
            pred = model.postprocess(model.forward(inputs), path=str(path), inputs=inputs)
        except Exception as exc:           # one line per file; the run goes on
            failures.append(f"{path}: {exc}")
            continue
        plain = plain_rules.of(pred.probabilities, pred.familiarity)        # the same answer, no tagger
        row = scored(pred.verdict, file=rel.as_posix(), folder=rel.parts[0], genres=model.genres, vocabulary=vocabulary)
        rows.append({**row, "outcome_without_tagger": outcome(plain, row["truth"]), "energy": pred.energy,
                     "bpm": pred.bpm})
        if learn:
            kept.append((rows[-1], inputs))
    out = {"machine": machine(), "model": model_arg or "default", "folders": [shown(f) for f in folders],
           "seconds": round(time.perf_counter() - start, 1), **summary(rows, "outcome"),
           "without_tagger": summary(rows, "outcome_without_tagger"), "energy": energy_by_folder(rows),
           "rows": rows, "failures": failures}
    if learn:
        out["learned"] = learned(kept, model, seeds=learn)
    return out


def learned(kept: list[tuple[dict, object]], model, *, seeds: tuple[int, ...] = (0,)) -> dict:
    """``--learn`` (see the module's description): each recording judged by a model learnt from the others,
    for each of ``seeds`` (``learn``'s cross-validation folds, which set its calibration). ``kept``: each
    recording's row and model inputs (as ``model``, the base, analysed it)."""
    from genrefuse.library.learning import track_mean

    base = model.bundle.training_rows
    means = [track_mean(inputs) for _, inputs in kept]
    start, runs = time.perf_counter(), []
    for seed in seeds:
        runs.append({"seed": seed, **learned_once(kept, means, base, model, seed=seed)})
    return {"method": "leave one recording out: learnt from the others, labelled by their folders, on top of the "
                      "packaged model's rows (training.learn.learn_rows, as `genrefuse learn`), once per seed",
            "seconds": round(time.perf_counter() - start, 1), "runs": runs}


def learned_once(kept: list, means: list, base, model, *, seed: int) -> dict:
    """One seed of :func:`learned`: ``means`` are the recordings' mean rows (what ``learn`` learns from, labelled
    by :func:`folder_genre`), ``base`` the packaged model's training rows."""
    import tempfile

    import numpy as np

    from genrefuse import load_model
    from genrefuse.genres import GTZAN_GENRES, Vocabulary
    from genrefuse.models.training_rows import TrainingRows, join
    from genrefuse.training.learn import learn_rows

    rows = []
    for i, (row, inputs) in enumerate(kept):
        others = [j for j in range(len(kept)) if j != i]
        library = TrainingRows(np.concatenate([means[j].table for j in others]),
                               np.concatenate([means[j].tags for j in others]),
                               [folder_genre(kept[j][0]["folder"]) for j in others],
                               [kept[j][0]["file"] for j in others])
        bundle = learn_rows(join([base, library]), seed=seed, own=set(library.tracks)).bundle
        bundle.window_policy = model.bundle.window_policy
        with tempfile.TemporaryDirectory() as folder:
            bundle.save(folder)
            learnt = load_model(folder)
        pred = learnt.postprocess(learnt.forward(inputs), inputs=inputs)
        plain = without_tagger(learnt.rules).of(pred.probabilities, pred.familiarity)
        heads = [g for g in learnt.genres if g in GTZAN_GENRES]
        r = scored(pred.verdict, file=row["file"], folder=row["folder"], genres=heads,
                   vocabulary=Vocabulary(list(learnt.genres)))
        rows.append({**r, "outcome_without_tagger": outcome(plain, r["truth"]), "genres": len(learnt.genres)})
    return {**summary(rows, "outcome"), "without_tagger": summary(rows, "outcome_without_tagger"), "rows": rows}


def energy_by_folder(rows: list[dict]) -> dict[str, dict]:
    """The mean energy (``pretrained.styles.energy_of``) of each folder's recordings, most energetic first: a
    sanity check of the tagger's word (no recording has an energy label)."""
    folders: dict[str, list[float]] = {}
    for r in rows:
        if r.get("energy") is not None:
            folders.setdefault(r["folder"], []).append(r["energy"])
    means = {f: {"n": len(v), "mean": round(float(sum(v) / len(v)), 2)} for f, v in folders.items()}
    return dict(sorted(means.items(), key=lambda kv: -kv[1]["mean"]))


def summary(rows: list[dict], key: str) -> dict:
    """Counts of each outcome (``key``: which outcome column) for the recordings of the model's head's genres
    (``known``), of the genres it names from the tagger (``tagger``) and of others, and how many sure answers
    were right."""
    groups = {g: [r for r in rows if r["group"] == g] for g in ("head", "tagger", "other")}
    known = groups["head"] + groups["tagger"]
    sure_right = sum(r[key] == "right" for r in known)
    sure = sure_right + sum(r[key] == "confidently wrong" for r in known) + sum(r[key] == "sure" for r in groups["other"])
    count = lambda rs, keys: {"n": len(rs), **{k: sum(r[key] == k for r in rs) for k in keys}}  # noqa: E731
    return {"known": count(groups["head"], KNOWN_OUTCOMES), "tagger": count(groups["tagger"], KNOWN_OUTCOMES),
            "other": count(groups["other"], OTHER_OUTCOMES),
            "sure": {"n": sure, "right": sure_right, "precision": round(sure_right / sure, 3) if sure else None}}


def table(r: dict) -> str:
    k, o, s, t = r["known"], r["other"], r["sure"], r["tagger"]
    w = r["without_tagger"]
    lines = [f"model {r['model']} on {', '.join(r['folders'])} ({r['seconds']} s)", "",
             "| recordings | n | " + " | ".join(KNOWN_OUTCOMES) + " |",
             "|---|---|" + "---|" * len(KNOWN_OUTCOMES),
             f"| of genres the model's head knows | {k['n']} | " + " | ".join(str(k[x]) for x in KNOWN_OUTCOMES) + " |",
             f"| of genres it names from the tagger | {t['n']} | " + " | ".join(str(t[x]) for x in KNOWN_OUTCOMES)
             + " |", "",
             "| recordings | n | " + " | ".join(OTHER_OUTCOMES) + " |",
             "|---|---|" + "---|" * len(OTHER_OUTCOMES),
             f"| of other genres | {o['n']} | " + " | ".join(str(o[x]) for x in OTHER_OUTCOMES) + " |", "",
             f"sure answers: {s['n']}, right {s['right']}"
             + (f" ({s['precision']:.0%})" if s["precision"] is not None else ""),
             f"without the tagger's word: head's genres {w['known']['right']} right, "
             f"{w['known']['confidently wrong']} confidently wrong; tagger's genres {w['tagger']['right']} right; "
             f"{w['other']['sure']} of {o['n']} others sure; sure answers {w['sure']['n']}, right {w['sure']['right']}"]
    if r.get("learned"):
        lr = r["learned"]
        lines += ["", f"learnt from the other recordings, one left out at a time ({lr['seconds']} s):"]
        lines += [f"  seed {run['seed']}: " + learned_line(run) + "; without the taggers' word: "
                  + learned_line(run["without_tagger"]) for run in lr["runs"]]
    if r.get("energy"):
        lines += ["", "energy (the MTT tagger's loud and fast against quiet, soft and slow), mean per folder: "
                  + ", ".join(f"{f} {e['mean']:.2f}" for f, e in r["energy"].items())]
    if r["failures"]:
        lines += ["", f"{len(r['failures'])} files failed:"] + [f"  {f}" for f in r["failures"]]
    return "\n".join(lines)


def learned_line(r: dict) -> str:
    """One line of a ``--learn`` summary."""
    k, t, o, s = r["known"], r["tagger"], r["other"], r["sure"]
    return (f"GTZAN's genres {k['right']} right, {k['flagged, best genre right'] + k['flagged, best genre wrong']} "
            f"flagged, {k['confidently wrong']} confidently wrong of {k['n']}; genres the library taught "
            f"{t['right']} right, {t['confidently wrong']} confidently wrong of {t['n']}; others {o['sure']} sure of "
            f"{o['n']}; sure answers {s['right']} right of {s['n']}")


def grouped(shared: Path, *, seeds: tuple[int, ...], jobs: int | None = None) -> dict:
    """The default recipe trained on GTZAN's rows and the real recordings, judged by cross-validation grouped by
    artist over the real recordings (``training.real_cv``), for each candidate of ``default_model.CANDIDATES``;
    beside them, in the same run, the GTZAN-only recipe (the model shipped before) judged on the same recordings
    (it never saw them). The rule choosing among them was fixed before the run: of the candidates whose GTZAN
    blocked cross-validation stays within 0.02 of the GTZAN-only recipe's, the one with the most recordings of
    the model's genres right (best genre), then the fewest confidently wrong."""
    import tempfile

    from genrefuse.training import default_model as dm, real_cv
    from genrefuse.training.real_rows import real_rows

    started = time.time()
    recs = dm.real_recordings(shared)
    real = real_rows(recs, policy=dm.POLICY, jobs=jobs, progress=True)
    gtzan, genres, config = dm.ff_training_data(shared), dm.model_genres(recs), dm.training_config(shared)
    out = {"folders": [shown(shared / f) for f in dm.REAL], "recordings": len(recs), "genres": genres,
           "seeds": list(seeds), "kind": dm.KIND, "candidates": {}}
    with tempfile.TemporaryDirectory() as tmp:              # the recipe shipped before, in this run
        old = dm.build_gtzan_model(shared, Path(tmp) / "old", config=config)
        floor = old.familiarity_floor
        out["gtzan_only"] = {key: real_cv.summary(real_cv.judged_by(old, real, genres, tagger=key == "with_tagger"),
                                                  real, genres) for key in ("with_tagger", "without_tagger")}
        out["gtzan_only"]["gtzan_cv"] = old.extra["card"]["measured"]["accuracy_per_seed"]
    print(f"GTZAN only: {_line(out['gtzan_only']['with_tagger'])}", file=sys.stderr)
    for recipe in dm.CANDIDATES:
        folds = real_cv.cross_validate(gtzan, real, genres, kind=dm.KIND, config=config, recipe=recipe, seeds=seeds)
        t, threshold, by_genre = real_cv.calibration(folds, real)
        row = {"recipe": dataclasses.asdict(recipe), "temperature": round(t, 4), "min_confidence": round(threshold, 4),
               "genre_confidence": by_genre,
               "gtzan_cv": real_cv.gtzan_accuracy(gtzan, real, genres, kind=dm.KIND, config=config, recipe=recipe,
                                                  seeds=seeds)}
        for tagger in (True, False):
            answers = real_cv.outcomes(folds, real, temperature=t, min_familiarity=floor, tagger=tagger)
            row["with_tagger" if tagger else "without_tagger"] = real_cv.summary(answers, real, genres)
        row["open_set_auroc"] = real_cv.open_set(folds, real)
        out["candidates"][recipe.name] = row
        print(f"{recipe.name}: {_line(row['with_tagger'])}; GTZAN CV {sum(row['gtzan_cv']) / len(seeds):.3f}",
              file=sys.stderr)
    # the shipped recipe without the penultimate features: the model shipped before them, in the same run
    folds = real_cv.cross_validate(gtzan, real, genres, kind=dm.GTZAN_KIND, config=config, recipe=dm.PREVIOUS,
                                   seeds=seeds)
    t, _, _ = real_cv.calibration(folds, real)
    out["without_deep"] = {
        "kind": dm.GTZAN_KIND, "recipe": dataclasses.asdict(dm.PREVIOUS),
        "with_tagger": real_cv.summary(real_cv.outcomes(folds, real, temperature=t, min_familiarity=floor), real, genres),
        "gtzan_cv": real_cv.gtzan_accuracy(gtzan, real, genres, kind=dm.GTZAN_KIND, config=config, recipe=dm.PREVIOUS,
                                           seeds=seeds)}
    print(f"without the penultimate features: {_line(out['without_deep']['with_tagger'])}", file=sys.stderr)
    floor_cv = sum(out["gtzan_only"]["gtzan_cv"]) / len(out["gtzan_only"]["gtzan_cv"]) - 0.02
    allowed = [n for n, c in out["candidates"].items() if sum(c["gtzan_cv"]) / len(c["gtzan_cv"]) >= floor_cv]
    out["chosen"] = max(allowed, key=lambda n: (out["candidates"][n]["with_tagger"]["right"]["mean"],
                                                -out["candidates"][n]["with_tagger"]["confidently_wrong"]["mean"]))
    out["seconds"] = round(time.time() - started)
    return out


def _pct(x: dict) -> str:
    return f"{100 * x['mean']:.1f}% +- {100 * x['std']:.1f}"


def _line(r: dict) -> str:
    return (f"{_pct(r['right'])} right, {_pct(r['right_and_sure'])} right and sure, {_pct(r['confidently_wrong'])} "
            f"confidently wrong, {_pct(r['sure_precision'])} of sure answers right; of {r['others']} recordings of "
            f"other genres {_pct(r['others_sure'])} sure")


def grouped_table(r: dict) -> str:
    """The grouped cross-validation's tables (Markdown): the recipes, then the chosen one per genre."""
    head = ("| model | right (best genre) | right and sure | confidently wrong | sure answers right | other genres "
            "answered sure | GTZAN blocked CV |")
    lines = [f"Grouped cross-validation over {r['recordings']} real recordings ({', '.join(r['folders'])}; "
             + (f"candidates of the `{r['kind']}` kind; " if "kind" in r else "") +
             f"{r['candidates'][r['chosen']]['with_tagger']['recordings']} of the model's {len(r['genres'])} genres), "
             f"5 folds by artist, fold seeds {r['seeds']}, mean +- spread over seeds:", "", head, "|---|---|---|---|---|---|---|"]
    cell = lambda x: f"{100 * x['mean']:.1f}% +- {100 * x['std']:.1f}"  # noqa: E731
    gcv = lambda xs: f"{sum(xs) / len(xs):.3f}"  # noqa: E731
    rows = [(f"GTZAN and real: {w}" + (" (shipped)" if w == r["chosen"] else ""), c["with_tagger"], c["gtzan_cv"])
            for w, c in r["candidates"].items()]
    if "without_deep" in r:
        from genrefuse.training.real_cv import Recipe

        before = Recipe(**r["without_deep"]["recipe"]).name
        rows.append((f"GTZAN and real, {before}, without the penultimate features (shipped before them)",
                     r["without_deep"]["with_tagger"], r["without_deep"]["gtzan_cv"]))
    rows.append(("GTZAN only (the model shipped before real recordings; never saw these)", r["gtzan_only"]["with_tagger"],
                 r["gtzan_only"]["gtzan_cv"]))
    for name, x, g in rows:
        lines.append(f"| {name} | {cell(x['right'])} | {cell(x['right_and_sure'])} | {cell(x['confidently_wrong'])} | "
                     f"{cell(x['sure_precision'])} | {cell(x['others_sure'])} | {gcv(g)} |")
    auroc = r["candidates"][r["chosen"]].get("open_set_auroc") or {}
    if auroc.get("mean") is not None:
        lines += ["", f"Familiarity (\"none of these\") tells the {r['candidates'][r['chosen']]['with_tagger']['others']} "
                      f"recordings of genres the shipped recipe lacks from those of its genres with an AUROC of "
                      f"{auroc['mean']:.3f} +- {auroc['std']:.3f} out of fold."]
    materials = r["candidates"][r["chosen"]]["with_tagger"].get("per_material")
    if materials:
        lines += ["", "By kind of material (`datasets.real.material_of`, from each recording's source notes; the shipped "
                      "recipe, means over the seeds; few recordings of a kind make a rough figure):", "",
                  "| material | recordings of its genres | right | right and sure | confidently wrong | other genres "
                  "(answered sure) |", "|---|---|---|---|---|---|"]
        pct = lambda row, key: f"{100 * row[key]:.0f}%" if key in row else "-"  # noqa: E731
        for kind, row in sorted(materials.items(), key=lambda kv: -kv[1]["recordings"]):
            lines.append(f"| {kind} | {row['recordings']} | {pct(row, 'right')} | {pct(row, 'right_and_sure')} | "
                         f"{pct(row, 'confidently_wrong')} | {row['others']} ({pct(row, 'others_sure')}) |")
    chosen = r["candidates"][r["chosen"]]["with_tagger"]["per_genre"]
    old = r["gtzan_only"]["with_tagger"]["per_genre"]
    lines += ["", "| genre | real examples | recall | answered sure | sure answers right | recall before (GTZAN only) |",
              "|---|---|---|---|---|---|"]
    for g, x in chosen.items():
        prec = "-" if x["sure_precision"] is None else f"{100 * x['sure_precision']:.0f}%"
        lines.append(f"| {g} | {x['examples']} | {100 * x['recall']:.0f}% | {100 * x['sure']:.0f}% | {prec} | "
                     f"{100 * old[g]['recall']:.0f}% |")
    return "\n".join(lines)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("folders", nargs="*", type=Path, help="folders of genre folders (default: shared real-dev)")
    ap.add_argument("--model", help="a model folder (default: the packaged model)")
    ap.add_argument("--rows", action="store_true", help="also print a line per recording")
    ap.add_argument("--grouped", nargs="?", const="0,1,2", default="", metavar="SEEDS",
                    help="instead: train the default recipe on GTZAN and shared real-train + real-dev and judge it by "
                         "cross-validation grouped by artist (fold seeds, default 0,1,2), beside the GTZAN-only recipe")
    ap.add_argument("--jobs", type=int, help="with --grouped: processes analysing the recordings (default: all cores)")
    ap.add_argument("--learn", nargs="?", const="0,1,2", default="", metavar="SEEDS",
                    help="also judge each recording by a model learnt from the others (leave one out; needs the "
                    "[train] extra), once per seed of learn's folds (default 0,1,2)")


def _missing(what: str) -> None:
    print(f"no such folder: {what} (see shared/data/README.md)", file=sys.stderr)
    raise SystemExit(2)


def measure(a: argparse.Namespace) -> Report:
    if a.grouped:
        if not (SHARED / "real-train").is_dir():
            _missing(str(SHARED / "real-train"))
        r = grouped(SHARED, seeds=tuple(int(x) for x in a.grouped.split(",") if x.strip()), jobs=a.jobs)
        return Report(r, lines=[grouped_table(r)])
    folders = a.folders or [SHARED / "real-dev"]
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        _missing(", ".join(map(str, missing)))
    r = evaluate(folders, a.model, learn=tuple(int(x) for x in a.learn.split(",") if x.strip()))
    rows = [f"{row['folder']}\t{row['answer']}\t{row['confidence']:.2f}\t{row['outcome']}\t"
            f"energy {row['energy']}\t{Path(row['file']).name}" for row in r["rows"]] if a.rows else []
    return Report(r, lines=[*rows, table(r)])


if __name__ == "__main__":
    run(measure, doc=__doc__.splitlines()[0], arguments=arguments)
