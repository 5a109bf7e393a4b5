"""The figures in README.md and the docs pages, written from the benchmarks' own results
(``benchmarks/results/*.json``, each written by its benchmark's ``--json``, and ``research/results/*.json``,
written by the experiments in ``research/`` that chose the model's design) rather than typed by hand.

Each block lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in its page (the list is in
:func:`main`: the README's figures, the model card's per-genre, blend, head-choice and int8-tagger tables, the library
page's similar-track, scale, audio-recommendation, energy, recommendation-scale and index-read tables, the commands
page's album table, the your-genres page's table of what learning a library's recordings brings, and the
reliability page's tables of hostile inputs).
After re-running a benchmark with ``--json benchmarks/results/NAME.json``:

    python benchmarks/figures.py            # rewrite every block
    python benchmarks/figures.py --check    # exit 1 when a block is not what the results say (a test runs it)
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RESEARCH = ROOT / "research" / "results"        # the experiments that chose the model's design
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
GENRES_START, GENRES_END = "<!-- genres:start -->", "<!-- genres:end -->"
PREDICT = "genrefuse predict (packaged model, 30 s clip)"
CLASSIFY = "genrefuse classify --jobs 2"


def _startup(r: dict) -> str:
    cases = r["cases"]
    help_s = cases["genrefuse --help"]["best_s"]
    p = cases[PREDICT]
    heavy = sorted({m for c in cases.values() for m in c.get("heavy_imports", [])})
    imports = "importing none of PyTorch, librosa, numba, scikit-learn, matplotlib, SQLAlchemy" if not heavy else \
        f"importing {', '.join(heavy)}"
    return (f"- Start-up (`benchmarks/startup.py`, best of {r['runs']}): `genrefuse --help` {help_s:.2f} s; "
            f"`genrefuse predict` of a 30 s clip from a cold start {p['best_s']:.2f} s and {p['best_mb']:.0f} MB, "
            f"{imports}.")


def _peers(r: dict) -> str:
    rows = r["rows"]
    ours = rows[CLASSIFY]
    older = next((v for k, v in rows.items() if k.startswith(CLASSIFY + ", from")), None)
    essentia = rows.get("Essentia MusicExtractor")
    stages = r["stages_s_per_clip"]
    total = sum(stages.values())
    share = {k: v / total for k, v in stages.items()}
    rounds = r.get("rounds", 1)
    parts = [f"- Throughput (`benchmarks/peers.py`, {r['clips']} synthetic 30 s clips"
             + (f", the median of {rounds} interleaved rounds" if rounds > 1 else "") + "): `classify --jobs 2` "
             f"{ours['clips_per_s']:.2f} clips/s"]
    if older:
        parts.append(f", {ours['clips_per_s'] / older['clips_per_s']:.2f}x the older code named in the same run")
    if essentia:
        parts.append(f" and {ours['x_essentia']:.1f}x Essentia's MusicExtractor ({essentia['clips_per_s']:.2f} clips/s)")
        if "x_essentia_range" in ours:
            lo, hi = ours["x_essentia_range"]
            parts.append(f" ({lo:.1f}x to {hi:.1f}x round by round)")
    taggers = share["musicnn tagger"] + share.get("MTT tagger", 0.0)
    parts.append(f"; the musicnn taggers (MSD, and MTT on every other patch) are {taggers:.0%} of a clip's time, "
                 f"HPSS {share['HPSS']:.0%}.")
    return "".join(parts)


def _pct(x: dict) -> str:
    return f"{100 * x['mean']:.0f}% (+- {100 * x['std']:.0f})"


def _grouped_figures(x: dict) -> str:
    return (f"{_pct(x['right'])} right, {_pct(x['right_and_sure'])} right and sure, {_pct(x['confidently_wrong'])} "
            f"confidently wrong, {_pct(x['sure_precision'])} of sure answers right")


def _grouped(r: dict) -> str:
    mine = r["candidates"][r["chosen"]]["with_tagger"]
    return (f"- Real recordings from outside GTZAN (`benchmarks/real_world.py --grouped`, {', '.join(r['folders'])}): "
            f"the packaged model, judged by cross-validation grouped by artist over the {mine['recordings']} real "
            f"recordings of its {len(r['genres'])} genres ({len(r['seeds'])} fold seeds; a recording is judged by a "
            f"model that did not train on its artist): {_grouped_figures(mine)}; of {mine['others']} recordings of "
            f"other genres {_pct(mine['others_sure'])} answered \"sure\". In the same run, "
            + (f"without the tagger's penultimate features (the model shipped before them): "
               f"{_grouped_figures(r['without_deep']['with_tagger'])}; " if "without_deep" in r else "")
            + f"the GTZAN-only model shipped before real recordings: {_grouped_figures(r['gtzan_only']['with_tagger'])}."
            + _materials(mine) + " Per genre and per kind of material: [the model](docs/model.md).")


def _materials(mine: dict) -> str:
    """The README's sentence per kind of material, with its sample size (where the benchmark gave them)."""
    rows = mine.get("per_material")
    if not rows:
        return ""
    parts = [f"{kind} {100 * row['right']:.0f}% right, {100 * row['right_and_sure']:.0f}% right and sure (of "
             f"{row['recordings']})" for kind, row in sorted(rows.items(), key=lambda kv: -kv[1]["recordings"])
             if row["recordings"]]
    return " By kind of material: " + "; ".join(parts) + "."


