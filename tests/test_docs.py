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
