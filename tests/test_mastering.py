"""Training for recordings unlike GTZAN's: loud-master shifts of the training rows (training/mastering.py,
training/fit.shifted_rows) and the table's weight in the logistic regression (models/classic.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrefuse.errors import DataError
from genrefuse.features.columns import FEATURE_COLUMNS
from genrefuse.models.classic import ClassicModel
from genrefuse.training.fit import shifted_rows
from genrefuse.training.mastering import input_shifts, loud_master
from genrefuse.training.trainer import TrainConfig

TAG_COLUMNS = 100         # the musicnn summary: 50 means, 50 spreads

ROOT = Path(__file__).resolve().parents[1]


def _rows(n=120, table=57, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, table + TAG_COLUMNS)) + y[:, None] * 0.3
    return X, y


def test_a_table_weight_is_folded_into_the_coefficients():
    """Fitting with the table's columns weighted 0.5 equals scikit-learn fitted and asked on weighted columns,
    while the model itself is asked on the plain rows."""
    from sklearn.linear_model import LogisticRegression

    X, y = _rows()
    scale = np.ones(X.shape[1])
    scale[:57] = 0.5                       # the table: the first 57 columns
    ours = ClassicModel("logreg+musicnn", 3, table_weight=0.5).fit(X, y)
    ref = LogisticRegression(C=0.1, max_iter=5000).fit(X * scale, y)
    assert np.allclose(ours.predict_proba(X), ref.predict_proba(X * scale), atol=1e-6)
    plain = ClassicModel("logreg+musicnn", 3).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), ours.predict_proba(X), atol=1e-3)
    assert ours.get_params()["table_weight"] == 0.5 and ours.hyper["table_weight"] == 0.5


def test_sample_weights_reach_the_regression_and_are_refused_by_knn():
    X, y = _rows()
    w = np.where(y == 0, 5.0, 1.0)
    heavy = ClassicModel("logreg+musicnn", 3).fit(X, y, sample_weight=w)
    plain = ClassicModel("logreg+musicnn", 3).fit(X, y)
    assert heavy.predict_proba(X)[:, 0].mean() > plain.predict_proba(X)[:, 0].mean()
    with pytest.raises(ValueError, match="knn"):
        ClassicModel("knn", 3).fit(X[:, :7], y, sample_weight=w)


def test_shifted_rows_add_each_row_moved_by_each_shift_at_the_shift_weight():
    X, y = _rows(n=10)
    scale = np.full(X.shape[1], 2.0)
    shifts = np.zeros((2, X.shape[1]))
    shifts[0, 0], shifts[1, -1] = 4.0, -1.0
    config = TrainConfig(shifts=tuple(map(tuple, shifts)), shift_weight=0.25)
    rows, labels, weights = shifted_rows(X, y, config, scale=scale)
    assert rows.shape == (30, X.shape[1]) and list(labels) == list(y) * 3
    assert np.allclose(rows[:10], X) and np.allclose(rows[10:20, 0], X[:, 0] + 2.0)
    assert np.allclose(rows[20:, -1], X[:, -1] - 0.5) and np.allclose(rows[10:20, 1:], X[:, 1:])
    assert list(weights) == [1.0] * 10 + [0.25] * 20
    assert shifted_rows(X, y, TrainConfig(), scale=scale)[2] is None
    with pytest.raises(DataError, match="do not fit"):
        shifted_rows(X[:, :5], y, config, scale=scale[:5])


def test_a_loud_master_is_limited_brighter_and_louder():
    sr = 22050
    t = np.arange(sr * 2) / sr
    y = (0.1 * np.sin(2 * np.pi * 220 * t) + 0.01 * np.sin(2 * np.pi * 8000 * t)).astype(np.float32)
    m = loud_master(y, sr=sr, drive=4.0)
    assert m.dtype == np.float32 and m.shape == y.shape and np.max(np.abs(m)) <= 0.98 + 1e-6
    assert np.sqrt(np.mean(m ** 2)) > 3 * np.sqrt(np.mean(y ** 2))
    assert np.sqrt(np.mean(loud_master(y, sr=sr, drive=8.0) ** 2)) > np.sqrt(np.mean(m ** 2))


def test_input_shifts_measure_how_a_master_moves_the_rows(tmp_path):
    sr = 22050
    rng = np.random.default_rng(1)
    t = np.arange(sr * 5) / sr
    y = 0.05 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + 0.01 * rng.normal(size=t.size)
    sf.write(tmp_path / "clip.wav", y.astype(np.float32), sr)
    shifts = input_shifts([tmp_path / "clip.wav"], drives=(2.0, 8.0))
    assert shifts.shape == (2, 57 + TAG_COLUMNS) and np.isfinite(shifts).all()
    rms = FEATURE_COLUMNS.index("rms_mean")
    assert shifts[1, rms] > shifts[0, rms] > 0         # louder, and a harder master louder still
    with pytest.raises(ValueError, match="at least one clip"):
        input_shifts([])


def test_the_packaged_model_says_how_it_was_trained():
    card = json.loads((ROOT / "src" / "genrefuse" / "default_model" / "config.json").read_text())["card"]
    assert card["inputs"]["table_weight"] == 1.0
    assert card["inputs"]["loud_masters"] == {"drives": [2.0, 4.0], "weight": 0.25}
