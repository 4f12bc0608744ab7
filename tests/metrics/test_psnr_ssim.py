"""PSNR and SSIM per image: identities, a known value, and one number per image."""

from __future__ import annotations

import math

import kornia
import pytest
import torch

from img2img.data.procedural import render_scene
from img2img.metrics import PSNR_CAP_DB, psnr, ssim


def scenes(count: int, size: int = 32) -> torch.Tensor:
    return torch.stack([render_scene(i, size, size) for i in range(count)]) * 2 - 1


def test_identical_images_give_the_cap_and_ssim_one():
    x = scenes(3)
    assert torch.equal(psnr(x, x), torch.full((3,), PSNR_CAP_DB))
    assert torch.allclose(ssim(x, x), torch.ones(3), atol=1e-5)


def test_constant_offset_gives_the_analytic_psnr():
    real = torch.rand(2, 3, 16, 16) - 0.5  # [-0.5, 0.5]: the offset never clips
    offset = 0.2  # in [-1, 1] units = 0.1 of the [0, 1] range -> 10*log10(1 / 0.1^2) = 20 dB
    values = psnr(real + offset, real)
    assert values.shape == (2,)
    assert values == pytest.approx([20.0, 20.0], abs=1e-3)
    assert values[0] == pytest.approx(-20 * math.log10(offset / 2), abs=1e-3)


def test_values_are_per_image_not_pooled():
    real = scenes(2)
    fake = real.clone()
    fake[1] = kornia.filters.gaussian_blur2d(real[1:2], (7, 7), (2.0, 2.0))[0]
    p, s = psnr(fake, real), ssim(fake, real)
    assert p[0] == PSNR_CAP_DB and p[1] < 40
    assert s[0] == pytest.approx(1.0, abs=1e-5) and s[1] < 0.95


def test_small_images_and_shape_errors():
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)  # under the 11 px window: "same" padding
    with pytest.raises(ValueError, match="one shape"):
        psnr(x, torch.zeros(1, 3, 8, 9))
