import numpy as np
import pytest
import torch

from genrefuse.models.fusion import Architecture, GenreNet


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_model_shapes_and_size():
    m = GenreNet(Architecture(kind="fusion", n_classes=10))
    assert m.cnn.flat_features == 7168
    assert n_params(m) == 960_778          # about 960k, as the paper's model
    m.eval()
    out = m(torch.rand(2, 128, 1300), torch.randn(2, 57))
    assert out.shape == (2, 10)
    from genrefuse.models.predictor import TorchPredictor

    p = TorchPredictor(m, device="cpu").probabilities(mel=np.random.rand(2, 128, 1300), table=np.random.randn(2, 57))
    assert p.shape == (2, 10) and np.allclose(p.sum(1), 1)


def test_branch_layers_in_paper_order():
    m = GenreNet(Architecture(kind="fusion", n_classes=10))
    kinds = [type(layer).__name__ for layer in m.cnn.features]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d"] * 3 + ["Flatten"]
    assert [layer.kernel_size for layer in m.cnn.features if isinstance(layer, torch.nn.MaxPool2d)] == [(2, 6), (2, 6), (2, 4)]
    assert [layer.out_channels for layer in m.cnn.features if isinstance(layer, torch.nn.Conv2d)] == [16, 32, 64]
    assert m.cnn.head[1].p == 0.4 and m.cnn.dense.out_features == 128
    mlp = [type(layer).__name__ for layer in m.mlp.net]
    assert mlp == ["Linear", "ReLU", "BatchNorm1d", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout"]
    assert m.classifier.in_features == 128 + 32


def test_ablations():
    cnn = GenreNet(Architecture(kind="cnn", n_classes=6, n_frames=320))
    mlp = GenreNet(Architecture(kind="mlp", n_classes=6))
    assert cnn.mlp is None and mlp.cnn is None
    assert cnn(torch.rand(3, 128, 320)).shape == (3, 6)
    mlp.eval()
    assert mlp(table=torch.randn(3, 57)).shape == (3, 6)
    assert float(mlp.l2_penalty()) == 0.0


def test_l2_penalty_is_keras_style():
    m = GenreNet(Architecture(kind="cnn", n_classes=6, n_frames=320))
    assert torch.isclose(m.l2_penalty(), 0.02 * m.cnn.dense.weight.pow(2).sum())


def test_input_too_small():
    with pytest.raises(ValueError, match="too small"):
        GenreNet(Architecture(kind="cnn", n_classes=2, n_frames=40))


def test_gated_fusion_gates_the_concatenated_branches():
    m = GenreNet(Architecture(kind="mlp+musicnn", n_classes=4, fusion="gated")).eval()
    assert m.gate.in_features == m.gate.out_features == 64             # two 32-unit branches
    table, tags = torch.randn(3, 57), torch.randn(3, 100)
    base = m(table=table, tags=tags)
    with torch.no_grad():                                              # a closed gate leaves only the bias
        m.gate.weight.zero_()
        m.gate.bias.fill_(-1e4)
    assert torch.allclose(m(table=table, tags=tags), m.classifier.bias.expand(3, 4))
    assert not torch.allclose(base, m(table=table, tags=tags))
    with pytest.raises(ValueError, match="unknown fusion"):
        GenreNet(Architecture(kind="mlp+musicnn", n_classes=4, fusion="sum"))


def test_input_noise_only_while_training():
    from genrefuse.models.kinds import KINDS

    assert KINDS["mlp+musicnn"].input_noise > 0 and KINDS["mlp"].input_noise == 0 == KINDS["fusion"].input_noise
    torch.manual_seed(0)
    noisy = GenreNet(Architecture(kind="mlp+musicnn", n_classes=4, input_noise=0.6, mlp_dropout=0.0))
    clean = GenreNet(Architecture(kind="mlp+musicnn", n_classes=4, input_noise=0.0, mlp_dropout=0.0))
    clean.load_state_dict(noisy.state_dict())
    table, tags = torch.randn(8, 57), torch.randn(8, 100)
    noisy.eval(), clean.eval()
    assert torch.equal(noisy(table=table, tags=tags), clean(table=table, tags=tags))
    noisy.train(), clean.train()
    assert not torch.allclose(noisy(table=table, tags=tags), clean(table=table, tags=tags))
    with pytest.raises(ValueError, match="noise"):
        GenreNet(Architecture(kind="mlp", n_classes=4, input_noise=-1.0))


def test_attention_fusion_weights_each_branch():
    torch.manual_seed(0)
    m = GenreNet(Architecture(kind="fusion+musicnn", n_classes=5, n_frames=320, fusion="attention")).eval()
    mel, table, tags = torch.rand(4, 128, 320), torch.randn(4, 57), torch.randn(4, 100)
    assert m(mel, table, tags).shape == (4, 5) and m.classifier.in_features == 32
    parts = [m.cnn(mel.unsqueeze(1)), m.mlp(table), m.tags(tags)]
    pooled, weights = m.attention_pool(parts)
    assert weights.shape == (4, 3) and torch.allclose(weights.sum(1), torch.ones(4))
    with torch.no_grad():                       # equal scores: equal weights
        m.attend[2].weight.zero_()
        assert torch.allclose(m.attention_pool(parts)[1], torch.full((4, 3), 1 / 3))


def test_ensemble_averages_its_members():
    from genrefuse.models.ensemble import GenreEnsemble, build_model

    torch.manual_seed(0)
    arch = Architecture(kind="mlp+musicnn", n_classes=4, members=3)
    m = build_model(arch).eval()
    assert isinstance(m, GenreEnsemble) and len(m.members) == 3 and m.cnn is None and m.tags is not None
    table, tags = torch.randn(6, 57), torch.randn(6, 100)
    mean = torch.stack([torch.softmax(n(table=table, tags=tags), 1) for n in m.members]).mean(0)
    from genrefuse.models.predictor import TorchPredictor

    p = TorchPredictor(m, device="cpu").probabilities(table=table.numpy(), tags=tags.numpy())
    assert np.allclose(p, mean.detach().numpy(), atol=1e-6)
    assert len(m.state_dict()) == 3 * len(m.members[0].state_dict())      # each weight stored once
    assert isinstance(build_model(Architecture(kind="mlp", n_classes=4)), GenreNet)
    with pytest.raises(ValueError, match="one net"):
        GenreNet(arch)
    with pytest.raises(ValueError, match="that many nets"):
        GenreEnsemble(arch, list(m.members)[:2])


def test_kind_registry_says_what_each_kind_reads():
    from genrefuse.errors import DataError
    from genrefuse.models.kinds import KINDS, PAPER_KINDS, model_kind

    assert PAPER_KINDS == ("fusion", "cnn", "mlp", "knn", "svm")
    assert {k for k, v in KINDS.items() if v.uses_mel} == {"fusion", "cnn", "fusion+musicnn"}
    assert {k for k, v in KINDS.items() if v.uses_tags} == {"musicnn", "mlp+musicnn", "fusion+musicnn", "logreg+musicnn",
                                                            "balanced-logreg+musicnn", "logreg+musicnn+deep",
                                                            "balanced-logreg+musicnn+deep"}
    assert {k for k, v in KINDS.items() if v.uses_deep} == {"logreg+musicnn+deep", "balanced-logreg+musicnn+deep"}
    assert {k for k, v in KINDS.items() if not v.neural} == {"knn", "svm", "logreg", "logreg+musicnn", "balanced-logreg+musicnn",
                                                             "logreg+musicnn+deep", "balanced-logreg+musicnn+deep"}
    assert all(v.summary for v in KINDS.values()) and all(v.estimator for v in KINDS.values() if not v.neural)
    for kind, spec in KINDS.items():
        if spec.neural:
            arch = Architecture(kind=kind, n_classes=3)
            assert (arch.uses_mel, arch.uses_table, arch.uses_tags) == (spec.uses_mel, spec.uses_table, spec.uses_tags)
    with pytest.raises(DataError, match="unknown model kind 'rnn'"):
        model_kind("rnn")
