"""stdout carries only results: library code logs (never prints), and every --json command's stdout is
JSON, line by line, with the log on stderr."""
import ast
import json
import subprocess
import sys
from pathlib import Path

from conftest import write

SRC = Path(__file__).resolve().parents[1] / "src" / "genrefuse"


def test_no_print_in_library_code():
    """print belongs to the command line (cli/) and to the build scripts' main(); the rest logs."""
    found = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        allowed = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "main"
                   for n in ast.walk(f)}
        found += [f"{path.relative_to(SRC)}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print" and id(n) not in allowed]
    assert not found, f"print in library code: {found}"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "genrefuse.cli", "-v", *args], capture_output=True, text=True, timeout=600)


def test_every_json_command_prints_only_json(tmp_path, tone):
    music = tmp_path / "music"
    write(music / "a tone.wav", tone)
    (music / "broken.wav").write_bytes(b"RIFF not really a wave file")
    lib = tmp_path / "lib"
    runs = {"predict": _cli("predict", str(music), "--json"),
            "ingest": _cli("ingest", str(music), "--library", str(lib), "--json", "--jobs", "1")}
    runs["library review"] = _cli("library", "review", "--library", str(lib), "--json")
    for name, r in runs.items():
        lines = r.stdout.splitlines()
        assert lines, f"{name}: nothing on stdout ({r.stderr[-500:]})"
        for line in lines:
            json.loads(line)                 # any stray log or progress line would fail here
        assert "Traceback" not in r.stderr, r.stderr
    for name in ("predict", "ingest"):           # a failed file is reported too, as JSON or on stderr
        objects = [json.loads(line) for line in runs[name].stdout.splitlines()]
        assert any("broken.wav" in json.dumps(o) for o in objects) or "broken.wav" in runs[name].stderr, name
        assert any("a tone.wav" in json.dumps(o) for o in objects), name


def test_the_log_follows_stderr_when_a_redirection_ends(capsys):
    """The command line's log handler writes to stderr as it is when a record comes, so that a record logged
    after a redirection of stderr ended (a service's background thread finishing after a test's capture
    closed) reaches stderr rather than a closed file."""
    import io
    import logging

    from genrefuse.logs import log_to_stderr

    redirected, before = io.StringIO(), sys.stderr
    sys.stderr = redirected
    try:
        log_to_stderr(logging.INFO)
        logging.getLogger("genrefuse.test").info("during")
    finally:
        sys.stderr = before
    assert redirected.getvalue() == "genrefuse: during\n"
    redirected.close()
    logging.getLogger("genrefuse.test").info("after")
    err = capsys.readouterr().err
    assert "genrefuse: after" in err and "Logging error" not in err
