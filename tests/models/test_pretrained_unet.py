"""generator.encoder=lite0: the U-Net around the ImageNet EfficientNet-Lite0 (img2img/models/pretrained_unet.py).

Tiny sizes and random encoder weights (pretrained=False, or a fake ImageNet state dict) everywhere but the one
test that compares the pretrained encoder with img2img.features' Lite0, which skips without the weight package.
"""

from __future__ import annotations

import importlib

import pytest
import torch
from conftest import tiny_config

from img2img.config import GeneratorConfig, TrainConfig
from img2img.errors import ConfigError
from img2img.models import Lite0UNetGenerator, UNetGenerator, build_generator, param_groups, sample_latent

pretrained_unet = importlib.import_module("img2img.models.pretrained_unet")


def lite0_config(**overrides) -> GeneratorConfig:
    values = dict(encoder="lite0", ngf=8, max_mult=4, nz=8, norm="instance")
    values.update(overrides)
    return GeneratorConfig(**values)


def _perturbed(g: torch.nn.Module, spread: float = 0.05) -> torch.nn.Module:
    """Move every parameter off its init (the zero-initialised residual/out layers would hide differences)."""
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * spread)
    return g


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def fake_imagenet(monkeypatch):
    """Stands in for the ImageNet state dict (same names and shapes, random values): the trainer builds its
    generator with pretrained=True, and the suite must not need the weight package."""
    torch.manual_seed(123)
    state = pretrained_unet._lite0_trunk().state_dict()
    state = {k: (v.abs() + 0.5 if k.endswith("running_var") else v) for k, v in state.items()}
    monkeypatch.setattr(pretrained_unet, "lite0_state", lambda: dict(state))
    return state


def test_factory_picks_the_generator_and_the_config_says_which() -> None:
    assert isinstance(build_generator(GeneratorConfig(ngf=4, max_mult=2), size=32), UNetGenerator)
    g = build_generator(lite0_config(), size=128)
    assert isinstance(g, Lite0UNetGenerator)
    # The depth is the encoder's, whatever the training size: the config alone rebuilds the network.
    assert g.depth == 5 and g.multiple == 32 and g.config.depth == 5 and g.config.encoder == "lite0"
    rebuilt = build_generator(g.config)
    assert [t.shape for t in rebuilt.state_dict().values()] == [t.shape for t in g.state_dict().values()]


def test_config_validation() -> None:
    lite0_config().validate()
    lite0_config(depth=5).validate()
    # A concatenated z is a per-channel constant that instance norm removes: a cGAN's latent needs FiLM or noise.
    run = TrainConfig()
    run.generator = lite0_config()
    with pytest.raises(ConfigError, match="generator.film=true"):
        run.validate()
    for fix in ({"film": True}, {"noise": True}, {"nz": 0}, {"norm": "batch"}):
        run.generator = lite0_config(**fix)
        run.validate()
    run.model, run.generator = "regression", lite0_config()
    run.validate()
    with pytest.raises(ConfigError, match="generator.encoder"):
        GeneratorConfig(encoder="vgg").validate()
    with pytest.raises(ConfigError, match="depth"):
        lite0_config(depth=7).validate()
    with pytest.raises(ConfigError, match="context_blocks"):
        lite0_config(context_blocks=4).validate()
    cfg = TrainConfig()
    cfg.optim.encoder_lr_mult = 1.5
    with pytest.raises(ConfigError, match="encoder_lr_mult"):
        cfg.validate()


@pytest.mark.parametrize("in_channels", [1, 3, 4])
@pytest.mark.parametrize("height,width", [(32, 32), (37, 53), (64, 96), (5, 70)])
def test_any_height_width_and_channel_count(in_channels: int, height: int, width: int) -> None:
    g = build_generator(lite0_config(in_channels=in_channels), size=32).eval()
    with torch.no_grad():
        out = g(torch.rand(2, in_channels, height, width) * 2 - 1, sample_latent(2, 8))
    assert out.shape == (2, 3, height, width)
    assert torch.isfinite(out).all() and out.abs().max() <= 1


def test_stem_adaptation_keeps_the_rgb_filters() -> None:
    rgb = build_generator(lite0_config(in_channels=3), size=32)
    stem = rgb.encoder._conv_stem
    grey = pretrained_unet._adapt_stem(stem, 1)
    masked = pretrained_unet._adapt_stem(stem, 4)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    # A grey image gives the features of its RGB repetition; the extra (mask) channel starts without effect.
    assert torch.allclose(grey(x), stem(x.expand(-1, 3, -1, -1)), atol=1e-5)
    rgbx = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(masked(torch.cat([rgbx, torch.ones(1, 1, 32, 32)], 1)), stem(rgbx), atol=1e-6)