def grouped_card() -> str:
    """The model card's table of the grouped cross-validation (``real_grouped.json``), from the benchmark itself."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from real_world import grouped_table

    r = json.loads((RESULTS / "real_grouped.json").read_text())
    return (f"Written by `benchmarks/figures.py` from `benchmarks/results/real_grouped.json` (`python "
            f"benchmarks/real_world.py --grouped --json benchmarks/results/real_grouped.json`, {r['seconds']:g} s on a "
            f"{r['machine']['cores']}-core {r['machine']['cpu']}).\n\n" + grouped_table(r))


def _similar(r: dict) -> str:
    g, d = r["gtzan"], r["real_dev"]
    ours = d["genrefuse (MSD + MTT tags)"]
    return (f"- Similar tracks (`benchmarks/similar.py`): of a GTZAN track's {g['k']} nearest by its tags, "
            f"{g['MSD tags']:.0%} share its genre (random {g['random']:.0%}); on real-dev, of a recording's 3 nearest "
            f"{ours['k3']:.0%} (picking by the packaged model's genre {d['genre only']['k3']:.0%}, random "
            f"{d['random']['k3']:.0%}).")


def _scale(r: dict) -> str:
    exact = next(v for k, v in r["rows"].items() if "exact" in k)
    graph = next(v for k, v in r["rows"].items() if "genrefuse" in k and "graph" in k)
    return (f"- Similar tracks at scale (`benchmarks/similar_scale.py`, {r['tracks']:,} embeddings, one thread): p95 "
            f"{exact['p95_ms']:g} ms exact, {graph['p95_ms']:g} ms through the voyager graph a service builds for large "
            f"libraries (recall of the exact top 10 {graph['recall_at_10']:.2f}).")


def _library_scale(r: dict) -> str:
    ours, before, *older = r["rows"].values()
    return (f"- A collector's library (`benchmarks/library_scale.py`, {r['tracks']} mp3 songs of "
            f"{r['mean_minutes']:.1f} minutes): `classify --jobs 2` takes {ours['marginal_s_per_track']:.2f} s a "
            f"further song on 2 cores, so 10,000 songs {ours['hours_for_10000']:.2f} h (extrapolated; aim 1 h: "
            f"{'met' if r['met'] else 'not met'}), against {before['hours_for_10000']:.2f} h analysing 4 windows of "
            f"each (the policy before), same run; peak {ours['peak_mb']:.0f} MB for the command and its workers; "
            f"Ctrl-C ends it in {max(r['ctrl_c_s']):.1f} s at most (3 tries)"
            + (f"; `ingest --jobs 2` of the same songs into a new library (copies, each song's recording identity "
               f"from one whole decode) {r['ingest']['marginal_s_per_track']:.2f} s a further song, 10,000 in "
               f"{r['ingest']['hours_for_10000']:.2f} h" if "ingest" in r else "")
            + (f"; the source tree before (`--baseline-src`) with its own packaged model, same songs and run: "
               f"{older[0]['marginal_s_per_track']:.2f} s a further song, {older[0]['hours_for_10000']:.2f} h, the same "
               f"answer for {r['agreement_with_baseline']:.0%} of the songs" if older else "") + ".")


def _recommend_line(r: dict) -> str:
    f, e, a = r["function"], r["endpoint"], r.get("audio")
    text = (f"- Recommendations at {r['tracks']:,} tracks (`benchmarks/recommend_scale.py`, {r['database']}): "
            f"`recommend()` p95 {f['p95_ms']:g} ms, `GET /api/me/recommendations` p95 {e['p95_ms']:g} ms")
    if a and "cold_first" in a["graph"]:
        g = a["graph"]
        text += (f"; with the audio part through the similar-track graph p95 {g['p95_ms']:g} ms after the service's "
                 f"warm-up, {g['cold_first']['p95_ms']:g} ms for a listener's first request not warmed; its top 10 "
                 f"shares {g['same_top10']:.0%} of comparing every track's embedding")
    return text + f" (aim for `recommend()`, plain and with the audio part: 20 ms, {'met' if r['met'] else 'not met'})."


def _on(r: dict) -> str:
    """Where a result was measured, as its JSON records it."""
    m = r.get("machine", {})
    cpu = str(m.get("cpu", "?")).replace("(R)", "").replace("(TM)", "").replace(" Processor", "").strip()
    return f" [{m.get('cores', '?')}-core {cpu}]"


def block() -> str:
    def line(name: str, fn) -> str:
        r = json.loads((RESULTS / name).read_text())
        return fn(r) + _on(r)

    lines = ["Written by `benchmarks/figures.py` from `benchmarks/results/` (each with the machine it was measured "
             "on):", "",
             line("startup.json", _startup), line("library_scale.json", _library_scale), line("peers.json", _peers),
             line("recommend_scale.json", _recommend_line),
             line("real_grouped.json", _grouped), line("similar.json", _similar), line("similar_scale.json", _scale)]
    return "\n".join(textwrap.fill(line, width=110, subsequent_indent="  ", break_on_hyphens=False) if line else line
                     for line in lines)


def genre_card() -> str:
    """The model card's table: per genre the default model answers, how it is known, the taggers' word for it,
    its support level, and what the grouped cross-validation over real recordings measured (``real_grouped.json``)."""
    from genrefuse.genres import GTZAN_GENRES
    from genrefuse.models import evidence
    from genrefuse.pretrained.weights import MSD

    rg = json.loads((RESULTS / "real_grouped.json").read_text())
    per_genre = rg["candidates"][rg["chosen"]]["with_tagger"]["per_genre"]
    levels = json.loads((RESEARCH / "tagger_blend.json").read_text())["support"]
    lines = [f"Written by `benchmarks/figures.py` from `benchmarks/results/real_grouped.json` (cross-validation grouped "
             f"by artist over {', '.join(rg['folders'])}, {len(rg['seeds'])} fold seeds) and `tagger_blend.json` "
             f"(GTZAN's 443 fault-filtered training tracks).", "",
             "| genre | known from | the taggers' word (tags) | support level | real recordings: recall | real: answered "
             "sure | real: sure answers naming it right |", "|---|---|---|---|---|---|---|"]
    head = list(rg["genres"])
    for g in head + [t for t in evidence.TAGGER_GENRES if t not in head]:
        known = "GTZAN and real recordings (the head)" if g in GTZAN_GENRES else \
            "real recordings (the head)" if g in head else "the taggers (a track the head finds unknown)"
        sources = {**evidence.EVIDENCE, **evidence.TAGGER_GENRES}.get(g, {})
        word = "; ".join(f"{'MSD' if t == MSD else 'MTT'}: {', '.join(tags)}" for t, tags in sources.items()) or \
            "none (never disputed from its own tags, no support needed)"
        if g in levels:
            level = f"{levels[g]['level']} (GTZAN: {levels[g]['true_below']:.1%} of its tracks under)"
        elif g in evidence.SUPPORT:
            level = f"{evidence.SUPPORT[g]} (the styles' floor; not measurable on GTZAN)"
        elif g in evidence.TAGGER_GENRES:
            level = f"{evidence.NEW_GENRE} to be named at all"
        else:
            level = "none"
        x = per_genre.get(g)
        if x is None:
            lines.append(f"| {g} | {known} | {word} | {level} | not measured (not a genre of the head) | - | - |")
            continue
        prec = "none sure" if x["sure_precision"] is None else f"{100 * x['sure_precision']:.0f}%"
        lines.append(f"| {g} | {known} | {word} | {level} | {100 * x['recall']:.0f}% of {x['examples']} | "
                     f"{100 * x['sure']:.0f}% | {prec} |")
    return "\n".join(lines)


def similar_table() -> str:
    """The library page's similar-tracks table (``similar.json``)."""
    r = json.loads((RESULTS / "similar.json").read_text())
    g, d = r["gtzan"], r["real_dev"]
    lines = [f"| pick | GTZAN: same genre among the {g['k']} nearest | real-dev: among the 3 nearest | real-dev: the "
             "nearest |", "|---|---|---|---|",
             f"| random | {g['random']:.0%} | {d['random']['k3']:.0%} | {d['random']['k1']:.0%} |",
             f"| genre only (the packaged model's answer) | - | {d['genre only']['k3']:.0%} | {d['genre only']['k1']:.0%} |"]
    for name, v in d.items():
        if isinstance(v, dict) and "k3" in v and name not in ("random", "genre only"):
            on_gtzan = f"{g[name]:.0%}" if name in g else "-"
            lines.append(f"| {name} | {on_gtzan} | {v['k3']:.0%} | {v['k1']:.0%} |")
    return "\n".join(lines)


