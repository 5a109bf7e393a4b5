"""The one runner of the benchmarks: a benchmark declares its arguments and measures; the runner parses the command
line, prints the benchmark's tables and lines, and writes its results with the machine they were measured on to
``--json`` (the file ``figures.py`` reads into the README and the docs).

    from _harness import Report, Table, run

    def arguments(ap):
        ap.add_argument("--tracks", type=int, default=32)

    def measure(a) -> Report:
        ...
        return Report({"tracks": a.tracks, ...}, [Table(["case", "s"], rows)], ["aim: ... met"])

    if __name__ == "__main__":
        run(measure, doc=__doc__, arguments=arguments)
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, write_json  # noqa: E402


@dataclass
class Table:
    """A Markdown table on stdout: its ``header`` and ``rows`` (cells printed with ``str``), under ``title``."""

    header: list[str]
    rows: list[list]
    title: str = ""


@dataclass
class Report:
    """What a benchmark measured: ``data`` (written to ``--json``, with the machine and the seconds it took),
    ``tables`` and ``lines`` (printed, in that order)."""

    data: dict
    tables: list[Table] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def run(measure: Callable[[argparse.Namespace], Report], *, doc: str | None,
        arguments: Callable[[argparse.ArgumentParser], None] | None = None, argv: list[str] | None = None) -> Report:
    """Parse ``argv`` (default: the command line) with the benchmark's ``arguments`` and ``--json``, run
    ``measure``, print what it reports and write its data (with the machine) to ``--json`` when given."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if arguments is not None:
        arguments(ap)
    ap.add_argument("--json", type=Path, help="also write the results, with the machine, here (benchmarks/results/"
                                              "NAME.json is what benchmarks/figures.py reads)")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    report = measure(a)
    seconds = time.perf_counter() - t
    for table in report.tables:
        if table.title:
            print(table.title)
        print_table(table.header, table.rows)
    for line in report.lines:
        print(line)
    print(f"({seconds:.0f} s)")
    write_json(a.json, {**report.data, "seconds": round(seconds, 1)})
    return report
