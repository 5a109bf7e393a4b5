"""The ``genrefuse`` command: one thin sub-command per step, each calling a library function.

Commands on data and models are in :mod:`.model_commands`, those on the library, its listeners and the
service in :mod:`.library_commands`; this module builds the parser and runs one command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GenrefuseError
from . import library_commands, model_commands, similar_commands
from ..logs import level_for, log_to_stderr
from .common import COMMANDS, _fail, check_outputs


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__

        parser.exit(message=f"genrefuse {__version__}\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genrefuse", description="Music genre classification (CNN + MLP feature "
                                "fusion) and a genre-filed music library.")
    p.add_argument("--version", action=_Version, help="show the version and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more of the log on stderr (debug)")
    p.add_argument("-q", "--quiet", action="count", default=0, help="less of the log: -q warnings only, -qq errors only")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model_commands.add_parsers(sub)
    library_commands.add_parsers(sub)
    similar_commands.add_parsers(sub)
    _log_flags_everywhere(sub)
    return p


def _log_flags_everywhere(sub: argparse._SubParsersAction) -> None:
    """Let -v and -q come after the command too (``genrefuse ingest DIR -q``), in every subcommand at any depth;
    given there, they replace those given before it."""
    for parser in sub.choices.values():
        parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                            help="more of the log on stderr (as before the command)")
        parser.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS,
                            help="less of the log (as before the command)")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _log_flags_everywhere(action)


TCMALLOC = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
            "/usr/lib64/libtcmalloc_minimal.so.4")
HEAVY = {"train", "compare", "demo", "evaluate", "classify", "embed"}      # predict: start-up matters more


def _reexec_with_tcmalloc(argv: list[str]) -> None:
    """PyTorch training on CPU ran 2.05x faster here with tcmalloc (benchmarks/training.py); preload it
    when it is installed.

    Set GENREFUSE_TCMALLOC=0 to keep the default allocator.
    """
    import os

    if os.environ.get("GENREFUSE_TCMALLOC", "1") == "0" or "tcmalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    if not argv or argv[0] not in HEAVY:
        return
    lib = next((p for p in TCMALLOC if os.path.exists(p)), None)
    if lib:
        env = {**os.environ, "LD_PRELOAD": ":".join(filter(None, [lib, os.environ.get("LD_PRELOAD")]))}
        os.execve(sys.executable, [sys.executable, "-m", "genrefuse.cli", *argv], env)


def _files_not_options(argv: list[str]) -> list[str]:
    """A file named like an option (``--help.wav``) is passed as ``./--help.wav``, so that it is read as the
    file it is."""
    return [f"./{a}" if a.startswith("-") and len(a) > 1 and Path(a).is_file() else a for a in argv]


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        _reexec_with_tcmalloc(sys.argv[1:])
    parser = build_parser()
    argv = _files_not_options(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv                    # as given: what a data-parallel launch passes on to its processes
    log_to_stderr(level_for(args.verbose - args.quiet))
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):     # a non-UTF-8 file name is written out as the bytes it is
            stream.reconfigure(errors="surrogateescape")
    try:
        check_outputs(args)
        return COMMANDS[args.command](args)
    except GenrefuseError as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except ModuleNotFoundError as exc:  # a light install without the extra this command needs
        from ..extras import missing_extra_message

        message = missing_extra_message(args.command, exc)
        if message is None:
            raise
        _fail(message)
        return 2
    except BrokenPipeError:             # `genrefuse library list | head`: the reader has what it wanted
        _quiet_stdout()
        return 0
    except Exception as exc:
        message = _database_problem(exc, args) or _storage_problem(exc, args)
        if message is None:
            raise
        _fail(message)
        return 2


def _storage_problem(exc: Exception, args: argparse.Namespace) -> str | None:
    """One line for a disk or file system that fails the command (full, read-only), naming the file."""
    from ..errors import STORAGE_PROBLEMS, storage_problem

    if not isinstance(exc, OSError) or exc.errno not in STORAGE_PROBLEMS:
        return None
    where = exc.filename or getattr(args, "library", None) or "genrefuse"
    return f"{where}: {storage_problem(exc)[1]}"


def _quiet_stdout() -> None:
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # Python's flush at exit would fail again


def _database_problem(exc: Exception, args: argparse.Namespace) -> str | None:
    """One line for a library database that cannot be used (damaged, locked), naming it."""
    if not type(exc).__module__.startswith("sqlalchemy") or not getattr(args, "library", None):
        return None
    from ..library.db import database_problem, default_db_url

    return database_problem(exc, args.db or default_db_url(args.library))