def scale_table() -> str:
    """The library page's nearest-neighbours-at-scale table (``similar_scale.json``)."""
    r = json.loads((RESULTS / "similar_scale.json").read_text())
    lines = [f"{r['tracks']:,} synthetic 100-d embeddings, {r['queries']} queries one at a time on one thread, the "
             f"{r['k']} nearest (a {r['machine']['cores']}-core {r['machine']['cpu']}):", "",
             "| index | build (s) | memory (MB) | p50 (ms) | p95 (ms) | recall of the exact top 10 |",
             "|---|---|---|---|---|---|"]
    for name, v in r["rows"].items():
        lines.append(f"| {name} | {v['build_s']:g} | {v['index_mb']} | {v['p50_ms']:g} | {v['p95_ms']:g} | "
                     f"{v['recall_at_10']:.3f} |")
    return "\n".join(lines)


def audio_recommend_table() -> str:
    """The library page's cold-start-by-sound tables (``recommend_audio.json``)."""
    r = json.loads((RESULTS / "recommend_audio.json").read_text())
    lines = []
    for key, title in (("known", f"Listeners of genres the model knows ({r['listeners']} per seed, declared)"),
                       ("unknown", f"Listeners of a genre the model does not know ({r['listeners_per_unknown_genre']} "
                                   "per genre and seed, each of the ten genres left out in turn)")):
        lines += [f"{title}, seeds {', '.join(map(str, r['seeds']))}, the new tracks ranked:", "",
                  "| ranking | precision@10 (mean +- sd over the runs) | NDCG@10 |", "|---|---|---|"]
        lines += [f"| {name} | {v['precision_at_10']:.3f} +- {v['precision_sd']:.3f} | {v['ndcg_at_10']:.3f} +- "
                  f"{v['ndcg_sd']:.3f} |" for name, v in r[key].items()]
        lines.append("")
    return "\n".join(lines).rstrip()


