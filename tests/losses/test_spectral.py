"""The spectral term (losses/spectral.py): power ring by ring, blind to phase and direction, in log units."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_config
from kornia.filters import gaussian_blur2d

from img2img.config import LossConfig
from img2img.errors import ConfigError
from img2img.losses import ring_power, spectral_loss


def _photo_like(n: int = 2, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Images with power at every scale: white noise summed over octaves, in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, 3, size, size)
    for octave in (1, 2, 4, 8):
        coarse = torch.rand(n, 3, size // octave, size // octave, generator=gen) * 2 - 1
        out += torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False) / 2
    return out.clamp(-1, 1)


def test_a_cosine_puts_its_power_in_its_own_ring() -> None:
    size, cycles = 32, 5
    x = torch.arange(size, dtype=torch.float32)
    wave = torch.cos(2 * math.pi * cycles * x / size).expand(1, 1, size, size)
    power = ring_power(wave)[0]
    assert int(power[1:].argmax()) + 1 == cycles
    # ortho norm: the cosine's two coefficients (+-5 cycles) have |F|^2 = H * W / 4 each, shared by ring 5's cells
    fy = torch.fft.fftfreq(size)
    ring_cells = int(((torch.sqrt(fy[:, None] ** 2 + fy[None, :] ** 2) * size).round() == cycles).sum())
    assert float(power[cycles]) == pytest.approx(2 * size * size / 4 / ring_cells, rel=1e-5)


def test_same_power_different_phase_or_direction_costs_nothing() -> None:
    images = _photo_like()
    assert float(spectral_loss(images, images)) == 0.0
    shifted = images.roll(shifts=(7, 11), dims=(2, 3))  # the same detail elsewhere: every coefficient's phase moves
    assert float((shifted - images).abs().mean()) > 0.2
    assert float(spectral_loss(shifted, images, 0.0)) < 1e-5
    assert float(spectral_loss(images.transpose(2, 3), images, 0.0)) < 1e-5  # the same detail turned 90 degrees


def test_blur_and_added_noise_both_cost() -> None:
    images = _photo_like()
    blurred = gaussian_blur2d(images, (5, 5), (1.0, 1.0))
    rings = ring_power(images).shape[1]
    assert (ring_power(blurred)[:, rings // 2:] < ring_power(images)[:, rings // 2:]).all()
    noisy = images + 0.2 * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))
    assert float(spectral_loss(blurred, images)) > 0.5
    assert float(spectral_loss(noisy, images)) > 0.1
    assert float(spectral_loss(blurred, images)) > float(spectral_loss(gaussian_blur2d(images, (5, 5), (0.5, 0.5)), images))


def test_min_frequency_leaves_the_low_rings_out() -> None:
    size = 64
    images = _photo_like(size=size)
    x = torch.arange(size, dtype=torch.float32)
    shading = 0.5 * torch.cos(2 * math.pi * 2 * x / size).expand(1, 3, size, size)  # 2 cycles: colour and shading
    assert float(spectral_loss(images + shading, images, 0.0)) > 0.01
    assert float(spectral_loss(images + shading, images, 0.25)) < 1e-5


def test_gradient_reaches_the_pixels_in_float32_under_bf16_autocast() -> None:
    target = _photo_like()
    fake = gaussian_blur2d(target, (5, 5), (1.0, 1.0)).to(torch.bfloat16).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = spectral_loss(fake, target)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert fake.grad is not None and torch.isfinite(fake.grad.float()).all() and fake.grad.abs().sum() > 0


def test_non_square_images() -> None:
    images = _photo_like(size=64)[:, :, :48, :]
    assert ring_power(images).shape[0] == 2
    assert float(spectral_loss(images, images)) == 0.0
    assert float(spectral_loss(gaussian_blur2d(images, (5, 5), (1.0, 1.0)), images)) > 0.1


@pytest.mark.parametrize("field, value", [("spectral_min_frequency", 1.0), ("spectral_min_frequency", -0.1),
                                          ("spectral_weight", -1.0)])
def test_bad_values_are_one_line(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"loss.{field}"):
        LossConfig(**{field: value}).validate()


def test_trainer_with_the_spectral_term_trains_under_both_cpu_kinds_and_says_so(cached_uncrop, tmp_path, cpu_bf16) -> None:
    from img2img.engine.trainer import Trainer

    trainer = Trainer(tiny_config(steps=2, precision="auto", loss__spectral_weight=2.0), cached_uncrop, tmp_path,
                      progress=False)
    assert "spectral x 2 from 0.25 x Nyquist" in trainer.summary()
    trainer.fit()
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    values = [row["loss/spectral"] for row in logged if "loss/spectral" in row]
    assert values and all(math.isfinite(v) and v > 0 for v in values)
    plain = Trainer(tiny_config(steps=1), cached_uncrop, tmp_path / "plain", progress=False)
    assert "spectral" not in plain.summary()
