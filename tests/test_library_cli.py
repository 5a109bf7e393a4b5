"""The library as a music manager: genre tags written into files (read back by mutagen, the audio left
bit-identical), one genre vocabulary, readable names and playlists, corrections that move the file and
the row together, and CLI mistakes that get one line and create nothing."""
import json
import os
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from genrefuse.cli import main
from genrefuse.errors import DataError
from genrefuse.genres import Vocabulary, read_genre_map

pytestmark = pytest.mark.xdist_group("library")


def _as(src, dest, fmt):
    y, sr = sf.read(src, dtype="float32")
    sf.write(dest, y, sr, format=fmt)
    return dest


@pytest.fixture
def songs(train_dir, tmp_path):
    """One clip each as mp3, ogg and flac (plus a wav), in a folder of the user's."""
    folder = tmp_path / "music"
    folder.mkdir()
    src = train_dir / "doom" / "doom.00002.wav"
    return {"mp3": _as(src, folder / "a.mp3", "MP3"), "ogg": _as(src, folder / "b.ogg", "OGG"),
            "flac": _as(src, folder / "c.flac", "FLAC"), "wav": _as(src, folder / "d.wav", "WAV")}


def test_vocabulary_resolves_aliases_and_a_users_map(tmp_path):
    v = Vocabulary(["hiphop", "metal", "rock", "jazz"])
    assert [v.get(n) for n in ("Hip-Hop", "hip hop", "HIPHOP", "rap", "Heavy Metal", "ROCK", "polka")] == \
        ["hiphop", "hiphop", "hiphop", "hiphop", "metal", "rock", None]
    with pytest.raises(DataError, match="unknown genre 'polka'; known: hiphop, metal, rock, jazz .*--new"):
        v.resolve("polka")
    mapping = tmp_path / "genres.map"
    mapping.write_text("# mine\nGrunge = rock\nbebop = Jazz\n")
    v2 = Vocabulary(v.genres, read_genre_map(mapping))
    assert v2.resolve("grunge") == "rock" and v2.resolve("Be-Bop") == "jazz"
    (tmp_path / "bad.map").write_text("grunge rock\n")
    with pytest.raises(DataError, match="line 1: expected 'alias = genre'"):
        read_genre_map(tmp_path / "bad.map")
    assert Vocabulary.display("hiphop") == "Hip-Hop" and Vocabulary.display("rock") == "Rock"


def test_tag_writes_only_the_tag(table_model, songs, capsys):
    import mutagen

    before = {k: (p.read_bytes(), sf.read(p, dtype="float32")[0]) for k, p in songs.items()}
    assert main(["tag", str(songs["mp3"].parent), "--model", str(table_model), "--dry-run",
                 "--min-confidence", "0", "--min-familiarity", "0"]) == 0
    out = capsys.readouterr()
    assert out.out.count("would tag") == 4 and "dry run: no file changed" in out.err
    assert out.out.count("\t(no genre) -> ") == 4
    assert all(p.read_bytes() == before[k][0] for k, p in songs.items())           # not a byte changed
    assert main(["tag", str(songs["mp3"].parent), "--model", str(table_model), "--min-confidence", "0",
                 "--min-familiarity", "0", "--top", "2", "--separator", " / "]) == 0
    out = capsys.readouterr().out
    assert out.count("\ttagged\t") == 4            # a wav file gets an ID3 chunk, as mp3 an ID3 tag
    for kind in ("mp3", "ogg", "flac", "wav"):
        f = mutagen.File(songs[kind])
        genre = f.tags.getall("TCON")[0].text[0] if kind in ("mp3", "wav") else f.tags["genre"][0]
        assert " / " in genre and genre.split(" / ")[0][0].isupper(), genre
        if kind == "mp3":
            assert f.tags.version[:2] == (2, 4)
        assert songs[kind].read_bytes() != before[kind][0]
        np.testing.assert_array_equal(sf.read(songs[kind], dtype="float32")[0], before[kind][1])  # same audio
    # read back as every command reads a file's genre (a WAV's was "(no genre)" before)
    from genrefuse.tagging import read_metadata

    assert read_metadata(songs["wav"]).genres == [mutagen.File(songs["wav"]).tags.getall("TCON")[0].text[0]]
    # what is there is kept (and shown, old -> new) unless --force; a confident-enough threshold leaves unsure
    # answers alone
    ogg_tag = mutagen.File(songs["ogg"]).tags["genre"][0]
    ogg_bytes = songs["ogg"].read_bytes()
    for extra in ([], ["--keep-existing"], ["--dry-run"]):
        assert main(["tag", str(songs["ogg"]), "--model", str(table_model), "--min-familiarity", "0", *extra]) == 0
        out = capsys.readouterr().out
        assert f"\tkept\t{ogg_tag} -> " in out and "--force replaces it" in out, out
    assert songs["ogg"].read_bytes() == ogg_bytes
    assert main(["tag", str(songs["ogg"]), "--model", str(table_model), "--min-familiarity", "0", "--min-confidence",
                 "0", "--force"]) == 0
    out = capsys.readouterr().out
    assert f"\ttagged\t{ogg_tag} -> " in out and mutagen.File(songs["ogg"]).tags["genre"][0] == out.split(" -> ")[1].split("\t")[0]
    assert main(["tag", str(songs["flac"]), "--model", str(table_model), "--min-confidence", "1", "--force",
                 "--min-familiarity", "0"]) == 0
    assert "\tunsure\t" in capsys.readouterr().out