def albums_table() -> str:
    """The commands page's album table (``albums.json``)."""
    r = json.loads((RESULTS / "albums.json").read_text())
    return "\n".join([f"{r['tracks']} real-dev recordings of genres a model of GTZAN's genres alone names (it never "
                      f"heard them; the packaged model learnt from them), in {r['albums']} album-like groups of up to "
                      f"{r['size']} (`benchmarks/albums.py`):", "",
                      "| | right | right and sure |", "|---|---|---|",
                      f"| tracks, each on its own | {r['tracks_right_own']} of {r['tracks']} | "
                      f"{r['tracks_sure_own']} of {r['tracks']} |",
                      f"| tracks, with their album's genre | {r['tracks_right_album']} of {r['tracks']} | "
                      f"{r['tracks_sure_album']} of {r['tracks']} |",
                      f"| albums (the pooled answer) | | {r['albums_right']} of {r['albums']} |"])


def recommend_scale_table() -> str:
    """The library page's recommendations-at-scale tables (``recommend_scale.json``, and the same benchmark on
    PostgreSQL, ``recommend_scale_postgres.json``, where there is one)."""
    tables = [_recommend_scale(json.loads((RESULTS / name).read_text()))
              for name in ("recommend_scale.json", "recommend_scale_postgres.json") if (RESULTS / name).is_file()]
    return "\n\n".join(tables)


