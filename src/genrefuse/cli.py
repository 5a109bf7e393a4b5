"""The ``genrefuse`` command: one thin sub-command per step, each calling a library function."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import GenrefuseError
from .parallel import default_jobs

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def _fail(msg: str) -> None:
    print(f"genrefuse: error: {msg}", file=sys.stderr)


def _report_failures(failures: list[str], what: str) -> None:
    if failures:
        print(f"{len(failures)} {what} failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)


# ----------------------------------------------------------------------------- foundation
@command("synth")
def cmd_synth(a: argparse.Namespace) -> int:
    from .datasets.synth import SYNTH_GENRES, synthesize

    genres = tuple(a.genres.split(",")) if a.genres else SYNTH_GENRES
    paths = synthesize(a.out_dir, per_genre=a.per_genre, seconds=a.seconds, seed=a.seed, genres=genres, jobs=a.jobs)
    print(f"{len(paths)} clips of {len(genres)} genres in {a.out_dir}")
    return 0


@command("features")
def cmd_features(a: argparse.Namespace) -> int:
    from .datasets.extract import features_table
    from .datasets.layouts import discover

    items = discover(a.inputs)
    if not items:
        raise GenrefuseError(f"no audio files found in {', '.join(map(str, a.inputs))}")
    report = features_table(items, a.out, jobs=a.jobs)
    print(f"{report.ok} rows written to {a.out}")
    _report_failures(report.failures, "files")
    return report.exit_status


@command("extract")
def cmd_extract(a: argparse.Namespace) -> int:
    from .datasets.extract import extract_dataset
    from .datasets.layouts import discover

    items = discover(a.dataset)
    if not items:
        raise GenrefuseError(f"{a.dataset}: no audio files found")
    rows, report = extract_dataset(items, a.out, jobs=a.jobs)
    print(f"{len(rows)} clips cached in {a.out} (manifest: {Path(a.out) / 'manifest.csv'})")
    _report_failures(report.failures, "files")
    return report.exit_status


@command("demo")
def cmd_demo(a: argparse.Namespace) -> int:
    from .demo import run_demo

    paths = run_demo(out=a.out, data=a.data, per_genre=a.per_genre, seconds=a.seconds, jobs=a.jobs)
    for k, v in paths.items():
        print(f"{k:>9}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="genrefuse", description="Music genre classification (CNN + MLP feature fusion) and a genre-filed music library.")
    p.add_argument("--version", action="version", version=f"genrefuse {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    jobs_help = f"worker processes (default: all cores, {default_jobs()} here)"

    s = sub.add_parser("synth", help="render a labelled synthetic-genre dataset (folder per genre)")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--per-genre", type=int, required=True, help="clips per genre")
    s.add_argument("--seconds", type=float, default=30.0, help="clip length (default 30, as GTZAN)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--genres", help="comma-separated subset of the synthetic genres")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("features", help="compute the 57-feature GTZAN table of audio files or folders")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files, folders (genre subfolders give the label) or a manifest CSV")
    s.add_argument("--out", type=Path, required=True, help="CSV to write (columns of features_30_sec.csv)")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("extract", help="cache both model inputs (Mel and table) of a whole dataset")
    s.add_argument("dataset", type=Path, help="GTZAN copy, folder of genre folders, or manifest CSV (path,label)")
    s.add_argument("--out", type=Path, required=True, help="cache folder")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("demo", help="run the whole pipeline on a synthetic dataset (or --data)")
    s.add_argument("--data", type=Path, help="a real dataset instead (GTZAN copy or folder of genre folders)")
    s.add_argument("--out", type=Path, default=Path("out/demo"), help="where everything goes (default out/demo)")
    s.add_argument("--per-genre", type=int, default=40, help="synthetic clips per genre (default 40)")
    s.add_argument("--seconds", type=float, default=30.0, help="synthetic clip length (default 30)")
    s.add_argument("--jobs", type=int, help=jobs_help)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except GenrefuseError as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
