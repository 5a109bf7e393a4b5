"""What `ingest` takes from a user's folders and what it leaves there: a library inside the folder it walks,
links, the files a decoder reads however they are named, headers that lie, names that hide characters, a
full disk. Each test counts the user's recordings by audio hash before and after: nothing is lost."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from conftest import shared_path, stored_files
from genrefuse.cli import main
from genrefuse.fingerprint import audio_hash

pytestmark = pytest.mark.xdist_group("library")


def recordings(*folders: Path) -> set[str]:
    """The audio hashes of every audio file under ``folders`` (links followed once)."""
    out = set()
    for folder in folders:
        for p in folder.rglob("*"):
            if p.is_file() and p.suffix in (".wav", ".flac", ".mp3", ".ogg", ".au"):
                out.add(audio_hash(p))
    return out


def rows(lib: Path) -> list[tuple]:
    with sqlite3.connect(lib / "library.sqlite") as db:
        return db.execute("select stored_path, audio_hash, duration, original_name from tracks order by id").fetchall()


def consistent(lib: Path) -> None:
    """Rows equal files, every stored file's audio is its row's, nothing left in .incoming."""
    stored = {p.relative_to(lib).as_posix() for p in stored_files(lib)}
    table = rows(lib)
    assert stored == {r[0] for r in table}
    for rel, identity, *_ in table:
        assert audio_hash(lib / rel) == identity, rel
    assert not any((lib / ".incoming").glob("*"))


def test_move_never_takes_the_library_s_own_files(table_model, train_dir, tmp_path, capsys):
    music = tmp_path / "Music"
    music.mkdir()
    for g in ("doom", "dub", "swing"):
        shutil.copy(train_dir / g / f"{g}.00002.wav", music)
    lib = music / "genre-library"                    # the library lies inside the folder it takes music from
    args = ["--library", str(lib), "--model", str(table_model), "--jobs", "1"]
    before = recordings(music)
    assert main(["ingest", str(music), "--move", *args]) == 0
    assert not list(music.glob("*.wav")) and len(rows(lib)) == 3
    shutil.copy(train_dir / "techno" / "techno.00002.wav", music)
    assert main(["ingest", str(music), "--move", *args]) == 0          # the walk leaves genre-library/ alone
    assert "already in the library" not in capsys.readouterr().out
    assert len(rows(lib)) == 4
    consistent(lib)
    assert recordings(lib) >= before
    # even named one by one, a stored file is never "moved away" from under its row
    stored = stored_files(lib)
    assert main(["ingest", *map(str, stored), "--move", *args]) == 0
    assert stored_files(lib) == stored
    consistent(lib)


def test_a_link_is_stored_as_the_audio_it_leads_to(table_model, train_dir, tmp_path, capsys):
    elsewhere, music = tmp_path / "elsewhere", tmp_path / "music"
    elsewhere.mkdir(), music.mkdir()
    for g in ("doom", "dub"):
        shutil.copy(train_dir / g / f"{g}.00003.wav", elsewhere)
    os.symlink(elsewhere / "doom.00003.wav", music / "doom.wav")                  # absolute
    os.symlink(os.path.relpath(elsewhere / "dub.00003.wav", music), music / "dub.wav")   # relative
    os.symlink(elsewhere / "gone.wav", music / "broken.wav")
    before = recordings(elsewhere)
    lib = tmp_path / "lib"
    args = ["--library", str(lib), "--model", str(table_model), "--jobs", "1"]
    assert main(["ingest", str(music / "doom.wav"), "--link", *args]) == 0
    assert main(["ingest", str(music), "--move", *args]) == 1                      # the broken link: one line
    err = capsys.readouterr().err
    assert "broken.wav: a broken link" in err and "Traceback" not in err and "FileNotFoundError" not in err
    assert not (music / "dub.wav").exists()                                        # the moved link is gone
    for p in stored_files(lib):
        assert not p.is_symlink()
    shutil.rmtree(elsewhere)                                                       # the targets go
    assert {r[1] for r in rows(lib)} == before                                     # the library keeps the audio
    consistent(lib)
    assert main(["library", "check", *args[:4]]) == 0


def test_an_mp3_with_a_large_id3_tag_is_read_by_every_command(table_model, tmp_path, capsys):
    mp3 = shared_path("real-dev", "dubstep", "bensound-dubstep.mp3")
    renamed = tmp_path / "no-extension"
    shutil.copy(mp3, renamed)
    from genrefuse import audio

    assert audio.header(renamed).format == "MP3" and audio.load(renamed).size == audio.load(mp3).size
    lib = tmp_path / "lib"
    args = ["--library", str(lib), "--model", str(table_model), "--jobs", "1"]
    assert main(["ingest", str(mp3), *args]) == 0, capsys.readouterr().err
    assert main(["predict", "--model", str(table_model), str(mp3)]) == 0
    (rel, identity, seconds, _), = rows(lib)
    assert rel.endswith(".mp3") and abs(seconds - 31.2) < 0.5
    consistent(lib)


def test_a_header_that_claims_days_is_not_believed(table_model, train_dir, tmp_path):
    y, sr = sf.read(train_dir / "dub" / "dub.00004.wav", dtype="int16")
    flac = tmp_path / "liar.flac"
    sf.write(flac, y, sr, format="FLAC")
    data = bytearray(flac.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0                      # STREAMINFO first
    info = 8                                                                 # its total samples: 36 bits
    data[info + 13] |= 0x0F
    data[info + 14:info + 18] = b"\xff\xff\xff\xff"
    flac.write_bytes(bytes(data))
    from genrefuse import audio

    assert audio.header(flac).duration > 3_000_000                          # what the header says
    assert abs(audio.duration(flac) - y.shape[0] / sr) < 0.1                 # what it plays
    lib = tmp_path / "lib"
    assert main(["ingest", str(flac), "--library", str(lib), "--model", str(table_model), "--jobs", "1"]) == 0
    assert abs(rows(lib)[0][2] - y.shape[0] / sr) < 0.1


def test_stored_names_drop_hidden_characters_and_device_names(table_model, train_dir, tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(train_dir / "doom" / "doom.00005.wav", music / "CON.wav")
    shutil.copy(train_dir / "dub" / "dub.00005.wav", music / "evil\u202egnp.wav")
    lib = tmp_path / "lib"
    assert main(["ingest", str(music), "--library", str(lib), "--model", str(table_model), "--jobs", "1"]) == 0
    names = sorted(p.name for p in stored_files(lib))
    assert names[0].startswith("_CON [") and names[1].startswith("evilgnp [")
    assert "\u202e" not in "".join(r[3] for r in rows(lib))                # nor in the database


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system (tmpfs) mounted for the test; skipped where mounting is not allowed."""
    where = tmp_path / "disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_is_a_line_per_file_and_loses_nothing(table_model, train_dir, tmp_path, small_disk):
    music = tmp_path / "music"
    music.mkdir()
    files = sorted(train_dir.glob("*/*.0000[6-9].wav"))[:12]            # 12 files of about 260 KB: 3 MB
    for p in files:
        shutil.copy(p, music)
    before = recordings(music)
    lib = small_disk / "lib"
    r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "ingest", str(music), "--move", "--library", str(lib),
                        "--model", str(table_model), "--jobs", "1"], capture_output=True, text=True, timeout=600)
    assert "Traceback" not in r.stderr, r.stderr
    full = [line for line in r.stderr.splitlines() if "the disk is full" in line]
    assert r.returncode == 1 and full, r.stderr
    assert len(rows(lib)) + len(list(music.glob("*.wav"))) == len(files)      # each file stored or left
    assert recordings(music, lib) >= before
    consistent(lib)
