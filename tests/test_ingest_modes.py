"""A library you can point at a real collection (issue 20): one track per recording, the user's files left
where and as they are unless asked, a re-scan that follows them, batches that stream and stop on Ctrl-C."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from genrefuse.cli import main

pytestmark = pytest.mark.xdist_group("library")


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder``: relative path -> SHA-256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rows(lib: Path) -> list[tuple]:
    with sqlite3.connect(lib / "library.sqlite") as db:
        return db.execute("select id, stored_path, genre, audio_hash from tracks order by id").fetchall()


@pytest.fixture
def music(train_dir, tmp_path) -> Path:
    """A user's folder: four clips as flac, one of them also as wav (the same 16-bit samples)."""
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    for i, g in enumerate(("doom", "dub", "swing", "techno")):
        y, sr = sf.read(train_dir / g / f"{g}.00001.wav", dtype="int16")
        sf.write(folder / ("sub" if i % 2 else "") / f"{g}.flac", y, sr, format="FLAC")
    y, sr = sf.read(train_dir / "dub" / "dub.00001.wav", dtype="int16")
    sf.write(folder / "dub copy.wav", y, sr, subtype="PCM_16")
    import mutagen

    f = mutagen.File(folder / "doom.flac")          # a genre tag: a correction rewrites it in the library's file
    f["genre"] = "Doom"
    f.save()
    return folder


def test_a_retagged_copy_and_another_container_are_one_track(table_model, music, tmp_path, capsys):
    import mutagen

    lib = tmp_path / "lib"
    args = ["--model", str(table_model), "--library", str(lib), "--jobs", "1"]
    assert main(["ingest", str(music / "sub" / "dub.flac"), *args]) == 0
    capsys.readouterr()
    retagged = tmp_path / "retagged.flac"
    shutil.copy(music / "sub" / "dub.flac", retagged)
    f = mutagen.File(retagged)
    f["genre"] = "Reggae"
    f.save()
    assert retagged.read_bytes() != (music / "sub" / "dub.flac").read_bytes()
    assert main(["ingest", str(retagged), str(music / "dub copy.wav"), *args]) == 0
    out = capsys.readouterr()
    assert out.out.count("the same recording as track 1") == 2, out.out
    assert "0 tracks added" in out.err and len(rows(lib)) == 1
    # an older library's rows have no audio hash: only a same-length row is decoded to find it
    with sqlite3.connect(lib / "library.sqlite") as db:
        db.execute("update tracks set audio_hash = null")
    assert main(["ingest", str(retagged), str(music / "doom.flac"), *args]) == 0
    assert "the same recording as track 1" in capsys.readouterr().out
    (one, two) = rows(lib)
    assert one[3] is not None and two[1].startswith("doom/")


@pytest.mark.parametrize("mode", ["copy", "link", "in-place"])
def test_copy_link_and_in_place_leave_the_users_folder_as_it_was(mode, table_model, music, tmp_path, capsys):
    lib = tmp_path / "lib"
    before = tree(music)
    args = ["--model", str(table_model), "--library", str(lib)]
    assert main(["ingest", str(music), f"--{mode}", *args, "--jobs", "2"]) == 0
    assert "4 tracks added" in capsys.readouterr().err                  # the wav is the same recording as dub
    stored = rows(lib)
    assert len(stored) == 4
    if mode == "in-place":
        assert all(Path(p).is_absolute() and Path(p).is_relative_to(music.resolve()) for _, p, _, _ in stored)
        assert not [p for p in lib.iterdir() if p.is_dir() and p.name not in {"playlists", ".features", ".locks",
                                                                               ".incoming"}]
        playlist = next((lib / "playlists").glob("*.m3u8")).read_text()
        assert str(music.resolve()) in playlist
    else:
        assert all((lib / p).is_file() for _, p, _, _ in stored)
        if mode == "link":
            assert all((lib / p).stat().st_nlink == 2 for _, p, _, _ in stored)
    # a correction (of the tagged file: its tag is rewritten in a copy or link) and a removal: the library's
    # own business, never the user's files
    tid = next(t for t, p, _, _ in stored if Path(p).name.startswith("doom"))
    assert main(["library", "relabel", str(tid), "ambient", *args]) == 0
    if mode != "in-place":
        import mutagen

        fixed = next(lib / p for t, p, _, _ in rows(lib) if t == tid)
        assert mutagen.File(fixed)["genre"] == ["Ambient"] and fixed.stat().st_nlink == 1
    assert main(["library", "remove", str(next(t for t, _, _, _ in stored if t != tid)), *args]) == 0
    assert tree(music) == before                                      # byte-identical, nothing gone
    capsys.readouterr()
    assert main(["library", "check", *args]) == 0, capsys.readouterr()
    said = capsys.readouterr()
    n = len(rows(lib))                # every track's file counted, also where it is ("54 tracks, 0 files" before)
    where = f" ({n} indexed where they are)" if mode == "in-place" else ""
    assert f"no problems: {n} tracks, {n} files{where}" in said.out + said.err
    # the confirmed track: a person's word is never "unsure", whatever the model's probability of it
    from genrefuse.library.db import Track
    from genrefuse.library.library import Library

    library = Library.open(lib, table_model, create=False)
    with library.Session() as s:
        confirmed = library.describe(s.get(Track, tid))
    assert confirmed["confirmed"] and confirmed["genre"] == "ambient" and not confirmed["unsure"]


