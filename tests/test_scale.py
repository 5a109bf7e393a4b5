"""Batch classification (process pool, Dask) and ONNX Runtime inference."""
import csv

import numpy as np
import pytest

from genrefuse.cli import main
from genrefuse.audio import iter_audio_files
from genrefuse.inference.classify import classify
from genrefuse.inference.predict import load_model

pytestmark = pytest.mark.xdist_group("fusion")


@pytest.fixture(scope="module")
def library_tree(train_dir, tmp_path_factory):
    """A nested folder of 12 clips plus a bad file and a text file."""
    import shutil

    root = tmp_path_factory.mktemp("tree")
    for g in ("doom", "swing", "techno"):
        for i in range(4):
            dest = root / "music" / g[0] / g
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(train_dir / g / f"{g}.0000{i}.wav", dest)
    (root / "music" / "broken.mp3").write_text("no audio here")
    (root / "music" / "notes.txt").write_text("ignored: not an audio extension")
    return root / "music"


def read(path):
    return {r["path"]: r for r in csv.DictReader(open(path))}


def test_walk_streams_sorted(library_tree):
    paths = [p.relative_to(library_tree).as_posix() for p in iter_audio_files([library_tree])]
    assert paths[0] == "broken.mp3" and len(paths) == 13 and paths[1].startswith("d/doom/")


def test_onnx_matches_torch(fusion_run, train_dir):
    run, _, _ = fusion_run
    onnx_model = load_model(run / "model")
    torch_model = load_model(run / "model", backend="torch")
    assert onnx_model.backend == "onnx" and torch_model.backend == "torch"
    assert len(list((run / "model").glob("model-*.onnx"))) == 1          # cached beside the bundle
    for g in ("ambient", "doom", "techno"):
        a = onnx_model.predict(train_dir / g / f"{g}.00008.wav")
        b = torch_model.predict(train_dir / g / f"{g}.00008.wav")
        assert np.abs(np.array(list(a.probabilities.values())) - np.array(list(b.probabilities.values()))).max() < 1e-5


def test_onnx_of_a_table_only_model(table_model, train_dir):
    """An mlp's graph has no Mel input at all: the runner must feed only what the graph declares."""
    a = load_model(table_model).predict(train_dir / "dub" / "dub.00009.wav")
    b = load_model(table_model, backend="torch").predict(train_dir / "dub" / "dub.00009.wav")
    assert load_model(table_model).backend == "onnx"
    assert max(abs(a.probabilities[g] - b.probabilities[g]) for g in a.probabilities) < 1e-5


def test_classify_local_resume_and_dask(fusion_run, library_tree, tmp_path, capsys):
    run, _, _ = fusion_run
    out = tmp_path / "results.csv"
    rc = main(["classify", str(library_tree), "--model", str(run / "model"), "--out", str(out), "--jobs", "2",
               "--chunk-size", "3"])
    assert rc == 1 and "broken.mp3: not a readable audio file" in capsys.readouterr().err
    rows = read(out)
    assert len(rows) == 13
    good = {p: r for p, r in rows.items() if not r["error"]}
    assert len(good) == 12
    for r in good.values():
        probs = [float(v) for k, v in r.items() if k.startswith("p_")]
        assert abs(sum(probs) - 1) < 1e-4 and r["genre"] == ["ambient", "chiptune", "doom", "dub", "swing",
                                                              "techno"][int(np.argmax(probs))]
    # the same predictions as `predict`
    model = load_model(run / "model")
    one = next(iter(good))
    assert model.predict(one).genre == good[one]["genre"]

    # resume: a run cut off mid-line keeps its complete rows and redoes the torn one only
    text = out.read_text()
    out.write_text(text[: text.rfind("\n", 0, len(text) - 1) + 25])
    report = classify(library_tree, model_dir=run / "model", out=out, jobs=1, progress=False)
    assert report.skipped == 12 and report.done + len(report.failures) == 1
    assert read(out) == rows
    again = classify(library_tree, model_dir=run / "model", out=out, jobs=1, progress=False)
    assert again.done == 0 and again.skipped == 13

    # the same job on a 2-worker Dask LocalCluster gives the same rows
    dask_out = tmp_path / "dask.csv"
    classify(library_tree, model_dir=run / "model", out=dask_out, jobs=2, scheduler="local", progress=False)
    assert read(dask_out) == rows


def test_progress_bars_only_on_a_terminal(capsys, monkeypatch):
    from genrefuse import progress

    bar = progress.progress_bar(range(500), desc="work")   # pytest's stderr is no terminal, as a log file
    for _ in bar:
        bar.set_postfix(loss="0.1", refresh=False)
    bar.close()
    assert bar.disable and "work" not in capsys.readouterr().err
    monkeypatch.setattr(progress, "_is_terminal", lambda: True)
    assert not progress.progress_bar(range(3)).disable
    assert progress.progress_bar(range(3), progress=False).disable


@pytest.mark.parametrize("n,jobs,most", [(40, 2, 8), (3, 2, 8), (1, 2, 8), (10_000, 2, 8), (17, 3, 4), (5, 1, 2),
                                         (0, 2, 8), (9, 4, 100)])
def test_chunks_even_out_the_workers(n, jobs, most):
    from genrefuse.inference.classify import chunk_sizes

    sizes = chunk_sizes(n, jobs=jobs, most=most)
    assert sum(sizes) == n and all(1 <= s <= most for s in sizes)
    assert not sizes or max(sizes) - min(sizes) <= 1
    if n >= jobs:                 # every worker gets work, and the last round fills every worker
        assert len(sizes) % jobs == 0
    assert chunk_sizes(40, jobs=2, most=8) == [7, 7, 7, 7, 6, 6]
