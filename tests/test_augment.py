"""The paper's future work on the CNN branch: augmentation (an augmented example differs from its source
and keeps its label), 3 s segments (they never straddle splits; a track's answer is the mean of its
segments'), and both through `genrefuse train`."""
import json

import numpy as np
import pytest
import torch

from genrefuse.cli import main
from genrefuse.errors import DataError
from genrefuse.training.augment import AugmentedClips, AugmentPolicy, augment_waveform, spec_augment
from genrefuse.training.trainer import ClipDataset

pytestmark = pytest.mark.xdist_group("future")


def test_augmented_examples_differ_and_keep_their_labels():
    rng = np.random.default_rng(0)
    y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * 22050) / 22050)).astype(np.float32)
    policy = AugmentPolicy.parse("shift,gain,noise,lowpass")
    a, b = augment_waveform(y, 22050, policy, seed=1), augment_waveform(y, 22050, policy, seed=1)
    assert np.array_equal(a, b)                                    # seeded: the same copy again
    assert not np.allclose(a, y) and a.shape == y.shape and np.abs(a).max() <= 1.0
    assert not np.array_equal(a, augment_waveform(y, 22050, policy, seed=2))
    with pytest.raises(DataError, match="unknown augmentation 'reverb'"):
        AugmentPolicy.parse("noise,reverb")
    base = ClipDataset(rng.random((4, 8, 20), dtype=np.float32), rng.random((4, 57)).astype(np.float32),
                       np.array([0, 1, 2, 1]))
    variants = rng.random((4, 2, 8, 20), dtype=np.float32)
    ds = AugmentedClips(base, variants, None, seed=0)
    seen_variant = False
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(4):
            mel, table, _, label = ds[i]
            assert int(label) == int(base[i][3])                   # the label never changes
            v = int(ds.choice[i])
            assert torch.equal(mel, base[i][0] if v == 0 else torch.from_numpy(variants[i, v - 1]))
            seen_variant |= v > 0
    assert seen_variant
    mel = torch.ones(3, 16, 50)
    masked = spec_augment(mel, torch.Generator().manual_seed(0))
    assert masked.shape == mel.shape and (masked == 0).any() and (masked == 1).any() and torch.equal(mel, torch.ones(3, 16, 50))


def test_segments_and_augmentation_through_train(train_dir, tmp_path):
    from genrefuse import load_model
    from genrefuse.audio import load
    from genrefuse.datasets.labelled import load_labelled, make_splits
    from genrefuse.features.params import DEFAULT_PARAMS
    from genrefuse.models.bundle import load_bundle
    from genrefuse.preprocess.track import ModelInputs
    from genrefuse.training.segments import clip_rows, segment_params, segmented

    params = segment_params(DEFAULT_PARAMS, 3.0)
    data = segmented(load_labelled(train_dir, with_mel=False, cache_dir=tmp_path / "c", progress=False), params,
                     cache_dir=tmp_path / "c", progress=False)
    assert len(data) == 2 * 60 and sorted(set(data.segment)) == [0, 1]     # 6 s clips: two 3 s segments each
    s = make_splits(data, "random", seed=0)[0]
    parts = [{data.tracks[i] for i in s[k]} for k in ("train", "valid", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])      # no track straddles
    out = tmp_path / "run"
    assert main(["train", str(train_dir), "--model", "fusion", "--segments", "3", "--augment", "gain,noise,specaugment",
                 "--augment-variants", "1", "--epochs", "3", "--batch-size", "16", "--cache", str(tmp_path / "c"),
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["test_size"] == len({data.tracks[i] for i in s["test"]})        # scored per track
    bundle = load_bundle(out / "model")
    assert bundle.window_policy.window_seconds == 3.0 and bundle.feature_params.window_seconds == 3.0
    assert bundle.extra["training"]["augment"]["transforms"] == ["gain", "noise", "specaugment"]
    # a track's prediction is the mean of its segments' probabilities
    clip = train_dir / "doom" / "doom.00003.wav"
    pred = load_model(out / "model", backend="torch").predict(clip)
    mel, table = clip_rows(load(clip), bundle.feature_params)
    segments = bundle.probabilities(ModelInputs(table, mel, None))
    assert pred.windows == 2
    np.testing.assert_allclose([pred.probabilities[g] for g in bundle.genres], segments.mean(axis=0), atol=1e-5)
    with pytest.raises(SystemExit):
        main(["train", str(train_dir), "--model", "mlp", "--augment", "--epochs", "1", "--out", str(tmp_path / "x"),
              "--segments", "nope"])
    assert main(["train", str(train_dir), "--model", "mlp", "--augment", "--epochs", "1",
                 "--out", str(tmp_path / "x")]) == 2                              # augmentation needs the CNN


def test_augment_implies_short_segments(capsys):
    """--augment on whole windows cost clean accuracy on the robustness benchmark, so it implies 3 s
    segments unless a length is given (README, benchmarks/robustness.py)."""
    from genrefuse.cli.main import build_parser
    from genrefuse.cli.model_commands import _train_config
    from genrefuse.training.trainer import TrainConfig

    assert TrainConfig(augment="default").with_implied_segments().segments == 3.0
    assert TrainConfig(augment="default", segments=5.0).with_implied_segments().segments == 5.0
    assert TrainConfig().with_implied_segments().segments is None
    a = build_parser().parse_args(["train", "data", "--out", "run", "--augment"])
    _train_config(a)
    assert "--augment trains on 3 s segments" in capsys.readouterr().err
    a = build_parser().parse_args(["train", "data", "--out", "run", "--augment", "--model", "mlp"])
    _train_config(a)
    assert capsys.readouterr().err == ""          # not an audio kind: refused later, not told about segments
