"""PatchDiscriminator / MultiScaleDiscriminator: receptive field, options, multi-scale pyramid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from img2img.config import DiscriminatorConfig
from img2img.models import MultiScaleDiscriminator, PatchDiscriminator, build_discriminator, receptive_field


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("n_layers,expected", [(2, 34), (3, 70), (4, 142)])
def test_receptive_field_formula(n_layers: int, expected: int) -> None:
    assert receptive_field(n_layers) == expected
    net = PatchDiscriminator(2, DiscriminatorConfig(ndf=4, n_layers=n_layers, norm="none"))
    assert net.receptive_field == expected


@pytest.mark.parametrize("n_layers", [2, 3])
def test_receptive_field_matches_the_gradient_support(n_layers: int) -> None:
    net = PatchDiscriminator(2, DiscriminatorConfig(ndf=4, n_layers=n_layers, norm="none"))
    x = torch.randn(1, 2, 160, 160, requires_grad=True)
    logits = net(x)
    row, col = logits.shape[2] // 2, logits.shape[3] // 2
    logits[0, 0, row, col].backward()
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    rows = touched.any(dim=1).nonzero().flatten()
    cols = touched.any(dim=0).nonzero().flatten()
    # The window must lie inside the image so border zero-padding does not clip it.
    assert 0 < rows.min() and rows.max() < 159 and 0 < cols.min() and cols.max() < 159
    for support in (rows, cols):
        assert len(support) == support.max() - support.min() + 1  # contiguous
        assert len(support) == receptive_field(n_layers)


def test_output_shape_and_unbounded_logits() -> None:
    net = PatchDiscriminator(4, DiscriminatorConfig(ndf=8, n_layers=3)).eval()
    with torch.no_grad():
        logits = net(torch.randn(2, 4, 256, 256) * 50)
    # 256 -> 128 -> 64 -> 32 through the stride-2 convs, then -1 for each stride-1 conv.
    assert logits.shape == (2, 1, 30, 30)
    # No sigmoid: at least some logits fall outside [0, 1].
    assert ((logits < 0) | (logits > 1)).any()


@pytest.mark.parametrize("norm,norm_type", [("batch", nn.BatchNorm2d), ("instance", nn.InstanceNorm2d), ("none", None)])
def test_norm_options(norm: str, norm_type: type | None) -> None:
    net = PatchDiscriminator(6, DiscriminatorConfig(ndf=8, norm=norm)).train()
    modules = list(net.model)
    # The first layer sees raw pixels and is never normalised.
    assert isinstance(modules[0], nn.Conv2d) and isinstance(modules[1], nn.LeakyReLU)
    norms = [m for m in modules if norm_type is not None and isinstance(m, norm_type)]
    assert len(norms) == (3 if norm_type is not None else 0)
    logits = net(torch.randn(1, 6, 64, 64))
    logits.mean().backward()
    assert logits.shape == (1, 1, 6, 6)


def test_spectral_norm_wraps_every_conv_without_norm_layers() -> None:
    net = PatchDiscriminator(4, DiscriminatorConfig(ndf=8, norm="batch", spectral_norm=True)).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(parametrize.is_parametrized(conv, "weight") for conv in convs)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in net.modules())
    # After re-initialisation the power-iteration estimate must be fresh: every weight has sigma ~ 1.
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, rel=0.05)
    with torch.no_grad():
        assert net(torch.randn(1, 4, 64, 64)).shape == (1, 1, 6, 6)


def test_init_statistics() -> None:
    net = PatchDiscriminator(6, DiscriminatorConfig(ndf=16))
    weights = torch.cat([m.weight.detach().flatten() for m in net.modules() if isinstance(m, nn.Conv2d)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)


def test_multi_scale_returns_one_map_per_scale_on_pooled_inputs() -> None:
    net = MultiScaleDiscriminator(4, DiscriminatorConfig(ndf=8, num_scales=3)).eval()
    x = torch.randn(1, 4, 128, 128)
    with torch.no_grad():
        maps = net(x)
        assert isinstance(maps, list) and len(maps) == 3
        assert [m.shape[-1] for m in maps] == [14, 6, 2]
        half = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        assert torch.allclose(maps[1], net.discriminators[1](half))
    # Each scale has its own weights.
    assert not torch.equal(net.discriminators[0].model[0].weight, net.discriminators[1].model[0].weight)


def test_build_discriminator_always_returns_the_list_wrapper() -> None:
    net = build_discriminator(4, DiscriminatorConfig(ndf=8, num_scales=1, kind="patch"))
    assert isinstance(net, MultiScaleDiscriminator)
    with torch.no_grad():
        maps = net(torch.randn(2, 4, 64, 64))
    assert len(maps) == 1 and maps[0].shape == (2, 1, 6, 6)