def test_move_leaves_nothing_behind(table_model, music, tmp_path, capsys):
    lib = tmp_path / "lib"
    (music / "dub copy.wav").unlink()
    before = tree(music)
    assert main(["ingest", str(music), "--move", "--model", str(table_model), "--library", str(lib)]) == 0
    assert tree(music) == {}
    stored = {hashlib.sha256((lib / p).read_bytes()).hexdigest() for _, p, _, _ in rows(lib)}
    assert stored == set(before.values())                             # every file arrived, byte for byte
    assert main(["library", "check", "--model", str(table_model), "--library", str(lib)]) == 0


def test_scan_follows_moved_files_reports_gone_ones_and_adds_new(table_model, music, train_dir, tmp_path, capsys):
    import mutagen

    lib = tmp_path / "lib"
    args = ["--model", str(table_model), "--library", str(lib)]
    (music / "dub copy.wav").unlink()
    assert main(["ingest", str(music), "--in-place", *args, "--jobs", "1"]) == 0
    ids = {Path(p).name: tid for tid, p, _, _ in rows(lib)}
    capsys.readouterr()
    (music / "renamed").mkdir()
    os.rename(music / "doom.flac", music / "renamed" / "doom (live).flac")         # moved and renamed
    os.rename(music / "sub" / "dub.flac", music / "dub2.flac")
    f = mutagen.File(music / "dub2.flac")                                           # ... and re-tagged
    f["genre"] = "Dub"
    f.save()
    (music / "swing.flac").unlink()                                                 # gone
    y, sr = sf.read(train_dir / "ambient" / "ambient.00003.wav", dtype="int16")
    sf.write(music / "new.flac", y, sr, format="FLAC")                              # new
    assert main(["library", "scan", *args, "--jobs", "1"]) == 1                      # a file is gone
    out = capsys.readouterr()
    assert f"track {ids['doom.flac']} moved" in out.out and f"track {ids['dub.flac']} moved" in out.out
    assert f"track {ids['swing.flac']} gone" in out.out and "new.flac" in out.out and "1 new track added" in out.err
    paths = {tid: p for tid, p, _, _ in rows(lib)}
    assert paths[ids["doom.flac"]].endswith("renamed/doom (live).flac") and len(paths) == 5
    assert main(["library", "scan", *args, "--forget"]) == 0
    assert len(rows(lib)) == 4 and main(["library", "check", *args]) == 0


