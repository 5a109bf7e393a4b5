"""`library scan --forget` forgets carefully (a drive not mounted is not a folder emptied), and `library check`
verifies every file's audio, tagged or not, stored, linked or indexed in place."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import soundfile as sf

from genrefuse.cli import main

pytestmark = pytest.mark.xdist_group("library")


def count(lib: Path, table: str = "tracks") -> int:
    with sqlite3.connect(lib / "library.sqlite") as db:
        return db.execute(f"select count(*) from {table}").fetchone()[0]


@pytest.fixture
def in_place(table_model, train_dir, tmp_path, capsys):
    """A "drive" folder of 4 clips indexed in place, with a listener who likes one of them."""
    drive = tmp_path / "drive"
    drive.mkdir()
    for g in ("doom", "dub", "swing", "techno"):
        shutil.copy(train_dir / g / f"{g}.00007.wav", drive)
    lib = tmp_path / "lib"
    args = ["--library", str(lib), "--model", str(table_model)]
    assert main(["ingest", str(drive), "--in-place", *args, "--jobs", "1"]) == 0
    assert main(["users", "add", "ann", "--likes", "doom", *args]) == 0
    assert main(["feedback", "ann", "1", "like", *args]) == 0
    capsys.readouterr()
    return drive, lib, args


def test_an_unmounted_drive_forgets_nothing(in_place, capsys):
    drive, lib, args = in_place
    hidden = drive.parent / "unplugged"
    drive.rename(hidden)
    drive.mkdir()                                     # the mount point stays, empty
    assert main(["library", "scan", "--forget", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no audio file there now" in err and "--force" in err
    assert count(lib) == 4 and count(lib, "feedback") == 1
    drive.rmdir()
    hidden.rename(drive)                              # plugged in again: nothing was lost
    assert main(["library", "scan", "--forget", *args]) == 0 and count(lib) == 4


def test_forgetting_most_tracks_needs_force_and_keeps_a_backup(in_place, capsys):
    drive, lib, args = in_place
    for p in sorted(drive.glob("*.wav"))[:3]:
        p.unlink()
    assert main(["library", "scan", "--forget", *args]) == 2
    assert "3 of 4 tracks" in capsys.readouterr().err and count(lib) == 4
    assert main(["library", "scan", "--forget", "--force", *args]) == 0
    err = capsys.readouterr().err
    assert count(lib) == 1
    (backup,) = (lib / "backups").glob("*.sqlite")
    assert str(backup) in err
    with sqlite3.connect(backup) as db:              # what was forgotten can be brought back
        assert db.execute("select count(*) from tracks").fetchone()[0] == 4
        assert db.execute("select count(*) from feedback").fetchone()[0] == 1


def test_check_verifies_the_audio_of_tagged_linked_and_in_place_files(table_model, train_dir, tmp_path, capsys):
    import mutagen

    music = tmp_path / "music"
    music.mkdir()
    for g in ("doom", "dub", "swing"):
        y, sr = sf.read(train_dir / g / f"{g}.00008.wav", dtype="int16")
        sf.write(music / f"{g}.flac", y, sr, format="FLAC")
        f = mutagen.File(music / f"{g}.flac")
        f["genre"] = "Tagged"
        f.save()
    lib = tmp_path / "lib"
    args = ["--library", str(lib), "--model", str(table_model)]
    assert main(["ingest", str(music / "doom.flac"), "--write-tags", *args, "--jobs", "1"]) == 0
    assert main(["ingest", str(music / "dub.flac"), "--link", *args, "--jobs", "1"]) == 0
    assert main(["ingest", str(music / "swing.flac"), "--in-place", *args, "--jobs", "1"]) == 0
    assert main(["library", "check", *args]) == 0          # a genre tag written since is no damage
    capsys.readouterr()
    with sqlite3.connect(lib / "library.sqlite") as db:
        paths = [Path(p) if p.startswith("/") else lib / p for (p,) in
                 db.execute("select stored_path from tracks order by id")]
    for p in paths:                                          # each cut to a third: tags intact, audio not
        data = p.read_bytes()
        p.write_bytes(data[:len(data) // 3])
    assert main(["library", "check", *args]) == 1
    out = capsys.readouterr().out
    assert out.count("no longer holds the recording") + out.count("cannot be decoded") == 3, out
