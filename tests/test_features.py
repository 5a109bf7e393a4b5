import csv
import subprocess
import sys

import numpy as np
import pytest

from genrefuse.audio import load_clip
from genrefuse.features import (DEFAULT_PARAMS, FEATURE_COLUMNS, TABLE_COLUMNS, FeatureParams, chroma,
                                mel_input, mfcc, power_stft, table_features, table_vector)

from conftest import shared_path


def test_mel_input_shape_range(tone):
    m = mel_input(tone)
    assert m.shape == (128, 1300) and m.dtype == np.float32
    assert m.min() == 0.0 and m.max() == 1.0


def test_mel_input_crops_long_clips():
    y = np.random.default_rng(0).standard_normal(40 * 22050).astype(np.float32)
    assert mel_input(y).shape == (128, 1300)


def test_precomputed_spectrogram_gives_same_features(tone):
    S = power_stft(tone)
    assert np.allclose(mel_input(S=S), mel_input(tone), atol=1e-5)
    assert np.allclose(mfcc(S=S), mfcc(tone), atol=1e-3)
    assert np.allclose(chroma(S=S), chroma(tone), atol=1e-5)
    assert mfcc(tone).shape[0] == 20 and chroma(tone).shape[0] == 12


def test_params_are_recorded():
    p = FeatureParams(n_frames=64)
    assert FeatureParams.from_dict(p.to_dict()) == p
    assert p.key() != DEFAULT_PARAMS.key()
    assert mel_input(np.random.default_rng(1).standard_normal(22050 * 3).astype(np.float32), params=p).shape == (128, 64)


def test_table_columns_match_public_table():
    header = next(csv.reader(open(shared_path("gtzan-features", "features_30_sec.csv"))))
    assert tuple(header) == TABLE_COLUMNS


def test_table_features_of_tone(tone):
    f = table_features(tone)
    assert list(f) == list(FEATURE_COLUMNS) and len(f) == 57
    assert all(np.isfinite(v) for v in f.values())
    pure = np.sin(2 * np.pi * 440 * np.arange(3 * 22050) / 22050).astype(np.float32)
    assert 400 < table_features(pure)["spectral_centroid_mean"] < 480


@pytest.mark.parametrize("genre", ["blues", "classical", "country", "disco", "hiphop"])
def test_table_parity_with_published_rows(genre):
    """Our values within 0.05 of each column's standard deviation over the 1000 published rows."""
    table = shared_path("gtzan-features", "features_30_sec.csv")
    rows = list(csv.DictReader(open(table)))
    all_values = np.array([[float(r[c]) for c in FEATURE_COLUMNS] for r in rows])
    std = all_values.std(axis=0)
    ref_row = next(r for r in rows if r["filename"] == f"{genre}.00000.wav")
    ref = np.array([float(ref_row[c]) for c in FEATURE_COLUMNS])
    y = load_clip(shared_path("gtzan-clips", genre, f"{genre}.00000.au"))
    assert y.size == int(ref_row["length"])
    z = np.abs(table_vector(y) - ref) / std
    worst = FEATURE_COLUMNS[int(np.argmax(z))]
    assert z.max() <= 0.05, f"{worst}: {z.max():.3f} standard deviations off"


@pytest.mark.parametrize("shape, axis", [((1001,), None), ((1000,), None), ((128, 1293), 0), ((127, 40), 0), ((1,), None)])
def test_the_features_median_is_numpy_s_bit_for_bit(shape, axis):
    """dsp.median (the tuning threshold, the onset envelope) equals np.median exactly, and a cold process that
    computes a clip's table imports no numpy.ma for it."""
    from genrefuse.features.dsp import median

    x = np.random.default_rng(3).random(shape).astype(np.float32)
    got, want = median(x, axis=axis), np.median(x, axis=axis)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_a_clip_s_table_imports_no_masked_arrays():
    code = ("import sys, numpy as np\nfrom genrefuse.features.clip import clip_inputs\n"
            "y = np.random.default_rng(0).standard_normal(22050 * 5).astype(np.float32) * 0.1\n"
            "clip_inputs(y)\nprint('numpy.ma' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False", r.stderr