def test_tag_reports_read_only_and_corrupt_files_and_goes_on(table_model, songs, tmp_path, capsys):
    if os.geteuid() == 0:
        ro = None                                       # root writes through file modes: use a corrupt tag instead
    else:
        ro = songs["ogg"]
        ro.chmod(0o444)
    broken = tmp_path / "music" / "broken.flac"
    broken.write_bytes(b"fLaC" + bytes(200))
    assert main(["tag", str(songs["flac"]), str(broken), *([str(ro)] if ro else []), "--model", str(table_model),
                 "--min-confidence", "0"]) == 1
    out = capsys.readouterr()
    assert "c.flac\ttagged" in out.out and f"{2 if ro else 1} file{'s' if ro else ''} failed" in out.err
    assert "broken.flac" in out.err
    if ro:
        assert "read-only" in out.err


def test_ingest_names_files_writes_tags_and_keeps_playlists(table_model, songs, tmp_path, capsys):
    import mutagen
    from mutagen.id3 import TIT2, TPE1

    tags = mutagen.File(songs["mp3"])
    tags.add_tags()
    tags.tags.add(TPE1(encoding=3, text=["AC/DC"]))
    tags.tags.add(TIT2(encoding=3, text=["Back In Black"]))
    tags.save()
    named_wav = songs["mp3"].with_name("really_an_mp3.wav")
    named_wav.write_bytes(songs["mp3"].read_bytes())
    songs["mp3"].unlink()
    lib = tmp_path / "lib"
    assert main(["ingest", str(named_wav), str(songs["flac"]), "--model", str(table_model), "--library", str(lib),
                 "--write-tags", "--jobs", "1"]) == 0
    cap = capsys.readouterr()
    out = cap.out
    assert "2 tracks added" in cap.err and out.count("\tadded (id") == 2 and "sure" in out    # genre, confidence
    with sqlite3.connect(lib / "library.sqlite") as db:
        rows = db.execute("select stored_path, genre, artist, title from tracks order by id").fetchall()
    mp3_rel = rows[0][0]
    assert mp3_rel.startswith(f"{rows[0][1]}/AC_DC - Back In Black [") and mp3_rel.endswith("].mp3")   # format, not name
    assert rows[0][2:] == ("AC/DC", "Back In Black")
    assert mutagen.File(lib / mp3_rel).tags.getall("TCON")[0].text[0][0].isupper()    # the library copy is tagged
    assert "TCON" not in (mutagen.File(named_wav).tags or {})                              # the user's file is not
    playlist = (lib / "playlists" / f"{rows[0][1]}.m3u8").read_text(encoding="utf-8")
    assert playlist.startswith("#EXTM3U\n") and f"#EXTINF:6,AC/DC - Back In Black\n../{mp3_rel}\n" in playlist


