"""The ported musicnn: checkpoint reader, parity with TensorFlow and the published taggrams, the
embeddings format, the musicnn model kinds, and prediction with them on audio."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path, write

pytestmark = pytest.mark.xdist_group("musicnn")
DATA = Path(__file__).parent / "data"


def needs_wheel():
    if importlib.util.find_spec("musicnn") is None:
        pytest.skip("the musicnn weights are not installed (pip install --no-deps musicnn==0.1.0)")


def test_checkpoint_reader_on_the_real_wheel():
    needs_wheel()
    from genrefuse.pretrained.musicnn import wheel_checkpoint
    from genrefuse.pretrained.tf_checkpoint import read_checkpoint, read_index

    prefix = wheel_checkpoint()
    index = read_index(prefix + ".index")
    assert index["conv2d/kernel"]["shape"] == [7, 38, 1, 204]
    assert index["dense_1/kernel"]["shape"] == [200, 50]
    assert any(k.endswith("/Adam") for k in index)                  # optimiser state is in the file...
    weights = read_checkpoint(prefix)
    assert not any("Adam" in k or k.startswith("beta") for k in weights)   # ...and left out
    assert weights["batch_normalization_9/gamma"].shape == (1506,)
    assert all(w.dtype == np.float32 and np.isfinite(w).all() for w in weights.values())


def test_reader_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    from genrefuse.errors import ModelError
    from genrefuse.pretrained.tf_checkpoint import read_checkpoint

    (tmp_path / "bad.index").write_bytes(b"not a table" * 10)
    with pytest.raises(ModelError, match="bad.index: not a readable TensorFlow checkpoint"):
        read_checkpoint(tmp_path / "bad")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_port_equals_tensorflow(backend):
    # tests/data/musicnn_tf_reference.npz: the wheel's own TensorFlow graph (models.py, TF 2.21) on
    # seeded random patches and a ramp, as the port's reference; the ONNX export runs the same port
    needs_wheel()
    if backend == "onnx":
        pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
    from genrefuse.pretrained.tagger import load_tagger

    P = (np.random.default_rng(2019).random((3, 187, 96)) * 4.5).astype(np.float32)
    P[2] = np.linspace(0, 4, 96, dtype=np.float32)
    ref = np.load(DATA / "musicnn_tf_reference.npz")
    tags, pen = load_tagger(backend=backend, precision="float32").taggram(P)
    assert np.abs(tags - ref["tags"]).max() < 1e-5
    assert np.abs(pen - ref["penultimate"]).max() < 1e-4
    assert load_tagger(backend=backend).taggram(P[:0])[0].shape == (0, 50)


def test_parity_with_the_published_taggram():
    needs_wheel()
    from genrefuse.pretrained.embed import file_taggram

    ref = np.load(shared_path("musicnn", "hiphop.00000_msd_musicnn_taggram.npz"))["X"]
    ours = file_taggram(shared_path("gtzan-clips", "hiphop", "hiphop.00000.au"), precision="float32")
    assert ours.shape == ref.shape == (28, 50)
    d = np.abs(ours - ref)
    # the issue asks mean <= 1e-3, max <= 1e-2; measured 1.2e-6 / 5.3e-5 (with today's soxr resampler
    # instead of the 2019 filter it was 0.0044 / 0.091, so this also guards the input recipe)
    assert d.mean() < 1e-5 and d.max() < 1e-3
    assert (ours.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize("tagger", ["MSD_musicnn", "MTT_musicnn"])
def test_the_int8_tagger_hears_what_the_float32_one_hears(tagger):
    """The graph prediction runs (the timbral convolutions in int8) against the port's float32 graph, on every
    patch of the five shared GTZAN clips: measured 0.0002-0.0008 mean and 0.03 at most for the tags, 0.4-1.8% of
    the penultimate features' spread, the same top tag in 93-100% of a clip's patches (2026-12-07, the integer
    matrix products; the earlier int8 convolutions: 0.0004-0.0011, 0.05, 0.9-2.4%, 89-100%)."""
    from genrefuse.pretrained.graph import shipped_graph
    from genrefuse.pretrained.tagger import OnnxMusiCNN

    assert shipped_graph(tagger, precision="int8") is not None
    clips = sorted(shared_path("gtzan-clips").glob("*/*.au"))
    if not clips:
        pytest.skip("the shared GTZAN clips are not here")
    from genrefuse.audio import load_native
    from genrefuse.features import musicnn_input as mi

    P = np.concatenate([mi.tagger_patches(*load_native(c)) for c in clips])
    exact = OnnxMusiCNN(shipped_graph(tagger)).taggram(P)
    fast = OnnxMusiCNN(shipped_graph(tagger, precision="int8")).taggram(P)
    d = np.abs(fast[0] - exact[0])
    assert d.mean() < 0.003 and d.max() < 0.1
    assert np.abs(fast[1] - exact[1]).mean() < 0.05 * exact[1].std()
    assert (fast[0].argmax(1) == exact[0].argmax(1)).mean() > 0.9
    assert not np.array_equal(fast[0], exact[0])        # it is the int8 graph, not the float32 one again
    from genrefuse.pretrained.tagger import load_tagger

    assert load_tagger(model=tagger).path == shipped_graph(tagger, precision="int8")    # what prediction runs


def test_resampler_is_the_2019_filter():
    from genrefuse.features.musicnn_input import SR, resample

    sr = 22050
    t = np.arange(sr * 2) / sr
    y = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = resample(y, sr)
    assert out.dtype == np.float32 and len(out) == int(np.ceil(len(y) * SR / sr))
    ts = np.arange(len(out)) / SR
    assert np.abs(out[400:-400] - np.sin(2 * np.pi * 1000 * ts[400:-400])).max() < 1e-3    # a clean tone stays clean
    # the gain near 8 kHz, where the filters differ most: 2019's kaiser_best 0.87 at 7400 Hz and 0.47 at
    # 7581 Hz, against soxr_hq 0.997 / 0.79 and today's kaiser_best 0.37 / 0.09
    for freq, lo, hi in ((7400, 0.85, 0.89), (7581, 0.45, 0.50)):
        gain = np.abs(resample(np.sin(2 * np.pi * freq * t).astype(np.float32), sr)[400:-400]).max()
        assert lo < gain < hi, (freq, gain)
    assert resample(y[:SR], SR) is not None and np.array_equal(resample(y[:SR], SR), y[:SR])


@pytest.mark.parametrize("sr", [22050, 44100, 48000, 11025, 8000])
def test_polyphase_resampler_equals_resampy(sr):
    """The fast path applies the very taps resampy interpolates, as a polyphase matrix product."""
    from genrefuse.features.musicnn_input import resample, resample_reference

    rng = np.random.default_rng(sr)
    for n in (3 * sr + 17, 1000, 5):
        y = (0.3 * rng.standard_normal(n)).astype(np.float32)
        a, b = resample(y, sr), resample_reference(y, sr)
        assert a.shape == b.shape and a.dtype == np.float32
        assert np.abs(a - b).max() < 2e-6          # resampy accumulates in float32; measured <= 9.6e-7


def test_patches():
    from genrefuse.features.musicnn_input import hop_frames, patches

    assert hop_frames(1.0) == 61
    assert patches(np.zeros((1876, 96), np.float32)).shape == (28, 187, 96)   # a 30 s clip at 16 kHz
    short = patches(np.arange(100 * 96, dtype=np.float32).reshape(100, 96))
    assert short.shape == (1, 187, 96) and np.array_equal(short[0, 100:], short[0, :87])   # repeat-padded


def test_embeddings_file_summaries_and_errors(tmp_path):
    from genrefuse.errors import DataError
    from genrefuse.pretrained.embed import read_embeddings, track_stem, track_summaries, write_embeddings

    rng = np.random.default_rng(0)
    X = rng.random((5, 50)).astype(np.float32)
    path = write_embeddings(tmp_path / "e.npz", X=X, Y=[0, 0, 0, 1, 1], genres=["a", "b"],
                            IDS=["a/a.00001.au"] * 3 + ["b/b.00002.wav"] * 2)
    s = track_summaries(path)
    assert list(s) == ["a.00001", "b.00002"]
    assert np.allclose(s["a.00001"], np.concatenate([X[:3].mean(0), X[:3].std(0)]), atol=1e-6)
    assert track_stem("blues/blues.00029") == "blues.00029" == track_stem("blues/blues.00029.au")
    np.savez(tmp_path / "wrong.npz", X=np.zeros((3, 7)), IDS=np.array(["x"] * 3))
    np.savez(tmp_path / "nan.npz", X=np.full((1, 50), np.nan), IDS=np.array(["x"]))
    (tmp_path / "text.npz").write_text("hello")
    for name, words in (("wrong.npz", r"X must be \(patches, 50\)"), ("nan.npz", "NaN"), ("text.npz", "not an embeddings npz"),
                        ("missing.npz", "no such embeddings file")):
        with pytest.raises(DataError, match=words) as e:
            read_embeddings(tmp_path / name)
        assert name in str(e.value)


def test_train_and_evaluate_from_the_published_embeddings(tmp_path):
    from genrefuse.errors import DataError
    from genrefuse.models.bundle import load_bundle
    from genrefuse.models.kinds import ENSEMBLE_MEMBERS, TAG_INPUT_NOISE
    from genrefuse.training.run import evaluate_run, train_run
    from genrefuse.training.trainer import TrainConfig

    table = shared_path("gtzan-features", "features_30_sec.csv")
    emb = shared_path("musicnn", "gtzan_ff_train_msd_musicnn_taggram.npz")
    rep = train_run(table, tmp_path / "run", kind="mlp+musicnn", embeddings=emb,
                    config=TrainConfig(epochs=20, batch_size=100), progress=False)
    assert rep["train_size"] + rep["valid_size"] + rep["test_size"] == 443      # the tracks in both files
    assert rep["accuracy"] > 0.7                                               # chance is 0.1
    bundle = load_bundle(tmp_path / "run" / "model")
    assert bundle.uses_tags and bundle.tags_mean.shape == (100,)
    assert bundle.model.arch.input_noise == TAG_INPUT_NOISE         # the musicnn kinds' default, saved
    assert bundle.model.arch.members == ENSEMBLE_MEMBERS              # and their ensemble
    ev = evaluate_run(tmp_path / "run" / "model", table, tmp_path / "eval", embeddings=emb, progress=False)
    assert sum(ev["per_class"][g]["support"] for g in bundle.genres) == 443
    assert ev["accuracy"] > rep["accuracy"] - 0.05                             # mostly training tracks
    with pytest.raises(DataError, match="0 test tracks.*only tracks that have embeddings"):
        train_run(table, tmp_path / "ff", kind="mlp+musicnn", embeddings=emb, split="fault-filtered",
                  split_dir=shared_path("gtzan-splits", "fault-filtered"), progress=False)   # FF test held out


@pytest.fixture(scope="session")
def musicnn_run(synth_dir, tmp_path_factory):
    """An mlp+musicnn model trained on synthetic audio: the branch's inputs come from the port."""
    needs_wheel()
    from genrefuse.training.run import train_run
    from genrefuse.training.trainer import TrainConfig

    root = tmp_path_factory.mktemp("musicnn_run")
    rep = train_run(synth_dir, root / "run", kind="mlp+musicnn", config=TrainConfig(epochs=30, batch_size=16),
                    cache_dir=root / "cache", jobs=2, progress=False)
    return root, rep


