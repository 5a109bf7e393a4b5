"""benchmarks/real_world.py: folders of genre-named recordings scored as right, flagged or confidently wrong
(known genres) and unknown, unsure or sure (others)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]


def test_real_world_benchmark_counts_each_outcome(tmp_path):
    clips = shared_path("gtzan-clips")
    folder = tmp_path / "recordings"
    for genre in ("classical", "hiphop"):                  # the packaged model: sure and right; unknown
        (folder / genre).mkdir(parents=True)
        y, sr = sf.read(clips / genre / f"{genre}.00000.au", dtype="int16")
        sf.write(folder / genre / f"{genre}.flac", y, sr, format="FLAC")
    (folder / "polka").mkdir()                             # a genre the model does not know
    y, sr = sf.read(clips / "country" / "country.00000.au", dtype="int16")
    sf.write(folder / "polka" / "not-really.flac", y, sr, format="FLAC")
    (folder / "loose.flac").write_bytes(b"")                # not in a genre folder: not counted
    out = tmp_path / "rw.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_world.py"), str(folder), "--json", str(out),
                        "--rows"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    outcomes = {row["file"]: row["outcome"] for row in res["rows"]}
    assert outcomes["classical/classical.flac"] == "right"
    assert outcomes["hiphop/hiphop.flac"].startswith("flagged")          # unknown to the packaged model
    assert res["known"]["n"] == 2 and res["other"]["n"] == 1 and res["other"]["sure"] + res["other"]["unknown"] + \
        res["other"]["unsure"] == 1
    assert "| of genres the model's head knows | 2 |" in r.stdout and not res["failures"]


def test_the_packaged_model_s_answers_on_the_shared_clips_are_pinned():
    """With the taggers' word (dispute, support, genres from the taggers): the five GTZAN clips and six real
    recordings (trained on since the default model learns from real-dev: a regression check of the packaged
    files, not a claim of accuracy), through `predict --json`. With the penultimate features the techno loop is
    an unsure electronic (a reggae before) and the full-length jazz track an unsure jazz (classical before);
    GTZAN's blues clip became a sure country (unsure blues before), and its hip-hop clip an unsure electronic
    (unknown before). Since one window in the middle of a song (and plain weights), the breakbeat track is an unsure
    electronic (an unsure rock before). Since the taggers hear 5 patches of a window (a 6 s hop), GTZAN's disco clip
    is an unsure reggae (unknown before) and its hip-hop clip unknown (an unsure electronic before)."""
    clips = sorted(shared_path("gtzan-clips").glob("*/*.au"))
    real = shared_path("real-dev")
    dubstep = sorted((real / "dubstep").iterdir()) + [
        real / "techno" / "essentia_techno_loop.mp3", real / "jazz" / "protegerpw_jazz.mp3",
        real / "pop-piano-cover" / "piast_solo-piano_poppiano.mp3",
        real / "breaks" / "giantsteps_key_10089_Jason_Sparks_Close_My_Eyes.mp3"]
    r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", "--json", *map(str, clips + dubstep)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = {Path(d["path"]).name: (d["answer"], d["unsure"], d["known_by"]) for d in map(json.loads, r.stdout.splitlines())}
    assert got == {"blues.00000.au": ("country", False, "model"), "classical.00000.au": ("classical", False, "model"),
                   "country.00000.au": ("country", False, "model"), "disco.00000.au": ("reggae", True, "model"),
                   "hiphop.00000.au": ("unknown", True, "model"),
                   "bensound-dubstep.mp3": ("electronic", True, "model"),
                   "essentia_dubstep.wav": ("electronic", True, "model"),
                   "essentia_techno_loop.mp3": ("electronic", True, "model"),
                   "protegerpw_jazz.mp3": ("jazz", True, "model"), "piast_solo-piano_poppiano.mp3":
                   ("classical", True, "model"),
                   "giantsteps_key_10089_Jason_Sparks_Close_My_Eyes.mp3": ("electronic", True, "model")}, got


def test_learn_judges_each_recording_by_a_model_learnt_from_the_others(tmp_path):
    """--learn: each recording is judged by a library model learnt from the others (on top of the packaged
    model's rows, so its genres stay known); a folder with 3 others is learnt (a genre the library taught)."""
    clips = shared_path("gtzan-clips")
    folder = tmp_path / "recordings"
    for genre, src in (("polka", "country"), ("polka", "disco"), ("polka", "blues"), ("polka", "hiphop")):
        (folder / genre).mkdir(parents=True, exist_ok=True)
        y, sr = sf.read(clips / src / f"{src}.00000.au", dtype="int16")
        sf.write(folder / genre / f"{src}.flac", y[: sr * 12], sr, format="FLAC")
    out = tmp_path / "rw.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_world.py"), str(folder), "--json", str(out),
                        "--learn", "0"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(out.read_text())["learned"]["runs"]
    groups = {row["file"]: row["group"] for row in run["rows"]}
    assert set(groups.values()) == {"tagger"} and run["tagger"]["n"] == 4 and run["known"]["n"] == 0   # taught
    assert {row["genres"] for row in run["rows"]} == {14}            # the packaged model's 13 and polka
    assert sum(run["tagger"][k] for k in ("right", "flagged, best genre right", "flagged, best genre wrong",
                                          "confidently wrong")) == 4
    assert "seed 0: GTZAN's genres" in r.stdout


def test_each_real_recording_has_its_kind_of_material():
    """Issue 42: figures per kind of material (solo instrument, loops, full productions), with their sample sizes,
    so that solo piano and drum loops do not stand for modern productions."""
    from genrefuse.datasets.real import FULL_PRODUCTION, material_of

    assert material_of({"file": "jazz/piast_solo-piano_jazz.mp3", "note": "solo piano; expert genre tag"}) == \
        "solo instrument or bare beat"
    assert material_of({"file": "techno/essentia_techno_loop.mp3", "note": "file name (loop)"}) == \
        "loop, sample pack or library cue"
    assert material_of({"file": "carnatic/smstools_carnatic.wav", "note": "file name 'carnatic'"}) == \
        "traditional or art-music recording"
    assert material_of({"file": "rock/emotify-090.ogg", "note": "Emotify clip rock/90; ID3 genre 'Alternative Rock'"}) \
        == FULL_PRODUCTION
    import json
    from pathlib import Path

    r = json.loads((Path(__file__).resolve().parents[1] / "benchmarks/results/real_grouped.json").read_text())
    rows = r["candidates"][r["chosen"]]["with_tagger"]["per_material"]
    assert sum(x["recordings"] for x in rows.values()) == r["candidates"][r["chosen"]]["with_tagger"]["recordings"]
