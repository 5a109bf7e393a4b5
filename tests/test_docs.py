"""The documentation site builds with `mkdocs build --strict` (no broken link, no missing page), and its
generated command reference lists every command and every option of the command line."""
import argparse
import html
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly_and_the_reference_lists_every_option(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install mkdocs mkdocs-material)")
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    page = html.unescape((site / "reference" / "index.html").read_text())
    from genrefuse.cli.main import build_parser

    def walk(parser, prefix):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    yield f"{prefix} {name}", sub
                    yield from walk(sub, f"{prefix} {name}")

    commands = list(walk(build_parser(), "genrefuse"))
    assert len(commands) > 20
    for name, sub in commands:
        assert name in page, name
        for a in sub._actions:
            for option in a.option_strings:
                assert option in page, f"{name} {option}"


def test_the_readme_s_speed_figures_are_the_benchmarks_results():
    """The README's start-up and throughput lines are written by benchmarks/figures.py from
    benchmarks/results/*.json; a hand edit of either side is caught here."""
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "figures.py"), "--check"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_readme_s_example_answers_are_what_predict_prints():
    """The README's example `genrefuse predict` lines (two shared GTZAN clips) and its quoted answer for the blues
    clip are what the command prints with the packaged model: same genre, same sure or unsure, the same numbers to
    the printed digits (within conftest.PINNED on a CPU whose 8-bit products can saturate)."""
    import re

    from conftest import PINNED, shared_path

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("`genrefuse predict` prints a line per file", 1)[1].split("```", 2)[1]
    expected = {line.split("\t")[0]: line.split("\t")[1:] for line in block.strip().splitlines()}
    quoted = re.search(r'the blues one is answered\s+"(\w+) ([\d.]+) (sure|unsure)"', readme)
    assert len(expected) == 2 and quoted, "the README's example answers moved; update this test with them"
    clips = {name: shared_path("gtzan-clips", name.split(".")[0], name) for name in [*expected, "blues.00000.au"]}
    r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", *map(str, clips.values())],
                       capture_output=True, text=True, timeout=120, check=True)
    got = {Path(line.split("\t")[0]).name: line.split("\t")[1:] for line in r.stdout.strip().splitlines()}
    numbers = lambda text: [float(x) for x in re.findall(r"\d+\.\d+", text)]  # noqa: E731

    def same(ours: list[str], theirs: list[str]) -> bool:
        words = lambda fields: [w for f in fields for w in re.findall(r"[a-z&]+", f)]  # noqa: E731
        a, b = numbers(" ".join(ours)), numbers(" ".join(theirs))
        return words(ours) == words(theirs) and len(a) == len(b) and all(abs(x - y) <= PINNED + 0.006
                                                                         for x, y in zip(a, b))

    for name, fields in expected.items():
        assert same(got[name], fields), (name, got[name], fields)
    genre, confidence, verdict = quoted.groups()
    assert same(got["blues.00000.au"][:2], [genre, f"{confidence} {verdict}"]), got["blues.00000.au"]
