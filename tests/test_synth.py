import numpy as np
import pytest

from genrefuse.datasets.synth import SYNTH_GENRES, render_clip, synthesize
from genrefuse.errors import DataError


def test_deterministic_per_seed():
    a = render_clip("techno", seconds=3, seed=5, index=2)
    assert np.array_equal(a, render_clip("techno", seconds=3, seed=5, index=2))
    assert not np.array_equal(a, render_clip("techno", seconds=3, seed=6, index=2))
    assert a.dtype == np.float32 and a.shape == (3 * 22050,) and 0.2 < np.abs(a).max() < 1


def test_synthesize_writes_folders(tmp_path):
    paths = synthesize(tmp_path, per_genre=1, seconds=2, seed=0, jobs=1, progress=False)
    assert [p.parent.name for p in paths] == list(SYNTH_GENRES)
    assert all(p.stat().st_size > 80000 for p in paths)
    with pytest.raises(DataError, match="rendered with"):
        synthesize(tmp_path, per_genre=1, seconds=2, seed=1, jobs=1, progress=False)
    with pytest.raises(DataError, match="unknown synthetic genre 'polka'"):
        synthesize(tmp_path / "x", per_genre=1, genres=("polka",), progress=False)


@pytest.mark.slow
def test_hard_but_learnable():
    """The 57-feature SVM on 12 clips of 4 s per genre: clearly above chance, not perfect."""

    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from genrefuse.features import table_vector

    X, y = [], []
    for g in SYNTH_GENRES:
        for i in range(12):
            X.append(table_vector(render_clip(g, seconds=4, seed=0, index=i)))
            y.append(g)
    acc = cross_val_score(make_pipeline(StandardScaler(), SVC(C=10)), np.array(X), y,
                          cv=StratifiedKFold(4, shuffle=True, random_state=0)).mean()
    chance = 1 / len(SYNTH_GENRES)
    assert 2.5 * chance < acc < 1.0, acc
