"""The packaged default model, its card, calibrated confidence and the calibration maths."""
import json
import os

import numpy as np
import pytest

from genrefuse.cli import main
from genrefuse.genres import GTZAN_GENRES

from conftest import shared_path

CLIPS = ("blues", "classical", "country", "disco", "hiphop")


def test_the_packaged_model_is_small_and_loads_without_shared_data():
    import genrefuse
    from genrefuse.models.bundle import DEFAULT_MODEL_DIR, read_config

    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir() if not p.name.endswith(".onnx")}
    assert set(files) == {"config.json", "model.safetensors", "training_rows.safetensors"}
    assert sum(files.values()) < 2 * 2**20
    cfg = read_config(DEFAULT_MODEL_DIR)
    assert cfg["kind"] == "logreg+musicnn+deep" and cfg["genres"][:10] == list(GTZAN_GENRES)
    assert len(cfg["deep_mean"]) == len(cfg["deep_std"]) == 400          # the penultimate features' summary
    assert cfg["genres"][10:] == ["electronic", "latin", "rnb"]           # learnt from real recordings
    card = cfg["card"]
    assert card["tracks"] > 900 and "fault-filtered" in card["training_data"] and "real-train" in card["training_data"]
    real = card["measured"]["real"]
    assert 0.5 < real["right"]["mean"] < 1 and real["recordings"] > 450 and "grouped by artist" in card["measured"]["method"]
    assert 0 < cfg["calibration"]["min_confidence"] < 1 and set(cfg["calibration"]["genre_confidence"]) == set(cfg["genres"])
    model = genrefuse.load_model()                     # no path: the default
    assert model.genres == cfg["genres"] and model.bundle.window_policy.max_windows == 1
    rows = model.bundle.training_rows                  # what familiarity measures against: GTZAN's and real rows
    n = card["tracks"]
    assert len(rows) == n and rows.tags.shape == (n, 100) and set(rows.labels) == set(cfg["genres"])
    assert sum(t.startswith("real-") for t in rows.tracks) == n - 443
    assert cfg["familiarity"]["floor"] == 0.05 and len(cfg["familiarity"]["held_out"]) == n


