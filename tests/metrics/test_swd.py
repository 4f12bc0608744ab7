"""Sliced Wasserstein distance between image sets: zero for identical sets, blur worse than light noise,
deterministic per seed, one entry per pyramid level."""

from __future__ import annotations

import kornia
import pytest
import torch

from img2img.data.procedural import render_scene
from img2img.metrics import sliced_wasserstein, sliced_wasserstein_sets
from img2img.metrics.swd import laplacian_pyramid, pyramid_levels

FEW = dict(patches_per_image=32, directions=64)  # enough for the orderings tested here, and fast


@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    return torch.stack([render_scene(i, 64, 64) for i in range(8)]) * 2 - 1


def test_levels_stop_at_16_px():
    assert [pyramid_levels(s, s) for s in (16, 31, 32, 64, 128, 256, 512)] == [1, 1, 2, 3, 4, 5, 6]
    assert pyramid_levels(96, 128) == 3  # the shorter side decides
    with pytest.raises(ValueError):
        pyramid_levels(6, 64)


def test_pyramid_shapes_for_a_size_that_is_no_power_of_two():
    bands = laplacian_pyramid(torch.rand(1, 3, 48, 40), 2)
    assert [tuple(b.shape[-2:]) for b in bands] == [(48, 40), (24, 20)]


def test_identical_sets_give_zero(real):
    result = sliced_wasserstein(real, real, **FEW)
    assert set(result) == {"swd_64", "swd_32", "swd_16", "swd_mean"}
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in result.values())


def test_blur_is_farther_from_real_than_light_noise(real):
    blurred = kornia.filters.gaussian_blur2d(real, (7, 7), (1.5, 1.5))
    noisy = (real + 0.02 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    swd_blur = sliced_wasserstein(blurred, real, **FEW)
    swd_noise = sliced_wasserstein(noisy, real, **FEW)
    assert swd_blur["swd_mean"] > swd_noise["swd_mean"] > 0
    assert swd_blur["swd_64"] > swd_noise["swd_64"]  # the finest level is where blur shows


def test_deterministic_per_seed(real):
    fake = real.flip(-1)
    a = sliced_wasserstein(fake, real, seed=3, **FEW)
    assert sliced_wasserstein(fake, real, seed=3, **FEW) == a
    assert sliced_wasserstein(fake, real, seed=4, **FEW) != a


def test_explicit_levels_and_mismatched_sets(real):
    assert set(sliced_wasserstein(real, real, levels=1, **FEW)) == {"swd_64", "swd_mean"}
    with pytest.raises(ValueError, match="levels"):
        sliced_wasserstein(real, real, levels=4, **FEW)
    with pytest.raises(ValueError, match="one shape"):
        sliced_wasserstein(real[:2], real[:3], **FEW)


def test_several_sets_share_the_real_reference_without_changing_numbers(real):
    blurred = kornia.filters.gaussian_blur2d(real, (5, 5), (1.0, 1.0))
    both = sliced_wasserstein_sets({"same": real, "blur": blurred}, real, **FEW)
    assert both["same"] == sliced_wasserstein(real, real, **FEW)
    assert both["blur"] == sliced_wasserstein(blurred, real, **FEW)
