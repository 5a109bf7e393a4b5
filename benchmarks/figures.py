"""The README's speed figures, written from the benchmarks' own results rather than typed by hand.

Reads ``benchmarks/results/startup.json`` (`benchmarks/startup.py --json`), ``benchmarks/results/peers.json``
(`benchmarks/peers.py --json`) and ``benchmarks/results/real_world.json`` (`benchmarks/real_world.py --json`)
and writes the lines between ``<!-- figures:start -->`` and
``<!-- figures:end -->`` in README.md. After re-running a benchmark with ``--json benchmarks/results/NAME.json``:

    python benchmarks/figures.py            # rewrite the README's block
    python benchmarks/figures.py --check    # exit 1 when the README's block is not what the results say (a test runs it)
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
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
    parts = [f"- Throughput (`benchmarks/peers.py`, {r['clips']} synthetic 30 s clips): `classify --jobs 2` "
             f"{ours['clips_per_s']:.2f} clips/s"]
    if older:
        parts.append(f", {ours['clips_per_s'] / older['clips_per_s']:.2f}x the older code named in the same run")
    if essentia:
        parts.append(f" and {ours['x_essentia']:.1f}x Essentia's MusicExtractor ({essentia['clips_per_s']:.2f} clips/s)")
    parts.append(f"; the musicnn tagger is {share['musicnn tagger']:.0%} of a clip's time, HPSS {share['HPSS']:.0%}.")
    return "".join(parts)


def _outcomes(r: dict) -> str:
    k, t, o, s = r["known"], r["tagger"], r["other"], r["sure"]
    flagged = k["flagged, best genre right"] + k["flagged, best genre wrong"]
    return (f"of {k['n']} in GTZAN's genres {k['right']} right, {flagged} flagged (unsure or unknown), "
            f"{k['confidently wrong']} confidently wrong; of {t['n']} electronic ones {t['right']} named so; of "
            f"{o['n']} of other genres {o['unknown']} unknown, {o['unsure']} unsure, {o['sure']} \"sure\" of a genre "
            f"they are not; {s['right']} of {s['n']} sure answers right ({s['precision']:.0%})")


def _real_world(r: dict) -> str:
    return (f"- Real recordings from outside GTZAN (`benchmarks/real_world.py`, {', '.join(r['folders'])}, the "
            f"{r['model']} model): {_outcomes(r)}. The same answers in the same run without the musicnn "
            f"tagger's word (before it): {_outcomes(r['without_tagger'])}.")


def block() -> str:
    machine = json.loads((RESULTS / "startup.json").read_text())["machine"]
    lines = [f"Written by `benchmarks/figures.py` from `benchmarks/results/` (a {machine['cores']}-core "
             f"{machine['cpu']}):", "",
             _startup(json.loads((RESULTS / "startup.json").read_text())),
             _peers(json.loads((RESULTS / "peers.json").read_text())),
             _real_world(json.loads((RESULTS / "real_world.json").read_text()))]
    return "\n".join(textwrap.fill(line, width=110, subsequent_indent="  ", break_on_hyphens=False) if line else line
                     for line in lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when the README differs")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    a = ap.parse_args()
    text = a.readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{a.readme}: no {START} ... {END} block", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{block()}\n{END}{tail}"
    if a.check:
        if new != text:
            print(f"{a.readme}: its figures are not what benchmarks/results says; run python benchmarks/figures.py",
                  file=sys.stderr)
            return 1
        return 0
    a.readme.write_text(new, encoding="utf-8")
    print(block())
    return 0


if __name__ == "__main__":
    sys.exit(main())