def _interrupt(cmd: list[str], *, started, tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``cmd`` in its own process group, Ctrl-C it (SIGINT to the group, as a terminal does) once
    ``started()`` holds; returns the result and the seconds from the signal to the exit."""
    out, err = open(tmp_path / "out.txt", "w+b"), open(tmp_path / "err.txt", "w+b")
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True,
                            env={**os.environ, "GENREFUSE_TCMALLOC": "0"},
                            # as a terminal's command has it, also where the tests run in the background: a shell's
                            # `cmd &` ignores SIGINT, the child inherits that, and Python then never raises
                            # KeyboardInterrupt (the command ran to its end and exited 0)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not started():
        time.sleep(0.1)
    assert proc.poll() is None, "finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.time()
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    took = time.time() - t0
    out.seek(0)
    err.seek(0)
    return subprocess.CompletedProcess(cmd, proc.returncode, out.read().decode(), err.read().decode()), took


def test_ctrl_c_stops_an_ingest_and_a_classify_with_their_work_kept(table_model, train_dir, tmp_path):
    lib = tmp_path / "lib"
    cmd = [sys.executable, "-m", "genrefuse.cli", "ingest", str(train_dir / "doom"), str(train_dir / "dub"),
           "--model", str(table_model), "--library", str(lib), "--jobs", "2"]

    def some_stored() -> bool:
        try:
            return len(rows(lib)) >= 2
        except sqlite3.Error:
            return False

    r, took = _interrupt(cmd, started=some_stored, tmp_path=tmp_path)
    assert r.returncode == 130, (took, r.stderr)          # exited by itself (a hang is killed after 30 s: -9)
    listed = [line for line in r.stdout.splitlines() if "\tadded (id" in line]
    assert 2 <= len(listed) < 20 and len(listed) == len(rows(lib)), (r.stdout, rows(lib))
    assert "files not done" in r.stderr and "run the same `genrefuse ingest` again" in r.stderr
    assert "Traceback" not in r.stderr
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and len(rows(lib)) == 20
    assert again.stdout.count("already in the library") == len(listed)
    assert main(["library", "check", "--model", str(table_model), "--library", str(lib)]) == 0

    print(f"ingest: exit {took:.2f} s after SIGINT")
    folder = tmp_path / "to-classify"
    for g in ("doom", "dub"):
        shutil.copytree(train_dir / g, folder / g)
    out = tmp_path / "genres.csv"
    cmd = [sys.executable, "-m", "genrefuse.cli", "classify", str(folder), "--model", str(table_model),
           "--out", str(out), "--jobs", "2", "--chunk-size", "1"]

    def some_rows() -> bool:
        return out.exists() and out.read_text().count("\n") >= 3

    r, took = _interrupt(cmd, started=some_rows, tmp_path=tmp_path)
    assert r.returncode == 130 and "interrupted" in r.stdout, (took, r.stdout, r.stderr)
    print(f"classify: exit {took:.2f} s after SIGINT")
    done = out.read_text().count("\n") - 1
    assert 2 <= done < 20
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and f"{done} already there" in again.stdout, again.stdout
    assert out.read_text().count("\n") == 21


def test_unsure_tracks_are_listed_and_a_failed_first_ingest_leaves_no_library(table_model, train_dir, tmp_path,
                                                                            capsys):
    from genrefuse.display import confidence_text

    lib = tmp_path / "lib"
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"not audio at all" * 100)
    assert main(["ingest", str(fake), "--model", str(table_model), "--library", str(lib)]) == 1
    err = capsys.readouterr().err
    assert "fake.mp3" in err and "no library was created" in err and not lib.exists()
    # a threshold no track reaches: every track is unsure, listed, and not once presented as sure
    folder = tmp_path / "model"
    shutil.copytree(table_model, folder)
    import json

    cfg = json.loads((folder / "config.json").read_text())
    cfg.setdefault("calibration", {})["min_confidence"] = 0.99999
    (folder / "config.json").write_text(json.dumps(cfg))
    args = ["--model", str(folder), "--library", str(lib)]
    assert main(["ingest", str(train_dir / "doom"), *args, "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--unsure", *args]) == 0
    out = capsys.readouterr()
    assert out.out.count("unsure") + out.out.count("unknown") == 10 and " sure" not in out.out
    assert "10 unsure or unknown tracks" in out.err
    assert main(["library", "relabel", "1", "doom", *args]) == 0
    assert main(["library", "list", "--unsure", *args]) == 0
    assert "9 unsure or unknown tracks" in capsys.readouterr().err
    unsure = (lib / "playlists" / "_unsure.m3u8").read_text()
    assert unsure.count("#EXTINF") == 9
    assert confidence_text(0.578, 0.5786) == "0.578" and confidence_text(0.91, 0.5786) == "0.91"


def test_small_points_each_get_one_clear_line(table_model, tmp_path, capsys, monkeypatch):
    import socket

    # a second server on a busy port: one line, before any library is created
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        lib = tmp_path / "new-lib"
        assert main(["serve", "--library", str(lib), "--model", str(table_model), "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1 and not lib.exists()
    # a missing folder is named as one
    assert main(["ingest", str(tmp_path / "nothere"), "--model", str(table_model), "--library", str(lib)]) == 2
    assert "no such file or folder" in capsys.readouterr().err and not lib.exists()


@pytest.mark.parametrize("mode", ["link", "in-place", "copy"])
def test_ingest_hashes_each_file_s_bytes_once_and_decodes_it_twice(mode, table_model, music, tmp_path, monkeypatch,
                                                                   capsys):
    """Each file's bytes are hashed once: where they are (in place), as the link in the library (link), or,
    for a copy, before copying (so that bytes the library holds are never copied; the copy then hashes what it
    writes as it writes it). The stored file is opened by the decoder twice: its analysed windows, and one whole
    pass for its identity, header and duration."""
    from genrefuse import audio, fingerprint, io
    from genrefuse.library import modes, store

    hashed, opened = [], []

    def counting(module, name, log):
        real = getattr(module, name)

        def spy(path, *a, **k):
            log.append(os.stat(path).st_ino)          # the file (a link and its target are one)
            return real(path, *a, **k)
        monkeypatch.setattr(module, name, spy)

    for module in (io, modes, store):
        counting(module, "file_hash", hashed)
    for module in (audio, fingerprint):
        counting(module, "_open", opened)
    files = [music / "swing.flac", music / "sub" / "techno.flac"]
    lib = tmp_path / "lib"
    assert main(["ingest", *map(str, files), f"--{mode}", "--model", str(table_model), "--library", str(lib),
                 "--jobs", "1"]) == 0
    assert "2 tracks added" in capsys.readouterr().err
    users = {os.stat(f).st_ino for f in files}
    stored = {os.stat(p if Path(p).is_absolute() else lib / p).st_ino for _, p, _, _ in rows(lib)}
    assert sorted(hashed) == sorted(users) and len(opened) == 4, (hashed, opened)
    assert set(opened) == stored and stored == (users if mode != "copy" else stored - users)