def test_samples_differ_with_z_and_regression_has_no_latent() -> None:
    g = _perturbed(build_generator(lite0_config(film=True, noise=True), size=32)).eval()
    y = torch.rand(1, 3, 48, 48).expand(2, -1, -1, -1) * 2 - 1
    with torch.no_grad():
        out = g(y, sample_latent(2, 8))
        mean = g(y[:1])
    assert (out[0] - out[1]).abs().mean() > 1e-3
    assert torch.equal(mean, g(y[:1], torch.zeros(1, 8)))  # z = None is the mean of the prior
    regression = build_generator(lite0_config(nz=0), size=32).eval()
    assert regression.nz == 0 and regression.film is None and regression.noise is None
    with pytest.raises(ValueError):
        g(y, torch.zeros(2, 3))


def test_residual_is_the_identity_at_init_and_outputs_are_bounded() -> None:
    g = build_generator(lite0_config(residual=True), size=32).eval()
    y = torch.rand(2, 3, 40, 36) * 2 - 1
    with torch.no_grad():
        assert torch.equal(g(y, sample_latent(2, 8)), y)
    clipped = _perturbed(build_generator(lite0_config(output="clip"), size=32), 1.0).eval()
    tanh = _perturbed(build_generator(lite0_config(), size=32), 1.0).eval()
    assert clipped.clip and not tanh.clip and not tanh.residual
    with torch.no_grad():
        for g in (clipped, tanh):
            assert g(y * 100, sample_latent(2, 8)).abs().max() <= 1


def test_no_batchnorm_runs_and_train_mode_changes_nothing_but_dropout() -> None:
    g = _perturbed(build_generator(lite0_config(dropout=0.0), size=32))
    # The frozen BatchNorms were folded into their convolutions: no running statistics anywhere to drift.
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in g.modules())
    assert not any("running" in name for name, _ in g.named_buffers())
    y, z = torch.rand(4, 3, 32, 32) * 2 - 1, sample_latent(4, 8)
    with torch.no_grad():
        before = g.eval()(y, z)
    g.train()
    opt = torch.optim.SGD(param_groups(g, 0.0, 0.1), lr=0.0)  # a step that moves no weight
    (g(y, z) - y).abs().mean().backward()
    opt.step()
    with torch.no_grad():
        assert torch.equal(g(y, z), before)
        assert torch.equal(g.eval()(y, z), before)


def test_depthwise_convolutions_run_in_fp32_under_bf16_autocast() -> None:
    # They have no bf16 matrix-unit kernel on the CPU (their bf16 backward was the slowest part of a step): under
    # autocast they compute in fp32, exactly as without it, and the gradient reaches their weights; the dense
    # convolutions still run in bf16.
    from img2img.models.pretrained_unet import _EvenSameConv2d
    torch.manual_seed(0)
    depthwise, dense = _EvenSameConv2d(8, 8, 5, 2, groups=8), _EvenSameConv2d(8, 4, 1)
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        plain = depthwise(x)
    with torch.autocast("cpu", torch.bfloat16):
        out = depthwise(x.bfloat16())
        assert dense(out).dtype == torch.bfloat16
        out.sum().backward()
    assert out.dtype == torch.float32 and torch.equal(out, depthwise(x.bfloat16().float()).detach())
    assert (out - plain).abs().max() < 0.1 and depthwise.weight.grad is not None
    assert depthwise.weight.grad.abs().sum() > 0


def test_encoder_trains_at_its_own_learning_rate() -> None:
    g = build_generator(lite0_config(), size=32)
    groups = param_groups(g, 2e-4, 0.1)
    encoder = {id(p) for p in g.encoder.parameters()}
    assert [group["lr"] for group in groups] == [2e-4, pytest.approx(2e-5)]
    assert {id(p) for p in groups[1]["params"]} == encoder
    assert not encoder & {id(p) for p in groups[0]["params"]}
    assert sum(len(group["params"]) for group in groups) == len(list(g.parameters()))
    # 0: the encoder is frozen (no backward through it), the rest trains.
    frozen = param_groups(g, 2e-4, 0.0)
    assert len(frozen) == 1 and not any(p.requires_grad for p in g.encoder.parameters())
    (g(torch.rand(1, 3, 32, 32)) ** 2).mean().backward()
    assert all(p.grad is None for p in g.encoder.parameters())
    assert g.out_conv.weight.grad is not None
    # The U-Net has no pretrained part: one group.
    unet = build_generator(GeneratorConfig(ngf=4, max_mult=2), size=32)
    assert len(param_groups(unet, 2e-4, 0.1)) == 1


def test_save_and_load_round_trip_needs_no_pretrained_package(tmp_path, monkeypatch) -> None:
    from img2img.weights import load_generator, save_generator

    g = _perturbed(build_generator(lite0_config(in_channels=4, film=True), size=32)).eval()
    path = save_generator(tmp_path / "g.safetensors", g, task="uncrop", model="cgan", train_size=32, step=3)

    def refuse():
        raise AssertionError("loading a weights file must not read the ImageNet weights")

    monkeypatch.setattr(pretrained_unet, "lite0_state", refuse)
    loaded, info = load_generator(path)
    assert isinstance(loaded, Lite0UNetGenerator) and info.generator["encoder"] == "lite0"
    y, z = torch.rand(2, 4, 40, 56) * 2 - 1, sample_latent(2, 8)
    with torch.no_grad():
        assert torch.equal(loaded(y, z), g(y, z))


