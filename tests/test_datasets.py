
import numpy as np
import pytest

from genrefuse.datasets.layouts import discover, genres_of
from genrefuse.datasets.splits import fault_filtered_split, kfold_splits, random_split
from genrefuse.datasets.table_csv import read_feature_table
from genrefuse.errors import DataError
from genrefuse.genres import GTZAN_GENRES, genre_order

from conftest import shared_path, write


def test_folder_per_genre(synth_dir):
    items = discover(synth_dir)
    assert len(items) == 36
    assert genres_of(items) == ["ambient", "chiptune", "doom", "dub", "swing", "techno"]
    assert items[0].track == "ambient/ambient.00000" and items[0].label == "ambient"


def test_gtzan_layouts(tmp_path, tone):
    for root, ext in (("genres", "au"), ("genres_original", "wav")):
        for g in ("blues", "jazz"):
            write(tmp_path / root / root / g / f"{g}.00000.{ext}", tone)
        items = discover(tmp_path / root)
        assert [i.track for i in items] == ["blues/blues.00000", "jazz/jazz.00000"]


def test_manifest(tmp_path, tone):
    write(tmp_path / "a" / "x.wav", tone)
    write(tmp_path / "b" / "y.flac", tone)
    (tmp_path / "m.csv").write_text("path,label\na/x.wav,rock\nb/y.flac,jazz\n")
    items = discover(tmp_path / "m.csv")
    assert [(i.path.name, i.label) for i in items] == [("x.wav", "rock"), ("y.flac", "jazz")]
    (tmp_path / "bad.csv").write_text("file,genre\na/x.wav,rock\n")
    with pytest.raises(DataError, match="bad.csv.*'path' and 'label'"):
        discover(tmp_path / "bad.csv")


def test_genre_order():
    assert genre_order(reversed(GTZAN_GENRES)) == list(GTZAN_GENRES)
    assert genre_order(["rock", "blues", "rock"]) == ["blues", "rock"]


def _labels(n_per=20, genres=("a", "b", "c")):
    labels = [g for g in genres for _ in range(n_per)]
    return labels, [f"{lab}/{i}" for i, lab in enumerate(labels)]


def test_random_split_stratified_reproducible():
    labels, tracks = _labels()
    s1, s2 = random_split(labels, tracks, seed=3), random_split(labels, tracks, seed=3)
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    assert [len(s1[k]) for k in ("train", "valid", "test")] == [42, 9, 9]
    for k in s1:
        assert sorted({labels[i] for i in s1[k]}) == ["a", "b", "c"]
    assert sorted(np.concatenate(list(s1.values())).tolist()) == list(range(60))
    assert not np.array_equal(random_split(labels, tracks, seed=4)["test"], s1["test"])


def test_windows_of_a_track_stay_together():
    labels, tracks = _labels()
    labels, tracks = labels * 3, tracks * 3          # three windows per track
    for split in [random_split(labels, tracks, seed=0), *kfold_splits(labels, tracks, k=5)]:
        owner = {}
        for name, idx in split.items():
            for i in idx:
                assert owner.setdefault(tracks[i], name) == name


def test_kfold_tests_every_track_once():
    labels, tracks = _labels()
    folds = kfold_splits(labels, tracks, k=5, seed=0)
    tested = np.concatenate([f["test"] for f in folds])
    assert sorted(tested.tolist()) == list(range(60))
    with pytest.raises(DataError, match="at least 30 tracks"):
        kfold_splits(labels, tracks, k=30)


def test_fault_filtered_on_partial_copy():
    folder = shared_path("gtzan-splits", "fault-filtered")
    tracks = ["blues/blues.00029", "blues/blues.00012", "blues/blues.00000", "hiphop/hiphop.99999"]
    split, missing, unlisted = fault_filtered_split(tracks, folder)
    assert split["train"].tolist() == [0] and split["test"].tolist() == [1] and split["valid"].tolist() == [2]
    assert len(missing) == 930 - 3 and unlisted == ["hiphop/hiphop.99999"]


def test_fault_filtered_missing_lists(tmp_path):
    with pytest.raises(DataError, match="train_filtered.txt"):
        fault_filtered_split(["a"], tmp_path)


def test_read_public_table():
    t = read_feature_table(shared_path("gtzan-features", "features_30_sec.csv"))
    assert t.X.shape == (1000, 57) and genre_order(t.labels) == list(GTZAN_GENRES)
    assert t.tracks[0] == "blues/blues.00000"


@pytest.mark.parametrize("content,message", [
    ("a,b,c\n1,2,3\n", "not a feature table"),
    ("", "not a feature table"),
])
def test_malformed_tables(tmp_path, content, message):
    p = tmp_path / "t.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=message):
        read_feature_table(p)


def test_bad_values_in_table(tmp_path):
    from genrefuse.features import FEATURE_COLUMNS

    header = "filename," + ",".join(FEATURE_COLUMNS) + ",label\n"
    good = "x.wav," + ",".join(["1.0"] * 57) + ",rock\n"
    p = tmp_path / "t.csv"
    p.write_text(header + good + good.replace("1.0", "abc", 1))
    with pytest.raises(DataError, match=r"t.csv:3: column 'chroma_stft_mean' is not a number"):
        read_feature_table(p)
    p.write_text(header + good.replace("1.0", "nan", 2))
    with pytest.raises(DataError, match="not finite"):
        read_feature_table(p)
    p.write_text(header)
    with pytest.raises(DataError, match="no rows"):
        read_feature_table(p)


def test_a_new_recipe_version_recomputes_and_a_foreign_entry_is_named(tmp_path, tone, monkeypatch):
    """Cache keys carry the recipes' versions: changing one recomputes rather than reuses stale rows."""
    from genrefuse.datasets.cache import FeatureCache
    from genrefuse.datasets.extract import extract_dataset, load_manifest_dataset
    from genrefuse.datasets.layouts import discover
    from genrefuse.errors import DataError
    from genrefuse.features import params as fp
    from genrefuse.library.features import recipe_id

    from conftest import tiny_params, write

    write(tmp_path / "audio" / "a" / "one.wav", tone)
    items = discover(tmp_path / "audio")
    params = tiny_params()
    cache = tmp_path / "cache"
    extract_dataset(items, cache, jobs=1, params=params, progress=False)
    before = FeatureCache(cache, params).folder
    entry = next(before.rglob("*.safetensors"))
    lib_recipe = recipe_id(params.to_dict(), {})
    monkeypatch.setitem(fp.RECIPE_VERSIONS, "table", "gtzan-table-test")
    after = FeatureCache(cache, params).folder
    assert after != before and not after.exists()
    extract_dataset(items, cache, jobs=1, params=params, progress=False)
    assert len(list(after.rglob("*.safetensors"))) == 1         # computed again under the new version
    assert recipe_id(params.to_dict(), {}) != lib_recipe        # the library's rows are keyed the same way
    monkeypatch.undo()
    from safetensors.numpy import save_file

    save_file({"mel": np.zeros((3, 3), np.float32), "table": np.zeros(57), "length": np.ones(1, np.int64)}, str(entry))
    with pytest.raises(DataError, match="other shapes than its parameters"):
        load_manifest_dataset(cache, params=params)