def test_predict_without_a_model_gives_confidence_and_unsure(capsys):
    clips = [str(shared_path("gtzan-clips", g, f"{g}.00000.au")) for g in CLIPS]
    assert main(["predict", *clips, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines] == clips
    for line in lines:
        assert set(line) >= {"genre", "probabilities", "confidence", "top", "unsure", "windows"}
        assert line["confidence"] == max(line["probabilities"].values()) == line["top"][0]["probability"]
        assert line["top"][0]["genre"] == line["genre"] and len(line["top"]) == 3
        assert abs(sum(line["probabilities"].values()) - 1) < 1e-5
    # what the shipped model says of these five clips (four from the FF validation list, one from its test
    # list, none seen in training): a regression check of the packaged files, not a claim of accuracy
    assert [line["genre"] for line in lines] == ["country", "classical", "country", "reggae", "disco"]
    assert not lines[1]["unsure"] and lines[3]["unsure"] and lines[4]["unknown"]   # classical 0.97; hip-hop: far away
    assert main(["predict", "default", clips[1], "--min-confidence", "1"]) == 0
    assert "\tclassical\t0.97 unsure\t" in capsys.readouterr().out       # a user's threshold holds for every genre


def test_a_quick_rebuild_from_a_few_real_recordings_computes_the_shipped_rows(tmp_path):
    """`make default-model` on a small subset (one real recording of each genre): the whole recipe runs (rows
    from audio, grouped cross-validation, calibration genre by genre, familiarity, the card), and the rows it
    computes from those recordings' audio are the ones the shipped model was trained on."""
    from genrefuse.models.bundle import DEFAULT_MODEL_DIR, load_bundle, read_config
    from genrefuse.training.default_model import build_default_model

    shared = shared_path("real-train").parent
    bundle = build_default_model(shared, tmp_path / "model", real_per_genre=1, min_examples=1, min_groups=1, jobs=2,
                                 cache=tmp_path / "cache")
    assert bundle.genres[:10] == list(GTZAN_GENRES) and {"electronic", "latin", "rnb"} <= set(bundle.genres)
    card = read_config(tmp_path / "model")["card"]
    real = card["measured"]["real"]
    assert real["recordings"] >= 13 and set(real["per_genre"]) == set(bundle.genres)
    assert set(card["measured"]["genre_confidence"]) == set(bundle.genres)
    rebuilt, shipped = load_bundle(tmp_path / "model").training_rows, load_bundle(DEFAULT_MODEL_DIR).training_rows
    where = {t: i for i, t in enumerate(shipped.tracks)}
    mine = [i for i, t in enumerate(rebuilt.tracks) if t.startswith("real-")]
    assert len(mine) >= 13 and all(rebuilt.tracks[i] in where for i in mine)
    theirs = [where[rebuilt.tracks[i]] for i in mine]
    scale = shipped.table.std(axis=0) + 1e-9
    assert np.abs((rebuilt.table[mine] - shipped.table[theirs]) / scale).max() < 1e-3     # across CPUs: float noise
    assert np.abs(rebuilt.tags[mine] - shipped.tags[theirs]).max() < 1e-3
    # the penultimate features' summary too; GTZAN's published rows have none (NaN), every real recording has it
    deep_scale = np.nanstd(shipped.deep, axis=0) + 1e-9
    assert np.abs((rebuilt.deep[mine] - shipped.deep[theirs]) / deep_scale).max() < 1e-3
    gtzan = [i for i, t in enumerate(shipped.tracks) if not t.startswith("real-")]
    assert len(gtzan) == 443 and np.isnan(shipped.deep[gtzan]).all() and not np.isnan(shipped.deep[theirs]).any()


def test_models_card_and_evaluate_default(tmp_path, capsys):
    assert main(["models"]) == 0
    card = capsys.readouterr().out
    assert "logreg+musicnn" in card and "443" in card and "limit:" in card and "licence" in card
    assert "as a loud master moves it" in card and "weighted 0.25" in card       # how it was trained
    table = shared_path("gtzan-features", "features_30_sec.csv")
    emb = shared_path("musicnn", "gtzan_ff_train_msd_musicnn_taggram.npz")
    assert main(["evaluate", "default", str(table), "--embeddings", str(emb), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n"] == 443 and report["accuracy"] > 0.9          # its own training tracks: no test
    # calibrated on real recordings (temperature and thresholds from their grouped CV), not on these tracks
    assert 0 <= report["ece"] < 0.3 and len(report["reliability"]) == 10
    assert (tmp_path / "reliability.png").stat().st_size > 10_000


def test_a_missing_model_is_one_clear_line(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path), "x.wav"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a model folder" in err


def test_temperature_undoes_overconfidence():
    from genrefuse.models.calibration import (apply_temperature, confidence_threshold, expected_calibration_error,
                                              fit_temperature)

    rng = np.random.default_rng(0)
    n, k = 4000, 5
    logits = rng.normal(0, 1.5, (n, k))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in true_p])
    overconfident = apply_temperature(true_p, 1 / 3)             # three times too sharp
    assert expected_calibration_error(overconfident, y) > 0.1
    t = fit_temperature(overconfident, y)
    assert 2.6 < t < 3.4
    assert expected_calibration_error(apply_temperature(overconfident, t), y) < 0.03
    threshold = confidence_threshold(true_p, y, precision=0.8)
    conf, right = true_p.max(1), true_p.argmax(1) == y
    assert right[conf >= threshold].mean() >= 0.8 and right[conf >= threshold - 0.05].mean() < 0.8 + 0.02
    assert np.allclose(apply_temperature(true_p, 1.0), true_p)


def test_ece_by_hand():
    from genrefuse.models.calibration import expected_calibration_error

    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    y = np.array([0, 1, 0, 0])
    # bin 0.9-1.0: confidence 0.95, accuracy 0.5; bin 0.5-0.6: confidence 0.55, accuracy 1.0
    assert expected_calibration_error(proba, y) == pytest.approx(0.5 * 0.45 + 0.5 * 0.45)


def test_logreg_kind_predicts_in_numpy_as_scikit_learn_does():
    from sklearn.linear_model import LogisticRegression

    from genrefuse.models.classic import ClassicModel

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(120, 8)), rng.integers(0, 4, 120)
    ours = ClassicModel("logreg+musicnn", 4).fit(X, y)
    ref = LogisticRegression(C=0.1, max_iter=5000).fit(X, y)
    p = ours.probabilities(table=X[:, :5], tags=X[:, 5:])
    assert np.abs(p - ref.predict_proba(X)).max() < 1e-9
    again = ClassicModel.from_state("logreg+musicnn", {"n_classes": 4, "seed": 0, "hyper": {}}, ours.state())
    assert np.array_equal(again.probabilities(table=X[:, :5], tags=X[:, 5:]), p)