def _recommend_scale(r: dict) -> str:
    f, e, load = r["function"], r["endpoint"], r["endpoint"]["load"]
    ms = lambda v: f"{v['p50_ms']:g} / {v['p95_ms']:g} / {v['max_ms']:g} ms"  # noqa: E731
    lines = [f"{r['tracks']:,} tracks in {r['database'].split('+')[0]}, on a{_on(r)[1:-1].replace('[', ' ')} "
             f"(`benchmarks/recommend_scale.py`):", "",
             "| one listener's 10 recommendations | p50 / p95 / max | |", "|---|---|---|",
             f"| `recommend()` | {ms(f)} | the index loads once, in {f['index_load_s']:g} s"
             + (f"; the first request ranks each genre's tracks ({f['first_call_s']:g} s) |" if "first_call_s" in f else " |"),
             *([f"| the same, scoring every track (the reference, same run) | {ms(f['whole'])} | the same picks "
                f"for {f['same_picks']:.0%} of the calls |"] if "whole" in f else []),
             f"| `GET /api/me/recommendations` | {ms(e)} | the first request, sent as the server starts, waits "
             f"while the index is read ({e['first_request_s']:g} s)"
             + (f"; timed once the server had worked out {e['warm']['listeners']} listeners' recommendations ahead "
                f"({e['warm']['seconds']:g} s)" if e.get("warm") else "") + " |",
             f"| the same, {load['clients']} concurrent listeners | {ms(load)} | {load['requests_per_s']:g} requests/s, "
             f"{load['errors']} errors (loopback) |"]
    a = r.get("audio")
    if a:
        lines += [f"| `recommend()` with the audio part, every track compared | {ms(a['exact'])} | the listener's "
                  "50 likes against every embedding |",
                  f"| `recommend()` with the audio part, through the graph | {ms(a['graph'])} | candidates from the "
                  f"voyager graph (built in {a['graph']['build_s']:g} s); its top 10 shares "
                  f"{a['graph']['same_top10']:.0%} of the exact one's"
                  + (f"; after the warm-up a service runs at start ({a['graph']['warm']['listeners']} listeners in "
                     f"{a['graph']['warm']['seconds']:g} s), p95 of a listener's first request "
                     f"{a['graph']['first']['p95_ms']:g} ms, of the later ones {a['graph']['later']['p95_ms']:g} ms; a "
                     f"first request not warmed (her audio floor and graph queries worked out) p95 "
                     f"{a['graph']['cold_first']['p95_ms']:g} ms" if "cold_first" in a["graph"] else
                     f"; p95 of a listener's first request (her audio floor computed) {a['graph']['first']['p95_ms']:g} "
                     f"ms, of the later ones {a['graph']['later']['p95_ms']:g} ms" if "first" in a["graph"] else "")
                  + " |"]
    return "\n".join(lines)