def test_onnx_export_matches_torch(tmp_path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from img2img.export import OnnxGenerator, export_onnx, max_abs_diff
    from img2img.weights import load_generator, save_generator

    g = _perturbed(build_generator(lite0_config(in_channels=4, noise=True, film=True), size=32)).eval()
    weights = save_generator(tmp_path / "g.safetensors", g, task="uncrop", model="cgan", train_size=32, step=0)
    g, info = load_generator(weights)
    path = export_onnx(g, info, tmp_path / "g.onnx")
    runner = OnnxGenerator(path)
    assert runner.multiple == 32
    # Sizes needing padding on one or both axes, and one short enough for the host-side edge padding.
    for batch, height, width in ((1, 40, 72), (2, 64, 64), (1, 12, 50)):
        y, z = torch.rand(batch, 4, height, width) * 2 - 1, torch.randn(batch, 8)
        with torch.inference_mode():
            expected = g(y, z)
        got = runner(y, z)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) < 1e-4
    assert max_abs_diff(g, path) < 1e-4


def _lite0_run(**overrides) -> TrainConfig:
    cfg = tiny_config(**overrides)
    cfg.generator.encoder = "lite0"
    cfg.generator.film = cfg.model == "cgan"
    cfg.optim.encoder_lr_mult = 0.1
    return cfg


def test_training_starts_from_imagenet_and_resumes_exactly(cached_uncrop, tmp_path, fake_imagenet) -> None:
    from img2img.engine.trainer import Trainer

    straight = Trainer(_lite0_run(steps=4), cached_uncrop, tmp_path / "a", progress=False)
    assert isinstance(straight.G, Lite0UNetGenerator)
    # The RGB part of the stem is the (fake) ImageNet stem folded with its BatchNorm; the mask channel is zero.
    stem = straight.G.encoder._conv_stem.weight
    bn_scale = fake_imagenet["_bn0.weight"] / (fake_imagenet["_bn0.running_var"] + 1e-3).sqrt()
    assert torch.allclose(stem[:, :3], fake_imagenet["_conv_stem.weight"] * bn_scale.view(-1, 1, 1, 1))
    assert torch.equal(stem[:, 3:], torch.zeros_like(stem[:, 3:]))
    assert [g["lr"] for g in straight.opt_G.param_groups] == [pytest.approx(2e-4), pytest.approx(2e-5)]
    straight.fit()

    first = Trainer(_lite0_run(steps=4), cached_uncrop, tmp_path / "b", progress=False)
    first.fit(until=2)
    resumed = Trainer(_lite0_run(steps=4), cached_uncrop, tmp_path / "b", resume=True, progress=False)
    assert resumed.step == 2
    resumed.fit()
    for name in ("G", "ema", "opt_G", "D", "opt_D"):
        a, b = straight.state_dict()[name], resumed.state_dict()[name]
        assert _flat(a) and all(torch.equal(x, y) for x, y in zip(_flat(a), _flat(b))), name


def test_init_from_a_lite0_baseline_reads_no_imagenet(cached_uncrop, tmp_path, fake_imagenet, monkeypatch) -> None:
    from img2img.engine.trainer import Trainer
    from img2img.weights import load_generator

    baseline = Trainer(_lite0_run(model="regression", steps=2), cached_uncrop, tmp_path / "base", progress=False).fit()
    monkeypatch.setattr(pretrained_unet, "lite0_state", lambda: (_ for _ in ()).throw(AssertionError("read")))
    gan = Trainer(_lite0_run(steps=2, init=str(baseline)), cached_uncrop, tmp_path / "gan", progress=False)
    source, _ = load_generator(baseline)
    # the cGAN gains a latent whose weights start small (how near the baseline it starts, with the real ImageNet
    # encoder: tests/engine/test_init_from_baseline.py; this fake encoder's features have another scale)
    assert gan.G.config.encoder == "lite0" and gan.G.nz > 0
    y, z = torch.rand(2, 4, 32, 32) * 2 - 1, torch.randn(2, gan.G.nz)
    with torch.no_grad():
        assert torch.isfinite(gan.G.eval()(y, z)).all() and source.eval()(y).shape == (2, 3, 32, 32)
    assert "depth 5" in gan.summary()
    gan.fit()


def _flat(tree) -> list[torch.Tensor]:
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for key in sorted(tree, key=str) for t in _flat(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in _flat(item)]
    return []


def test_pretrained_encoder_matches_the_features_lite0() -> None:
    from img2img.features import EfficientNetLite0, perceptual_available

    if not perceptual_available():
        pytest.skip("pretrained weights not installed")
    reference = EfficientNetLite0()
    image = torch.rand(1, 3, 64, 96) * 2 - 1
    for in_channels in (3, 1):
        g = build_generator(lite0_config(in_channels=in_channels), size=64, pretrained=True).eval()
        x = image if in_channels == 3 else image.mean(dim=1, keepdim=True)
        with torch.no_grad():
            ours = g.encoder(x)[1:]  # strides 4, 8, 16, 32 (the first skip, stride 2, has no counterpart)
            theirs = reference.scales(x)
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape
            assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