def test_onnx_runtime_without_onnx_falls_back_with_one_line(train_dir, tmp_path):
    """ONNX Runtime installed but not the onnx package its export needs, in a checkout without the shipped
    tagger graph: the tagger runs in PyTorch, one warning line says so, and the answer comes (before: a
    60-line traceback and no answer). With the shipped graph nothing is exported (test_light_path.py)."""
    import subprocess
    import sys

    from genrefuse import onnxrt

    if not onnxrt.available():
        pytest.skip("onnxruntime is not installed")
    clip = train_dir / "doom" / "doom.00001.wav"
    code = ("import sys; sys.modules['onnx'] = None\n"          # as if `pip install onnxruntime` without onnx
            "from pathlib import Path; import genrefuse.pretrained.graph as g; g.FOLDER = Path('/nonexistent')\n"
            "from genrefuse.cli import main\n"
            f"sys.exit(main(['predict', {str(clip)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "GENREFUSE_MUSICNN_CACHE": str(tmp_path / "musicnn")})
    assert r.returncode == 0 and clip.name in r.stdout, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "pip install onnx" in warnings[0] and "Traceback" not in r.stderr, r.stderr


def test_the_shipped_model_s_answers_on_a_few_real_recordings(capsys):
    """A regression check of the packaged files on shared real recordings (four were trained on, the folk one
    is of a genre the model lacks): what it says of them, not a claim of accuracy. Since the taggers hear 5 patches
    of a window (a 6 s hop) the folk one is an unsure pop (an unsure latin before)."""
    names = ["latin/20234231-latin.ogg", "electronic/20234231-edm.ogg", "classical/20234231-classical.ogg",
             "hiphop/20234231-hiphop.ogg", "folk/amyy350-folk.ogg"]
    files = [str(shared_path("real-train", *n.split("/"))) for n in names]
    assert main(["predict", *files, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["genre"] for line in lines] == ["latin", "electronic", "classical", "hiphop", "pop"]
    assert [line["unsure"] for line in lines] == [False, True, True, True, True]    # hip-hop is never sure


def test_the_shipped_recipe_is_the_one_the_grouped_benchmark_chose():
    """The README's and the model card's real-world figures come from `benchmarks/real_world.py --grouped`: its
    chosen candidate is the recipe the packaged model is built with, and the card's own figures are its."""
    from pathlib import Path

    from genrefuse.models.bundle import DEFAULT_MODEL_DIR, read_config
    from genrefuse.training.default_model import RECIPE

    r = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "real_grouped.json").read_text())
    assert r["chosen"] == RECIPE.name
    mine = r["candidates"][r["chosen"]]
    card = read_config(DEFAULT_MODEL_DIR)["card"]["measured"]
    for key in ("right", "right_and_sure", "confidently_wrong", "sure_precision"):
        assert abs(card["real"][key]["mean"] - mine["with_tagger"][key]["mean"]) < 1e-9, key
    assert card["genre_confidence"] == mine["genre_confidence"]


