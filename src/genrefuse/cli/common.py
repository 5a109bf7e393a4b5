"""What every command module shares: the command registry, one-line failures, argument types, help texts."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..io import check_output
from ..display import confidence_text
from ..parallel import default_jobs

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def _fail(msg: str) -> None:
    print(f"genrefuse: error: {msg}", file=sys.stderr)


def counted(n: int, plural: str) -> str:
    """``1 file``, ``2 files``: a count with its noun (``plural`` ends in s)."""
    return f"{n} {plural[:-1] if n == 1 else plural}"


def sureness(record: dict, rules) -> str:
    """How sure an answer was, as every command prints it: ``0.91 sure``, ``0.578 unsure``, ``0.90 unsure
    (the tagger hears jazz)``, ``0.62 unknown (...)``; ``record`` has the verdict's fields, ``rules`` the model's
    (:class:`~genrefuse.models.verdict.Rules`: the answer's genre's threshold decides the decimals)."""
    threshold = rules.threshold(record["genre"])
    c = confidence_text(record["confidence"], threshold)
    if record.get("confirmed"):
        return "confirmed"
    if record.get("unknown"):
        return f"{c} unknown (none of the model's genres; closest shown)"
    if record.get("disputed_by"):
        return f"{c} unsure (the tagger hears {record['disputed_by']})"
    if record["unsure"] and record["confidence"] >= threshold and record.get("support") is not None:
        return f"{c} unsure (the tagger hardly hears {record['genre']}: {record['support']:.2f})"
    return f"{c} {'unsure' if record['unsure'] else 'sure'}"


def _report_failures(failures: list[str], what: str) -> None:
    if failures:
        print(f"{counted(len(failures), what)} failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:                  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {text!r}")
    return value


def _at_least(low: int):
    """An argparse type: a whole number of at least ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, not {text!r}")
        return value
    return parse


_positive_int = _at_least(1)


JOBS_HELP = f"worker processes (default: all cores, {default_jobs()} here)"
DEVICE_HELP = "auto (CUDA when present; default), cpu or cuda"
CACHE_HELP = "feature cache folder (default ~/.cache/genrefuse/features)"
MODEL_HELP = ("a model folder (RUN_DIR/model), its run folder RUN_DIR, a library that learned its own model "
              "(`genrefuse learn`), or 'default' (the packaged model; the default)")
FAMILIARITY_HELP = ("answer 'unknown' (none of the model's genres) for tracks less familiar than X, 0..1: the share "
                    "of held-out known tracks that were farther from the training data (default: the model's floor, "
                    "0.05; 0 never answers unknown)")


def output_option(parser: argparse.ArgumentParser, *flags: str, kind: str | None = None, folder: bool = False,
                  resumes: bool = False, **kw) -> None:
    """Add an output path option (``--out``) whose path is checked before the command runs, by one rule for
    every command (:func:`genrefuse.io.check_output`: never inside a library, never over something of another
    kind, never into a folder that does not exist). An output file of ``kind`` that is neither ``folder`` nor
    ``resumes`` (the command carries on from it) gets ``--replace``, without which an existing one is kept."""
    action = parser.add_argument(*flags, type=Path, **kw)
    if not (folder or resumes):
        parser.add_argument("--replace", action="store_true", help=f"replace {action.metavar or action.dest.upper()} "
                            "when it exists (it must be the same kind of file; by default it is kept)")
    outputs = [*(parser.get_default("_outputs") or []), (action.dest, kind, folder, resumes)]
    parser.set_defaults(_outputs=outputs)


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output path the command was given (see :func:`output_option`), against the library in use
    too (its folder, and a SQLite database named by ``--db``)."""
    libraries = [p for p in (getattr(args, "library", None),) if p is not None]
    db = getattr(args, "db", None) or ""
    if db.startswith("sqlite:///"):
        libraries.append(db.removeprefix("sqlite:///"))
    for dest, kind, folder, resumes in getattr(args, "_outputs", None) or ():
        path = getattr(args, dest, None)
        if path is not None:
            check_output(path, kind=kind, folder=folder, resumes=resumes, libraries=libraries,
                         replace=getattr(args, "replace", False))


def embed_missing(lib, *, required: bool = True) -> None:
    """Embed, once, the tracks stored before embeddings were kept (with progress on a terminal); ``required``
    False: nothing (no error) for a library whose model reads no musicnn taggram (`learn`, `library scan`)."""
    from ..library.similar import fill_embeddings, missing
    from ..progress import progress_bar

    if not required and not lib.handle.model.bundle.uses_tags:
        return
    todo = missing(lib)
    if not todo:
        return
    print(f"embedding {counted(len(todo), 'tracks')} stored before similar tracks were kept (once)...",
          file=sys.stderr)
    with progress_bar(total=len(todo), desc="embedding", unit="track") as bar:
        report = fill_embeddings(lib, todo, each=lambda _: bar.update(1))
    for line in report.failures:
        print(line, file=sys.stderr)
    if report.failures:
        print(f"{counted(len(report.failures), 'tracks')} could not be embedded and are left out", file=sys.stderr)
