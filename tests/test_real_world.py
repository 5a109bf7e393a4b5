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
    """With the tagger's word (dispute, genres from the tagger): the five GTZAN clips and the two real dubstep
    recordings, through `predict --json`."""
    clips = sorted(shared_path("gtzan-clips").glob("*/*.au"))
    dubstep = sorted(shared_path("real-dev", "dubstep").iterdir())
    r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", "--json", *map(str, clips + dubstep)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = {Path(d["path"]).name: (d["answer"], d["unsure"], d["known_by"]) for d in map(json.loads, r.stdout.splitlines())}
    assert got == {"blues.00000.au": ("blues", False, "model"), "classical.00000.au": ("classical", False, "model"),
                   "country.00000.au": ("pop", False, "model"), "disco.00000.au": ("unknown", False, "model"),
                   "hiphop.00000.au": ("unknown", True, "model"),
                   "bensound-dubstep.mp3": ("electronic", False, "tagger"),
                   "essentia_dubstep.wav": ("electronic", False, "tagger")}, got
