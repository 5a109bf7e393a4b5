"""The fast feature path gives the reference path's numbers."""
import csv

import numpy as np
import pytest
import scipy.ndimage

from genrefuse.audio import load_clip
from genrefuse.datasets.synth import SYNTH_GENRES, render_clip
from genrefuse.features.clip import clip_inputs
from genrefuse.features.fast import istft, median_filter_exact
from genrefuse.features.table import FEATURE_COLUMNS

from conftest import SHARED, shared_path

# each column's standard deviation over the public table (fallback: 1, i.e. absolute errors)
_TABLE = SHARED / "gtzan-features" / "features_30_sec.csv"


def column_std() -> np.ndarray:
    if not _TABLE.exists():
        pytest.skip(f"needs the public table for the column scales: {_TABLE}")
    rows = list(csv.DictReader(open(_TABLE)))
    return np.array([[float(r[c]) for c in FEATURE_COLUMNS] for r in rows]).std(axis=0)


@pytest.mark.parametrize("axis,size", [(1, (1, 31)), (0, (31, 1))])
def test_median_filter_is_scipys_exactly(axis, size):
    X = np.random.default_rng(axis).random((300, 257)).astype(np.float32)
    assert np.array_equal(median_filter_exact(X, width=31, axis=axis),
                          scipy.ndimage.median_filter(X, size=size, mode="reflect"))


def test_istft_matches_librosa():
    import librosa

    y = render_clip("swing", seconds=4, index=3)
    D = librosa.stft(y) * np.float32(0.5)
    ref = librosa.istft(D, length=y.size, dtype=np.float32)
    assert np.abs(istft(D, length=y.size) - ref).max() < 1e-6


def _check(y, std):
    mel_ref, tab_ref = clip_inputs(y, method="reference")
    mel_fast, tab_fast = clip_inputs(y, method="fast")
    z = np.abs(tab_fast - tab_ref) / std
    assert z.max() <= 1e-4, f"{FEATURE_COLUMNS[int(np.argmax(z))]}: {z.max():.2e} standard deviations off"
    assert np.abs(mel_fast - mel_ref).max() < 1e-5


@pytest.mark.parametrize("genre", SYNTH_GENRES)
def test_parity_on_synthetic_clips(genre):
    _check(render_clip(genre, seconds=8, index=7), column_std())


@pytest.mark.parametrize("genre", ["blues", "classical", "country", "disco", "hiphop"])
def test_parity_on_real_clips(genre):
    _check(load_clip(shared_path("gtzan-clips", genre, f"{genre}.00000.au")), column_std())


def test_silence_and_short_input():
    std = column_std()
    y = np.zeros(3 * 22050, np.float32)
    y[1000] = 0.5                                  # one click: no onsets to speak of
    _check(y, std)


@pytest.mark.timeout(120)
def test_many_threads_at_once():
    # the web service extracts features in many threads at once; the fast path's own thread pools
    # once deadlocked there (an HPSS task waiting on a median task queued behind it)
    from concurrent.futures import ThreadPoolExecutor

    from genrefuse.features.fast import fast_clip_inputs

    clips = [render_clip(g, seconds=3, index=1) for g in SYNTH_GENRES]
    alone = [fast_clip_inputs(c)[1] for c in clips]
    with ThreadPoolExecutor(max_workers=12) as pool:
        together = list(pool.map(lambda c: fast_clip_inputs(c)[1], clips * 2))
    for a, b in zip(alone * 2, together):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)      # float32 BLAS rounding may differ


def test_a_pool_worker_computes_the_same_in_one_thread(monkeypatch):
    # inside a worker pool (OMP_NUM_THREADS=1) HPSS runs inline, not in the fast path's threads: same numbers
    from genrefuse.features import fast
    from genrefuse.parallel import spare_cores

    y = render_clip("swing", seconds=6, index=3)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert spare_cores()
    mel_threads, tab_threads = fast.fast_clip_inputs(y)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert not spare_cores()
    mel_one, tab_one = fast.fast_clip_inputs(y)
    np.testing.assert_array_equal(tab_one, tab_threads)
    np.testing.assert_array_equal(mel_one, mel_threads)


def test_a_pool_worker_tags_after_the_features_with_the_same_result(monkeypatch):
    # inside a worker pool the tagger runs in the calling thread rather than beside the table features: the same inputs
    from genrefuse.audio import WindowPolicy
    from genrefuse.preprocess.track import track_inputs

    y = render_clip("dub", seconds=9, index=2)
    policy = WindowPolicy(patch_hop_seconds=3.0)
    runs = {}
    for threads in ("2", "1"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        runs[threads] = track_inputs(y, sr=22050, policy=policy, tags=True, hear=True, deep=True)
    for field in ("table", "mel", "tags", "mtt", "deep"):
        np.testing.assert_array_equal(getattr(runs["1"], field), getattr(runs["2"], field), err_msg=field)
    assert runs["1"].tags.shape == (1, 100) and runs["1"].deep.shape == (1, 400)