def blend_table() -> str:
    """The model card's table of the genre blend (``genre_blend.json``)."""
    r = json.loads((RESEARCH / "genre_blend.json").read_text())
    g, d = r["gtzan"], r["real_dev"]
    lines = [f"| w | GTZAN blocked CV accuracy ({g['tracks']} fault-filtered training tracks, 3 fold seeds) | "
             f"real-dev: right genre (top-1), of its {d['recordings']} recordings of GTZAN's genres |", "|---|---|---|"]
    for w in r["weights"]:
        acc = g["accuracy"][str(w)]
        lines.append(f"| {w:g}{' (today)' if w == 0 else ''} | {acc['mean']:.3f} +- {acc['sd']:.3f} | "
                     f"{d['right'][str(w)]['right']} |")
    return "\n".join(lines)


def heads_table() -> str:
    """The model card's table of the training choices for music unlike GTZAN's (``head_choices.json``), in the
    benchmark's own layout."""
    sys.path.insert(0, str(ROOT / "research"))
    from head_choices import table

    return table(json.loads((RESEARCH / "head_choices.json").read_text()))


def patch_hop_table() -> str:
    """The model card's table of the tagger's patch hop on the grouped cross-validation (``patch_hop.json``)."""
    sys.path.insert(0, str(ROOT / "research"))
    from patch_hop import table

    r = json.loads((RESEARCH / "patch_hop.json").read_text())
    return (f"Written by `benchmarks/figures.py` from `research/results/patch_hop.json` (`python research/patch_hop.py`, "
            f"{r['seconds']:.0f} s on a {_on(r)[2:-1]}):\n\n" + table(r))


def learned_table() -> str:
    """The your-genres page's table of what learning a library's own recordings brings (``real_world.json``,
    ``--learn``): the packaged model and the learnt ones, with and without the taggers' word."""
    r = json.loads((RESULTS / "real_world.json").read_text())

    def row(name: str, x: dict) -> str:
        k, t, o, s = x["known"], x["tagger"], x["other"], x["sure"]
        flagged = k["flagged, best genre right"] + k["flagged, best genre wrong"]
        return (f"| {name} | {k['right']} / {flagged} / {k['confidently wrong']} | {t['right']} / "
                f"{t['confidently wrong']} | {o['sure']} | {s['right']} of {s['n']} |")

    k, t, o = r["known"], r["tagger"], r["other"]
    lines = [f"Written by `benchmarks/figures.py` from `benchmarks/results/real_world.json` "
             f"({', '.join(r['folders'])}, one run on a {r['machine']['cores']}-core {r['machine']['cpu']}; "
             f"learning took {r['learned']['seconds']:g} s):", "",
             f"| model | {k['n']} of GTZAN's genres: right / flagged / confidently wrong | {t['n']} electronic: "
             f"right / confidently wrong | {o['n']} of other genres: sure | sure answers right |",
             "|---|---|---|---|---|", row("the packaged model", r)]
    for run in r["learned"]["runs"]:
        lines += [row(f"learnt (seed {run['seed']})", run),
                  row(f"learnt (seed {run['seed']}), without the taggers' word", run["without_tagger"])]
    return "\n".join(lines)


def track_index_table() -> str:
    """The library page's table of the recommendation index's first read (``track_index.json``)."""
    r = json.loads((RESULTS / "track_index.json").read_text())
    return "\n".join([f"{r['tracks']:,} tracks in SQLite, on a {r['machine']['cores']}-core {r['machine']['cpu']}, best "
                      f"of {r['repeat']} fresh processes (`benchmarks/track_index.py`):", "",
                      "| source | the first read | peak memory | before it |", "|---|---|---|---|"]
                     + [f"| {name} | {x['seconds']:g} s | {x['peak_rss_mb']:,} MB | {x['rss_before_mb']:,} MB |"
                        for name, x in r["results"].items()])