def test_audio_training_uses_the_port_through_the_cache(musicnn_run, synth_dir):
    root, rep = musicnn_run
    cached = list((root / "cache").rglob("musicnn-*/*/*.safetensors"))
    from safetensors.numpy import load_file

    assert len(cached) == 36 and load_file(str(cached[0]))["taggram"].shape[1] == 50    # 6 s clips: 4 patches each
    assert rep["accuracy"] >= 0.5                                      # 6 genres, chance 0.17


def test_predict_an_mp3_and_embed_command(musicnn_run, synth_dir, tmp_path):
    from genrefuse import load_model
    from genrefuse.audio import load

    root, _ = musicnn_run
    src = synth_dir / "swing" / "swing.00002.wav"
    mp3 = write(tmp_path / "swing.mp3", load(src), format="MP3")
    model = load_model(root / "run" / "model")
    assert model.backend == "torch"
    a, b = model.predict(src), model.predict(mp3)
    assert set(a.probabilities) == set(model.genres) and abs(sum(b.probabilities.values()) - 1) < 1e-6
    assert a.genre == b.genre
    out = subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", str(root / "run" / "model"), str(mp3),
                          "--json"], capture_output=True, text=True, env={**__import__("os").environ, "GENREFUSE_TCMALLOC": "0"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["genre"] == b.genre
    import shutil

    emb = tmp_path / "emb.npz"
    shutil.copytree(synth_dir / "dub", tmp_path / "ds" / "dub")          # a dataset of genre folders
    bad = tmp_path / "in" / "bad.mp3"
    bad.parent.mkdir()
    bad.write_text("not audio")
    out = subprocess.run([sys.executable, "-m", "genrefuse.cli", "embed", str(tmp_path / "ds"), str(bad),
                          "--out", str(emb), "--penultimate", "--jobs", "1"], capture_output=True, text=True,
                         env={**__import__("os").environ, "GENREFUSE_TCMALLOC": "0"})
    assert out.returncode == 1 and "bad.mp3" in out.stderr
    z = np.load(emb)
    assert z["X"].shape == (24, 50) and z["P"].shape == (24, 200)      # 6 clips x 4 patches
    assert set(z["IDS"]) == {f"dub/dub.0000{i}.wav" for i in range(6)} and set(z["Y"]) == {0}
    assert list(z["GENRES"]) == ["dub"]


def test_classify_a_folder_with_a_musicnn_model(musicnn_run, synth_dir, tmp_path):
    import csv

    from genrefuse.inference.classify import classify
    from genrefuse.inference.predict import load_model

    root, _ = musicnn_run
    rep = classify(synth_dir / "techno", model_dir=root / "run" / "model", out=tmp_path / "r.csv", jobs=1,
                   progress=False)
    assert rep.done == 6 and not rep.failures
    rows = {Path(r["path"]).name: r for r in csv.DictReader(open(tmp_path / "r.csv"))}
    model = load_model(root / "run" / "model")
    one = model.predict(synth_dir / "techno" / "techno.00003.wav")
    assert rows["techno.00003.wav"]["genre"] == one.genre


def test_the_int8_graph_is_rebuilt_from_the_float32_one_and_recorded(tmp_path):
    """quantize_graph (make tagger-graph's int8 step) on calibration patches of the shared clips: the two timbral
    convolutions become 8-bit integer products (int8 weights, no float Conv left on their weights), the rest stays
    float32, and the graph tags as the float32 one does; the shipped int8 graphs are the files source.json records."""
    pytest.importorskip("onnx", reason="quantising needs the onnx package (the dev extra)")
    import onnx
    from onnx import numpy_helper

    from genrefuse.io import file_hash
    from genrefuse.pretrained.graph import FOLDER, calibration_patches, quantize_graph, shipped_graph
    from genrefuse.pretrained.tagger import OnnxMusiCNN

    meta = json.loads((FOLDER / "source.json").read_text())
    for model, graphs in meta["graphs"].items():
        assert file_hash(shipped_graph(model, precision="int8")) == graphs["int8"]["graph_sha256"], model
    patches, files = calibration_patches(shared_path("gtzan-clips"), every=1)
    assert len(files) == 5 and patches.shape == (140, 187, 96)
    out = quantize_graph(shipped_graph("MSD_musicnn"), tmp_path / "MSD.int8.onnx", patches[::4])
    graph = onnx.load(out).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    products = [n for n in graph.node if n.op_type == "MatMulIntegerToFloat"]
    assert [n.input[1] for n in products] == ["int8/inner.timbral.0.weight", "int8/inner.timbral.1.weight"]
    assert [weights[n.input[1]].shape for n in products] == [(38 * 7, 204), (67 * 7, 204)]
    assert all(weights[n.input[1]].dtype == np.int8 for n in products)
    convs = [n.input[1] for n in graph.node if n.op_type == "Conv"]
    assert len(convs) == 6 and not any("timbral" in w for w in convs)        # temporal x 3 and mid x 3, float32
    exact = OnnxMusiCNN(shipped_graph("MSD_musicnn")).taggram(patches[1::4])[0]
    fast = OnnxMusiCNN(out).taggram(patches[1::4])[0]
    assert np.abs(fast - exact).mean() < 0.003 and not np.array_equal(fast, exact)
