"""Prediction and tagging with the packaged model need none of the heavy libraries: run here with
PyTorch, onnx, librosa, numba, scikit-learn, matplotlib and SQLAlchemy made unimportable (a meta-path
blocker standing in for the light install) and every cache empty."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from conftest import PINNED, shared_path

HEAVY = ("torch", "onnx", "librosa", "numba", "sklearn", "matplotlib", "sqlalchemy", "resampy", "scipy.signal")

BLOCKER = textwrap.dedent(f"""
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if any(name == m or name.startswith(m + ".") for m in {HEAVY!r}):
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: the light install)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    from genrefuse.cli.main import main
    code = main(sys.argv[1:])
    loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
    print("LOADED", loaded, file=sys.stderr)
    sys.exit(code)
""")


def _run(args, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GENREFUSE_MUSICNN_CACHE": str(tmp_path / "musicnn")}
    return subprocess.run([sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True, env=env, timeout=300)


def test_predict_and_tag_without_the_heavy_libraries(tmp_path):
    clip = shared_path("gtzan-clips", "blues", "blues.00000.au")
    r = _run(["predict", str(clip), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stderr and "warning" not in r.stderr and "Traceback" not in r.stderr
    out = json.loads(r.stdout)
    # the packaged model's answer, as with everything installed
    assert out["genre"] == "country" and abs(out["confidence"] - 0.418) < max(5e-4, PINNED) and out["styles"]

    y, sr = sf.read(clip, dtype="float32")
    song = tmp_path / "song.flac"
    sf.write(song, y, sr)
    r = _run(["tag", str(song), "--min-confidence", "0"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stderr
    from mutagen import File

    assert File(song)["genre"] == ["Country"]
    assert not (tmp_path / "musicnn").exists()          # the tagger ran from the graph in the package


@pytest.mark.parametrize("tagger", ["MSD_musicnn", "MTT_musicnn"])
def test_the_shipped_tagger_graph_is_the_port(tagger):
    """Each graph in the package, rebuilt from the musicnn wheel through the PyTorch port, gives the same
    tags as the shipped file (make tagger-graph)."""
    from genrefuse.pretrained.graph import shipped_graph
    from genrefuse.pretrained.tagger import OnnxMusiCNN, load_tagger

    assert shipped_graph(tagger) is not None
    P = (np.random.default_rng(7).random((5, 187, 96)) * 4).astype(np.float32)
    shipped = OnnxMusiCNN(shipped_graph(tagger)).taggram(P)
    port = load_tagger(backend="torch", model=tagger).taggram(P)
    assert np.abs(shipped[0] - port[0]).max() < 1e-5 and np.abs(shipped[1] - port[1]).max() < 1e-4
    assert shipped[0].shape == (5, 50) and OnnxMusiCNN(shipped_graph(tagger)).taggram(P[:0])[0].shape == (0, 50)


def test_the_packaged_model_answers_as_before_on_the_shared_clips():
    """tests/data/default_model_shared_clips.json: the packaged model's probabilities on the five shared
    GTZAN clips as the librosa-based path gives them (``clip_inputs(method="reference")``; rewritten for the
    model trained with real recordings too, 2026-12-06, for the penultimate features and for plain weights,
    for the int8 taggers, with balanced weights, for their integer matrix products, and for 5 patches a window, 2026-12-07); the numpy
    path may move them by at most 1e-4 (measured: 9e-8), a CPU whose 8-bit products can saturate by more (conftest.PINNED)."""
    import json
    from pathlib import Path

    from genrefuse import load_model

    expected = json.loads((Path(__file__).parent / "data" / "default_model_shared_clips.json").read_text())
    model = load_model()
    for name, ref in expected.items():
        genre = name.split(".")[0]
        p = model.predict(shared_path("gtzan-clips", genre, name))
        assert max(abs(p.probabilities[g] - v) for g, v in ref["probabilities"].items()) <= PINNED, name
        assert abs(p.familiarity - ref["familiarity"]) <= PINNED, name


def test_a_command_whose_extra_is_missing_names_it_in_one_line(tmp_path):
    clip = shared_path("gtzan-clips", "blues", "blues.00000.au")
    for args, extra in ((["ingest", str(clip), "--library", str(tmp_path / "lib")], "library"),
                        (["train", str(tmp_path), "--out", str(tmp_path / "run")], "train")):
        r = _run(args, tmp_path)
        lines = [line for line in r.stderr.splitlines() if not line.startswith("LOADED")]
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert f"needs the [{extra}] extra" in lines[0] and f"pip install 'genrefuse[{extra}]'" in lines[0]
        assert "make install-dev" in lines[0]                       # the README's way first
    assert not (tmp_path / "lib").exists()


def test_every_extra_named_for_a_module_is_one_of_the_packages_extras():
    import tomllib
    from pathlib import Path

    from genrefuse.extras import EXTRA_OF

    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert set(EXTRA_OF.values()) <= set(declared), set(EXTRA_OF.values()) - set(declared)