def test_penultimate_features_are_an_input_and_absent_rows_stand_at_the_mean(tmp_path):
    """The packaged kind reads the MSD tagger's penultimate features' summary (400 columns). Rows without them
    (GTZAN's published data: NaN) stand at the training mean, in training and when asked (a feature table with
    published taggrams, as `evaluate` reads the fault-filtered test); training rows keep only the rows that
    have them, and read back the same."""
    from genrefuse.datasets.labelled import LabelledData
    from genrefuse.features.params import DEFAULT_PARAMS
    from genrefuse.models.training_rows import TrainingRows, load_training_rows
    from genrefuse.preprocess.track import ModelInputs
    from genrefuse.training.fit import fit_one
    from genrefuse.training.trainer import TrainConfig

    rng = np.random.default_rng(0)
    n = 60
    y = np.arange(n) % 3
    table, tags = rng.normal(size=(n, 57)), rng.random((n, 100)).astype(np.float32)
    deep = (rng.normal(size=(n, 400)) + y[:, None]).astype(np.float32)       # the classes differ only here...
    deep[:20] = np.nan                                                      # ...where present
    labels = [str(g) for g in y]
    ids = [f"t{i}" for i in range(n)]
    data = LabelledData(table, None, labels, ids, ids, None, None, "test", tags, deep=deep)
    everything = {"train": np.arange(n), "valid": np.array([], int), "test": np.array([], int)}
    bundle, _ = fit_one("logreg+musicnn+deep", data, everything, ["0", "1", "2"], config=TrainConfig(epochs=1),
                        params=DEFAULT_PARAMS, progress=False)
    assert bundle.uses_deep and bundle.deep_mean.shape == (400,) and not np.isnan(bundle.deep_mean).any()
    present = ModelInputs(table[20:], tags=tags[20:], deep=deep[20:])
    assert (bundle.probabilities(present).argmax(axis=1) == y[20:]).mean() > 0.9       # it learnt from them
    missing = bundle.probabilities(ModelInputs(table[:5], tags=tags[:5]))
    absent = bundle.probabilities(ModelInputs(table[:5], tags=tags[:5], deep=np.full((5, 400), np.nan)))
    assert np.allclose(missing, absent) and np.isfinite(missing).all()
    bundle.save(tmp_path / "m")
    from genrefuse.models.bundle import load_bundle

    again = load_bundle(tmp_path / "m")
    assert np.allclose(again.probabilities(present), bundle.probabilities(present))
    rows = TrainingRows(table, tags, labels, ids, deep)
    rows.save(tmp_path)
    back = load_training_rows(tmp_path)
    assert np.array_equal(np.isnan(back.deep), np.isnan(deep)) and np.allclose(back.deep[20:], deep[20:])


def test_the_same_answers_whatever_the_thread_count():
    """Reproducible across thread counts as across CPUs: the packaged model on the shared GTZAN clips with one
    thread (as in a classify worker) and with every core gives the same answers, probabilities within 1e-4
    (float32 sums may run in another order; here they agreed to the 6 printed digits)."""
    import subprocess
    import sys

    clips = [str(p) for p in sorted(shared_path("gtzan-clips").glob("*/*.au"))]

    def answers(threads: str | None) -> list[dict]:
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        if threads:
            env["OMP_NUM_THREADS"] = threads
        r = subprocess.run([sys.executable, "-m", "genrefuse.cli", "predict", "--json", *clips], capture_output=True,
                           text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.splitlines()]

    one, every = answers("1"), answers(None)
    assert [a["answer"] for a in one] == [a["answer"] for a in every] and len(one) == len(clips)
    assert [a["unsure"] for a in one] == [a["unsure"] for a in every]
    assert max(abs(a["probabilities"][g] - b["probabilities"][g]) for a, b in zip(one, every)
               for g in a["probabilities"]) <= 1e-4