def energy_table() -> str:
    """The library page's energy sanity table (``real_world.json``: the mean energy per real-dev folder)."""
    r = json.loads((RESULTS / "real_world.json").read_text())
    return "\n".join(["| real-dev folder | recordings | mean energy |", "|---|---|---|"]
                     + [f"| {f} | {e['n']} | {e['mean']:.2f} |" for f, e in r["energy"].items()])


def bad_inputs_tables() -> str:
    """The reliability page's tables of the hostile corpus through `predict` and the server (``bad_inputs.json``)."""
    r = json.loads((RESULTS / "bad_inputs.json").read_text())
    rows = r["results"]
    worst_mb, worst_s = max(x["peak_mb"] for x in rows), max(x["seconds"] for x in rows)
    lines = [f"Written by `benchmarks/figures.py` from `benchmarks/results/bad_inputs.json` (`python "
             f"benchmarks/bad_inputs.py` on a {_on(r)[2:-1]}; time includes each process's start-up): {len(rows)} files, "
             f"{sum(x['as_expected'] for x in rows)} as expected; worst peak {worst_mb} MB, slowest {worst_s:.1f} s; "
             f"bounds {r['bound_mb']} MB and {r['bound_s']:g} s. The genres named for the synthetic tones mean "
             "nothing; that they are answered is the point:", "",
             "| file | size | outcome | time | peak memory |", "|---|---|---|---|---|"]
    lines += [f"| {x['file']} | {x['size_kb']} KB | {x['outcome']} | {x['seconds']:.1f} s | {x['peak_mb']} MB |"
              for x in rows]
    if r.get("server"):
        lines += ["", "The server, with the packaged model, given the four heaviest of these files at once (the same "
                  "benchmark, a fresh `genrefuse serve` for each setting; peak resident memory of the server process, "
                  "VmHWM, and in brackets its peak before the uploads). Before the hardening issue four such uploads "
                  "took a server to 7.7 GB:", "",
                  "| server, 4 hostile uploads at once | answers | time | peak memory (idle) |", "|---|---|---|---|"]
        lines += [f"| --max-analyses {x['max_analyses']} | {', '.join(f'{k} {v}' for k, v in x['uploads'].items())} | "
                  f"{x['seconds']:.1f} s | {x['peak_mb']} MB ({x['idle_peak_mb']} MB) |" for x in r["server"]]
    return "\n".join(lines)