def test_library_cli_list_relabel_users_feedback(table_model, train_dir, tmp_path, capsys):
    lib = tmp_path / "lib"
    common = ["--model", str(table_model), "--library", str(lib)]
    assert main(["ingest", str(train_dir / "dub"), *common, "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["library", "list", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    track_id, genre = int(lines[0].split("\t")[0]), lines[0].split("\t")[1]
    old = lib / lines[0].split("\t")[3]
    new_genre = "Techno" if genre != "techno" else "Ambient"
    assert main(["library", "relabel", str(track_id), new_genre, *common]) == 0
    assert "(confirmed)" in capsys.readouterr().out
    with sqlite3.connect(lib / "library.sqlite") as db:
        path, g, confirmed = db.execute("select stored_path, genre, confirmed from tracks where id=?", (track_id,)).fetchone()
    assert g == new_genre.lower() and confirmed and (lib / path).is_file() and not old.exists()
    assert path.split("/", 1)[1] == old.name
    assert main(["library", "list", "--genre", new_genre.upper(), *common]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert main(["library", "relabel", "99999", "dub", *common]) == 2
    assert "no track 99999" in capsys.readouterr().err
    assert main(["library", "playlists", *common]) == 0
    assert len(list((lib / "playlists").glob("*.m3u8"))) >= 2
    capsys.readouterr()
    assert main(["users", "add", "ana", "--likes", "DUB,Techno", *common]) == 0
    assert main(["users", "add", "bo", "--likes", "dub", *common]) == 0
    assert main(["feedback", "ana", str(track_id), "like", *common]) == 0
    capsys.readouterr()
    assert main(["users", "list", *common]) == 0
    listed = capsys.readouterr().out
    assert "ana\tlikes 1, skips 0" in listed and "bo\tlikes 0" in listed
    assert main(["users", "remove", "bo", *common]) == 0
    assert main(["users", "list", *common]) == 0
    assert "bo\t" not in capsys.readouterr().out
    assert main(["users", "add", "cy", "--likes", "polka", *common]) == 2
    assert "unknown genre 'polka'" in capsys.readouterr().err


def test_user_mistakes_get_one_line_and_create_nothing(table_model, tmp_path, capsys):
    typo = tmp_path / "libary"
    for args in (["recommend", "alice"], ["users", "add", "alice", "--likes", "dub"], ["users", "list"],
                 ["library", "list"], ["feedback", "alice", "1", "like"]):
        assert main([*args, "--model", str(table_model), "--library", str(typo)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no library here" in err and "Traceback" not in err, err
        assert not typo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ingest", str(empty), "--model", str(table_model), "--library", str(tmp_path / "lib")]) == 2
    assert "no audio files" in capsys.readouterr().err and not (tmp_path / "lib").exists()
    assert main(["predict", "--model", str(table_model), str(empty)]) == 2
    assert "no audio files" in capsys.readouterr().err
    assert main(["classify", str(tmp_path / "missing"), "--model", str(table_model), "--out", str(tmp_path / "o.csv")]) == 2
    assert "no such folder" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
    assert main(["tag", str(empty), "--model", str(table_model)]) == 2
    assert "no audio files" in capsys.readouterr().err
    assert main(["classify", str(empty), "--model", str(table_model), "--out", str(tmp_path / "o.csv")]) == 2
    assert "no audio files" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
    with pytest.raises(SystemExit):
        main(["predict", "--top", "0", str(empty)])
    assert "--top" in capsys.readouterr().err


def test_an_older_library_gains_the_new_columns(table_model, train_dir, tmp_path):
    """A database made before tags and corrections existed opens, keeps its rows and gets the new columns."""
    lib = tmp_path / "lib"
    lib.mkdir()
    with sqlite3.connect(lib / "library.sqlite") as db:
        db.executescript("""
            CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(128) UNIQUE, token_hash VARCHAR(64) UNIQUE,
                                created_at DATETIME);
            CREATE TABLE tracks (id INTEGER PRIMARY KEY, content_hash VARCHAR(64) UNIQUE, original_name VARCHAR(512),
                stored_path VARCHAR(512), duration FLOAT, genre VARCHAR(64), probabilities JSON, model_id VARCHAR(128),
                added_at DATETIME);
            INSERT INTO tracks VALUES (1, '%s', 'old.wav', 'dub/%s.wav', 6.0, 'dub', '{"dub": 1.0}', 'm', '2025-01-01');
        """ % ("a" * 64, "a" * 64))
    from genrefuse.library.library import Library

    library = Library.open(lib, table_model)
    with library.Session() as s:
        from genrefuse.library.db import Track

        t = s.get(Track, 1)
        assert t.genre == "dub" and t.confirmed is False and t.artist is None and t.added_by is None
    assert library.describe(t)["confirmed"] is False and json.dumps(library.describe(t))


def test_train_on_a_librarys_confirmed_genres(table_model, train_dir, tmp_path, capsys):
    """Only confirmed labels train: the model's own guesses never teach the model."""
    lib = tmp_path / "lib"
    common = ["--model", str(table_model), "--library", str(lib)]
    assert main(["ingest", str(train_dir / "dub"), str(train_dir / "swing"), *common, "--jobs", "1"]) == 0
    run = tmp_path / "run"
    assert main(["train", str(lib), "--model", "logreg", "--out", str(run)]) == 2
    assert "no confirmed genres yet" in capsys.readouterr().err
    with sqlite3.connect(lib / "library.sqlite") as db:
        ids = db.execute("select id, original_name from tracks order by id").fetchall()
    for track_id, name in ids[:4] + ids[10:14]:
        assert main(["library", "relabel", str(track_id), name.split(".")[0], *common]) == 0
    labels = (lib / "labels.csv").read_text().splitlines()
    assert labels[0] == "path,label,track" and len(labels) == 9
    assert main(["train", str(lib), "--base", str(train_dir), "--model", "logreg", "--out", str(run)]) == 0
    report = json.loads((run / "report.json").read_text())
    assert (run / "model" / "config.json").is_file() and report["accuracy"] > 0
    assert report["n"] >= 9          # 15% of the 8 confirmed tracks and the 60 of the base: both were used
