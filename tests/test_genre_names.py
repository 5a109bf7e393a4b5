"""Genre names typed by people: one mapping from a name to its folder, playlist and identity, applied before
every check, so that look-alike names never reach the library's own folders or another genre's."""
from __future__ import annotations

import sqlite3

import pytest

from conftest import stored_files
from genrefuse.errors import DataError
from genrefuse.genres import GTZAN_GENRES, RESERVED, Vocabulary, folder_name, reserved_name
from genrefuse.library.store import clean_name

pytestmark = pytest.mark.xdist_group("library")


@pytest.mark.parametrize("name", ["ćf", "ＣＦ", "ｍｏｄｅｌ", "ｐｌａｙｌｉｓｔｓ", "ｂａｃｋｕｐｓ", "ｕｎｋｎｏｗｎ", "Model", "model.",
                                  "ｃｏｎ", "NUL", "com1", "library.sqlite", "labels.csv", ".features"])
def test_reserved_names_are_refused_after_normalisation(name):
    with pytest.raises(DataError, match="cannot be a genre name|not a genre name"):
        Vocabulary(GTZAN_GENRES).new_name(name)


@pytest.mark.parametrize("name", ["rock\u200b", "r\u0338ock", "ja\u200dzz", "pop\u202e", "folk\u20dd"])
def test_invisible_and_combining_characters_are_refused(name):
    with pytest.raises(DataError, match="invisible or combining"):
        Vocabulary(GTZAN_GENRES).new_name(name)


def test_wide_letters_and_accents_mean_the_genre_they_look_like():
    v = Vocabulary(GTZAN_GENRES)
    assert v.get("ｒｏｃｋ") == "rock" and v.new_name("ＲＯＣＫ") == "rock"
    v.extend([v.new_name("Música")])
    assert v.new_name("musica") == "música"              # the same folder: one genre
    assert v.new_name("MUSICA") == "música"
    assert v.new_name("drum & bass") == "drum & bass" and folder_name("drum & bass") == "drum-bass"


def test_every_derived_name_fits_the_file_system():
    v = Vocabulary(GTZAN_GENRES)
    with pytest.raises(DataError, match="at most 64 characters"):
        v.new_name("\U0001F3B8" * 64)                    # 256 bytes in UTF-8
    ok = v.new_name("\U0001F3B8" * 40)
    assert folder_name(ok).startswith("genre-") and len(folder_name(ok)) <= 64
    assert folder_name("_unsure") != "_unsure"            # no genre's playlist is the unsure one
    for r in RESERVED:
        assert reserved_name(r) and reserved_name(r.upper())


def test_stored_file_names_lose_invisible_characters_and_device_names():
    assert clean_name("evil\u202egnp.mp3") == "evilgnp.mp3"
    assert clean_name("CON") == "_CON" and clean_name("nul") == "_nul" and clean_name("Lpt1") == "_Lpt1"
    assert clean_name("Concerto") == "Concerto"
    assert clean_name(clean_name("CON")) == clean_name("CON")


def test_look_alike_genres_never_touch_the_library_s_folders(table_model, train_dir, tmp_path, capsys):
    from genrefuse.cli import main

    lib = tmp_path / "lib"
    args = ["--library", str(lib), "--model", str(table_model)]
    assert main(["ingest", str(train_dir / "chiptune" / "chiptune.00001.wav"), *args]) == 0
    capsys.readouterr()
    for name in ("ćf", "ｍｏｄｅｌ", "ｐｌａｙｌｉｓｔｓ", "ｕｎｋｎｏｗｎ", "rock\u200b", "r\u0338ock", "ｂａｃｋｕｐｓ"):
        assert main(["library", "relabel", "1", name, "--new", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be a genre name" in err
    assert not any((lib / d).exists() for d in ("cf", "model", "unknown", "backups"))
    # a genre named like the unsure playlist, and one of 40 emoji: each its own playlist, nothing overwritten
    assert main(["library", "relabel", "1", "_unsure", "--new", *args]) == 0
    assert main(["library", "relabel", "1", "\U0001F3B8" * 40, "--new", *args]) == 0
    playlists = sorted(p.name for p in (lib / "playlists").glob("*.m3u8"))
    assert all(len(p.encode()) < 100 for p in playlists), playlists
    assert main(["library", "playlists", *args]) == 0
    with sqlite3.connect(lib / "library.sqlite") as db:
        (rel,) = db.execute("select stored_path from tracks").fetchone()
    assert [p.relative_to(lib).as_posix() for p in stored_files(lib)] == [rel]
    assert rel.startswith("genre-")
