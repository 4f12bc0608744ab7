"""UNetGenerator: shapes at any size, latent injection, norms/upsampling options, init statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from img2img.config import GeneratorConfig
from img2img.models import UNetGenerator, count_parameters, init_weights, sample_latent


def small_config(**overrides) -> GeneratorConfig:
    values = dict(ngf=8, max_mult=4, nz=8, norm="instance")
    values.update(overrides)
    return GeneratorConfig(**values)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("size", [64, 128, 256, 512])
def test_output_shape_at_training_sizes(size: int) -> None:
    net = UNetGenerator(small_config(ngf=4, max_mult=2), size=size).eval()
    assert net.depth == size.bit_length() - 1
    assert net.multiple == size
    with torch.no_grad():
        out = net(torch.randn(1, 3, size, size), sample_latent(1, net.nz))
    assert out.shape == (1, 3, size, size)


@pytest.mark.parametrize("height,width", [(64, 96), (37, 53), (1, 1), (3, 50), (3, 10000), (65, 64)])
def test_any_height_and_width_round_trips(height: int, width: int) -> None:
    net = UNetGenerator(small_config(ngf=4, max_mult=2, out_channels=2), size=64).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, height, width))
    assert out.shape == (2, 2, height, width)
    assert torch.isfinite(out).all()


def test_depth_from_config_overrides_size_and_config_is_self_contained() -> None:
    net = UNetGenerator(small_config(depth=3), size=256)
    assert net.depth == 3 and net.multiple == 8
    derived = UNetGenerator(small_config(), size=128)
    assert derived.config.depth == 7
    rebuilt = UNetGenerator(derived.config)
    assert count_parameters(rebuilt) == count_parameters(derived)


def test_depth_needs_config_or_size() -> None:
    with pytest.raises(ValueError):
        UNetGenerator(small_config(depth=None))


def test_output_is_bounded_by_tanh_even_when_saturated() -> None:
    net = UNetGenerator(small_config(), size=64).eval()
    with torch.no_grad():
        # Blow up the output layer so the pre-activation is far outside [-1, 1].
        for param in net.decoder[-1].parameters():
            param.mul_(1000)
        out = net(torch.randn(1, 3, 64, 64) * 10, sample_latent(1, 8))
    assert out.min() >= -1 and out.max() <= 1
    assert out.abs().max() > 0.99


def test_different_latents_give_clearly_different_outputs() -> None:
    net = UNetGenerator(small_config(), size=64).eval()
    y = torch.randn(2, 3, 64, 64)
    z1, z2 = sample_latent(2, 8), sample_latent(2, 8)
    with torch.no_grad():
        out1, out2 = net(y, z1), net(y, z2)
        again = net(y, z1)
        other_input = net(torch.randn(2, 3, 64, 64), z1)
    assert torch.equal(out1, again)
    z_effect = (out1 - out2).abs().mean()
    y_effect = (out1 - other_input).abs().mean()
    # z must move the output about as much as changing the whole input does, not just by rounding noise.
    assert z_effect > 0.3 * y_effect
    assert z_effect > 0.3 * out1.std()


def test_missing_latent_is_the_zero_code() -> None:
    net = UNetGenerator(small_config(), size=64).eval()
    y = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(y), net(y, torch.zeros(1, 8)))


def test_latent_of_wrong_shape_is_rejected() -> None:
    net = UNetGenerator(small_config(), size=64)
    with pytest.raises(ValueError):
        net(torch.randn(2, 3, 64, 64), torch.zeros(2, 4))


def test_without_latent_the_output_ignores_z() -> None:
    net = UNetGenerator(small_config(nz=0), size=64).eval()
    assert net.nz == 0
    y = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        base = net(y)
        assert torch.equal(base, net(y, torch.randn(1, 8)))
        assert torch.equal(base, net(y, torch.randn(1, 3)))


def test_dropout_only_in_training_mode() -> None:
    net = UNetGenerator(small_config(nz=0, dropout=0.5), size=64)
    dropouts = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 3
    y = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        net.train()
        assert not torch.equal(net(y), net(y))
        net.eval()
        assert torch.equal(net(y), net(y))


def test_zero_dropout_adds_no_dropout_layers_and_shallow_nets_have_fewer() -> None:
    assert not any(isinstance(m, nn.Dropout) for m in UNetGenerator(small_config(dropout=0.0), 64).modules())
    shallow = UNetGenerator(small_config(depth=2, dropout=0.5))
    # Only the block above the bottleneck qualifies: the outermost block ends in tanh.
    assert sum(isinstance(m, nn.Dropout) for m in shallow.modules()) == 1


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_every_norm_and_upsample_trains_at_batch_one(norm: str, upsample: str) -> None:
    net = UNetGenerator(small_config(ngf=4, norm=norm, upsample=upsample), size=64).train()
    norm_types = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "none": ()}[norm]
    assert any(isinstance(m, norm_types) for m in net.modules()) == (norm != "none")
    out = net(torch.randn(1, 3, 64, 64), sample_latent(1, 8))
    out.mean().backward()
    assert out.shape == (1, 3, 64, 64)
    assert all(p.grad is not None for p in net.parameters())


def test_unnormalised_ends_of_the_encoder() -> None:
    net = UNetGenerator(small_config(norm="batch"), size=64)
    assert isinstance(net.encoder[0].norm, nn.Identity)
    assert isinstance(net.encoder[-1].norm, nn.Identity)
    assert isinstance(net.encoder[1].norm, nn.BatchNorm2d)


def test_max_mult_caps_the_width() -> None:
    wide = count_parameters(UNetGenerator(small_config(max_mult=8), size=256))
    narrow = count_parameters(UNetGenerator(small_config(max_mult=2), size=256))
    assert narrow < wide / 4


def test_init_statistics() -> None:
    net = UNetGenerator(small_config(norm="batch"), size=128)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([m.weight.detach().flatten() for m in convs])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert weights.mean().abs().item() < 1e-3
    assert all(m.bias is None or not m.bias.any() for m in convs)
    scales = torch.cat([m.weight.detach() for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01)
    assert 0.01 < scales.std().item() < 0.03


def test_init_weights_custom_std() -> None:
    layer = nn.Conv2d(16, 64, 3)
    init_weights(layer, std=0.1)
    assert layer.weight.std().item() == pytest.approx(0.1, rel=0.05)
    assert not layer.bias.any()


def test_sample_latent() -> None:
    z = sample_latent(5, 8, torch.Generator().manual_seed(3), scale=2.0)
    same = sample_latent(5, 8, torch.Generator().manual_seed(3), device="cpu")
    assert z.shape == (5, 8)
    assert torch.allclose(z, 2.0 * same)
    big = sample_latent(20000, 1)
    assert big.std().item() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("nz", [0, 4])
def test_folding_resize_upsampling_gives_the_same_function_as_transposed_convs(nz):
    import copy

    from img2img.models.unet import fold_resize_upsampling

    cfg = GeneratorConfig(in_channels=2, out_channels=3, ngf=8, max_mult=4, nz=nz, upsample="resize")
    torch.manual_seed(0)
    g = UNetGenerator(cfg, size=32).eval()
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    folded = copy.deepcopy(g)
    assert fold_resize_upsampling(folded) == g.depth
    assert not any(isinstance(m, torch.nn.Upsample) for m in folded.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in folded.modules())
    y = torch.rand(2, 2, 27, 45) * 2 - 1  # odd sizes: padding and cropping around the folded layers
    z = torch.randn(2, nz) if nz else None
    with torch.no_grad():
        assert torch.allclose(g(y, z), folded(y, z), atol=1e-5)
    assert fold_resize_upsampling(folded) == 0  # nothing left to fold


def test_transposed_generators_have_nothing_to_fold():
    from img2img.models.unet import fold_resize_upsampling

    g = UNetGenerator(GeneratorConfig(in_channels=3, out_channels=3, ngf=8, max_mult=4, nz=0), size=32)
    assert fold_resize_upsampling(g) == 0


def test_context_blocks_see_across_the_whole_feature_map() -> None:
    from img2img.models.unet import ContextBlocks

    def reach(blocks: int) -> float:
        torch.manual_seed(0)
        net = ContextBlocks(4, blocks, "none").eval()
        x = torch.rand(1, 4, 16, 16)
        poked = x.clone()
        poked[..., 0, 0] += 5.0
        with torch.no_grad():
            return float((net(poked) - net(x))[..., 15, 15].abs().max())

    # Dilations 1, 2, 4, 8: two convs each, a reach of 2 * (1 + 2 + 4 + 8) = 30 feature pixels.
    assert reach(4) > 0
    assert reach(1) == 0  # one block (dilation 1) reaches 2 pixels


@pytest.mark.parametrize("height,width", [(128, 128), (37, 53), (3, 50)])
def test_context_blocks_keep_any_size_working(height: int, width: int) -> None:
    net = UNetGenerator(small_config(context_blocks=4), size=128).eval()
    assert net.context is not None and net.context_level == 2  # 1/8 of the input: 16x16 at 128 px
    with torch.no_grad():
        out = net(torch.randn(1, 3, height, width), sample_latent(1, net.nz))
    assert out.shape == (1, 3, height, width) and torch.isfinite(out).all()
    plain = UNetGenerator(small_config(), size=128)
    assert plain.context is None and count_parameters(net) > count_parameters(plain)
    # The resolved config rebuilds the same network (weights files store it).
    assert count_parameters(UNetGenerator(net.config)) == count_parameters(net)


def test_context_settings_are_checked() -> None:
    from img2img.errors import ConfigError

    for bad in (dict(context_blocks=-1), dict(context_stride=6), dict(context_stride=1)):
        with pytest.raises(ConfigError, match="generator.context"):
            small_config(**bad).validate()
    # A U-Net too shallow for the stride puts its context one level above the bottleneck.
    assert UNetGenerator(small_config(context_blocks=2, context_stride=64), size=16).context_level == 2


def test_residual_generator_starts_as_the_identity_and_stays_in_range() -> None:
    from img2img.config import GeneratorConfig
    from img2img.errors import ConfigError

    cfg = GeneratorConfig(in_channels=3, out_channels=3, ngf=8, max_mult=4, nz=8, upsample="resize", residual=True,
                          noise=True)
    g = UNetGenerator(cfg, size=32).eval()
    y = torch.rand(2, 3, 40, 56) * 2 - 1  # not a multiple of 2**depth: padded, then cropped back
    with torch.no_grad():
        assert torch.equal(g(y, torch.randn(2, 8)), y)  # untrained: hands the condition back, whatever z is
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        out = g(y, torch.randn(2, 8))
    assert float((out - y).abs().mean()) > 1e-3 and out.min() >= -1 and out.max() <= 1
    plain = UNetGenerator(GeneratorConfig(in_channels=3, out_channels=3, ngf=8, max_mult=4, nz=8), size=32)
    assert not plain.residual and isinstance(list(plain.decoder[-1].body)[-1], torch.nn.Tanh)
    with pytest.raises(ConfigError, match="generator.residual"):
        GeneratorConfig(in_channels=1, out_channels=3, residual=True).validate()  # a sketch cannot be added to a photo


def test_residual_generator_trains_under_auto_precision_on_both_cpu_kinds(cpu_bf16, tmp_path) -> None:
    # Under bf16 autocast the correction comes out in bf16 and the condition is float32: the sum must stay float32
    # and in range, and the zero-started last layer must learn.
    from conftest import tiny_config

    from img2img.engine.trainer import Trainer
    from img2img.plugins import load_plugins

    cfg = tiny_config(steps=2, precision="auto")
    cfg.task = "restore"
    cfg.generator.residual = True
    trainer = Trainer(cfg, load_plugins().get("restore"), tmp_path, progress=False)
    assert trainer.precision == ("bf16" if cpu_bf16 else "fp32")
    last = [m for m in trainer.G.decoder[-1].modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    assert float(last.weight.detach().abs().sum()) == 0
    trainer.fit()
    assert float(last.weight.detach().abs().sum()) > 0 and torch.isfinite(last.weight.detach()).all()


def test_clip_output_is_in_range_with_slope_one_inside() -> None:
    from img2img.config import GeneratorConfig
    from img2img.errors import ConfigError

    cfg = GeneratorConfig(in_channels=3, out_channels=3, ngf=8, max_mult=4, nz=8, dropout=0.0, output="clip")
    g = UNetGenerator(cfg, size=32)
    assert not any(isinstance(m, nn.Tanh) for m in g.modules())
    with torch.no_grad():
        for p in g.decoder[-1].parameters():
            p.mul_(1000)  # values far outside [-1, 1]
    y, z = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 8)
    pre = []
    g.decoder[-1].register_forward_hook(lambda module, args, out: pre.append(out))
    trained = g.train()(y, z)
    assert trained.min() == -1 and trained.max() == 1 and torch.equal(trained, pre[0].clamp(-1, 1))
    # slope 1 inside the clip, none past it (a saturated tanh gives almost none either: a straight-through clip
    # let the discriminator drag a trained generator's white background into colour)
    past = pre[0].detach().abs() > 1
    assert past.any() and (~past).any()
    pre[0].retain_grad()
    trained.sum().backward()
    assert torch.equal(pre[0].grad, (~past).float())
    with torch.no_grad():
        assert torch.equal(g.eval()(y, z), g.train()(y, z))  # no dropout: the same function in both modes
    with pytest.raises(ConfigError, match="generator.output"):
        GeneratorConfig(output="sigmoid").validate()
    with pytest.raises(ConfigError, match="generator.output is for a non-residual"):
        GeneratorConfig(residual=True, output="clip").validate()