def int8_table() -> str:
    """The model card's table of the taggers' float32 and int8 graphs (``musicnn.json``, its ``int8`` part)."""
    r = json.loads((RESULTS / "musicnn.json").read_text())
    x = r["int8"]
    lines = [f"Written by `benchmarks/figures.py` from `benchmarks/results/musicnn.json` (`python benchmarks/musicnn.py` "
             f"on a {_on(r)[2:-1]}): the {x['patches']} patches of the shared GTZAN clips, one at a time as prediction "
             f"runs them, {x['threads']} thread, best of the benchmark's repeats:", "",
             "| tagger | float32, ms a patch | int8, ms a patch | int8's time | tags: mean difference | tags: largest "
             "| same top tag | penultimate features: mean difference / their spread |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {m} | {t['float32_ms']:.1f} | {t['int8_ms']:.1f} | {t['int8_ms'] / t['float32_ms']:.0%} | "
              f"{t['tag_mean_abs']:.4f} | {t['tag_max_abs']:.3f} | {t['same_top_tag']:.0%} | {t['penultimate_rel']:.1%} |"
              for m, t in x["taggers"].items()]
    if all("baseline" in t for t in x["taggers"].values()):
        lines += ["", "The first int8 graphs (int8 convolutions, output rounded to 8 bits; an older tree's graphs, "
                  "`--baseline-graphs`) in the same run:", "",
                  "| tagger | first int8 graphs, ms a patch | these, ms a patch | tags: mean difference, first | "
                  "these | penultimate features: first | these |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {m} | {t['baseline']['int8_ms']:.1f} | {t['int8_ms']:.1f} | {t['baseline']['tag_mean_abs']:.4f} | "
                  f"{t['tag_mean_abs']:.4f} | {t['baseline']['penultimate_rel']:.1%} | {t['penultimate_rel']:.1%} |"
                  for m, t in x["taggers"].items()]
    before = json.loads((RESULTS / "real_grouped_float32.json").read_text())
    after = json.loads((RESULTS / "real_grouped_int8_hop3.json").read_text())
    lines += ["", "What it changed in the answers: the grouped cross-validation over the real recordings (as under \"The "
              "recipe\" below), every candidate, with rows from the float32 taggers (`real_grouped_float32.json`, the "
              "last run before the int8 graphs) and from the int8 ones (`real_grouped_int8_hop3.json`, the last run at a "
              "3 s patch hop, as the float32 one), mean +- spread over the fold seeds:", "",
              "| candidate | right: float32 | right: int8 | confidently wrong: float32 | confidently wrong: int8 "
              "| sure answers right: float32 | sure answers right: int8 |", "|---|---|---|---|---|---|---|"]
    for name, b in before["candidates"].items():
        a = after["candidates"].get(name)
        if a is None:
            continue
        cells = [f"{100 * run['with_tagger'][k]['mean']:.1f}% +- {100 * run['with_tagger'][k]['std']:.1f}" for k in ("right", "confidently_wrong", "sure_precision")
                 for run in (b, a)]
        lines.append(f"| {name}{' (chosen)' if name == after['chosen'] else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, body: str) -> str | None:
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when the README differs")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    ap.add_argument("--model-card", type=Path, default=ROOT / "docs" / "model.md")
    ap.add_argument("--library-page", type=Path, default=ROOT / "docs" / "library.md")
    ap.add_argument("--commands-page", type=Path, default=ROOT / "docs" / "commands.md")
    ap.add_argument("--genres-page", type=Path, default=ROOT / "docs" / "your-genres.md")
    ap.add_argument("--reliability-page", type=Path, default=ROOT / "docs" / "reliability.md")
    a = ap.parse_args()
    status = 0
    blocks = ((a.readme, START, END, block), (a.model_card, GENRES_START, GENRES_END, genre_card),
              (a.model_card, "<!-- grouped:start -->", "<!-- grouped:end -->", grouped_card),
              (a.model_card, "<!-- blend:start -->", "<!-- blend:end -->", blend_table),
              (a.model_card, "<!-- heads:start -->", "<!-- heads:end -->", heads_table),
              (a.model_card, "<!-- int8:start -->", "<!-- int8:end -->", int8_table),
              (a.model_card, "<!-- patchhop:start -->", "<!-- patchhop:end -->", patch_hop_table),
              (a.library_page, "<!-- similar:start -->", "<!-- similar:end -->", similar_table),
              (a.library_page, "<!-- scale:start -->", "<!-- scale:end -->", scale_table),
              (a.library_page, "<!-- hear:start -->", "<!-- hear:end -->", audio_recommend_table),
              (a.library_page, "<!-- energy:start -->", "<!-- energy:end -->", energy_table),
              (a.library_page, "<!-- recscale:start -->", "<!-- recscale:end -->", recommend_scale_table),
              (a.library_page, "<!-- trackindex:start -->", "<!-- trackindex:end -->", track_index_table),
              (a.commands_page, "<!-- albums:start -->", "<!-- albums:end -->", albums_table),
              (a.genres_page, "<!-- learned:start -->", "<!-- learned:end -->", learned_table),
              (a.reliability_page, "<!-- badinputs:start -->", "<!-- badinputs:end -->", bad_inputs_tables))
    for path, start, end, body in blocks:
        text = path.read_text(encoding="utf-8")
        new = _replace(text, start, end, body())
        if new is None:
            print(f"{path}: no {start} ... {end} block", file=sys.stderr)
            return 2
        if a.check:
            if new != text:
                print(f"{path}: its figures are not what benchmarks/results says; run python benchmarks/figures.py",
                      file=sys.stderr)
                status = 1
            continue
        path.write_text(new, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return status

if __name__ == "__main__":
    sys.exit(main())
