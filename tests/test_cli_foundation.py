import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from genrefuse.cli import main
from genrefuse.datasets.cache import FeatureCache, read_manifest
from genrefuse.datasets.extract import extract_dataset, load_manifest_dataset
from genrefuse.datasets.layouts import discover
from genrefuse.features import FEATURE_COLUMNS


def test_features_command_reports_and_skips_bad_files(synth_dir, tmp_path, capsys):
    bad = tmp_path / "bad.mp3"
    bad.write_text("not audio")
    out = tmp_path / "t.csv"
    rc = main(["features", str(synth_dir / "dub"), str(bad), "--out", str(out), "--jobs", "1"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "1 file failed" in err and "bad.mp3: not a readable audio file" in err
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 6 and rows[0]["filename"] == "dub.00000.wav"
    assert rows[0]["label"] == "" and float(rows[0]["length"]) == 6 * 22050
    assert list(rows[0])[2:-1] == list(FEATURE_COLUMNS)


def test_features_labels_from_genre_folders(synth_dir, tmp_path):
    out = tmp_path / "t.csv"
    assert main(["features", str(synth_dir), "--out", str(out), "--jobs", "2"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 36 and {r["label"] for r in rows} == {"ambient", "chiptune", "doom", "dub", "swing", "techno"}


def test_extract_caches_and_second_run_does_no_audio_work(synth_dir, tmp_path):
    items = discover(synth_dir)
    rows, report = extract_dataset(items, tmp_path, jobs=2, progress=False)
    assert report.ok == 36 and not report.failures
    cache = FeatureCache(tmp_path)
    stamps = {d: cache.path_for(d).stat().st_mtime_ns for _, d in rows}
    rows2, _ = extract_dataset(items, tmp_path, jobs=1, progress=False)
    assert rows2 == rows
    assert {d: cache.path_for(d).stat().st_mtime_ns for _, d in rows2} == stamps
    ds = load_manifest_dataset(tmp_path)
    assert ds.mel.shape == (36, 128, 1300) and ds.table.shape == (36, 57)
    assert read_manifest(tmp_path / "manifest.csv")[0][0].label == "ambient"
    assert np.isfinite(ds.table).all()


def test_cli_one_line_error_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "extract", str(tmp_path / "nope"), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"genrefuse: error: {tmp_path / 'nope'}: no such file or folder"


def test_every_command_line_option_is_documented():
    import argparse

    from genrefuse.cli import build_parser

    def parsers(p):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sp in a.choices.values():
                    yield from parsers(sp)

    undocumented = [f"{p.prog}: {a.dest}" for p in parsers(build_parser()) for a in p._actions
                    if not isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
                    and not a.help]
    assert not undocumented, undocumented


def test_a_file_named_like_an_option_is_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("--help.wav").write_text("not audio")
    assert main(["predict", "--json", "--help.wav"]) == 1
    line = json.loads(capsys.readouterr().out.strip())
    assert line["path"].endswith("--help.wav") and "not a readable audio file" in line["error"]


def test_log_flags_are_taken_after_the_command_too(synth_dir, capsys):
    """`genrefuse ingest DIR -q` (issue 42): -v and -q after the command, at any depth, as before it."""
    from genrefuse.cli.main import build_parser

    p = build_parser()
    a = p.parse_args(["ingest", "x", "--library", "l", "-q"])
    assert (a.quiet, a.verbose) == (1, 0)
    a = p.parse_args(["-v", "library", "list", "--library", "l", "-qq"])
    assert (a.verbose, a.quiet) == (1, 2)
    assert p.parse_args(["-q", "users", "list", "--library", "l"]).quiet == 1      # before it, as always
    assert main(["features", str(synth_dir / "dub"), "--out", "/dev/null/x.csv", "-q"]) == 2     # parsed, then refused
    assert "no such folder" in capsys.readouterr().err
