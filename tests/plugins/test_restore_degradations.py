"""Tests for the Real-ESRGAN-style degradation model of the ``restore`` task."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from img2img_plugins.restore import degradations as degradations_module
from img2img_plugins.restore import kernels as kernels_module
from img2img_plugins.restore import noise as noise_module
from img2img_plugins.restore.degradations import DegradationConfig, degrade
from img2img_plugins.restore.kernels import (
    filter_per_image,
    gaussian_kernels,
    generalized_gaussian_kernels,
    plateau_kernels,
    random_blur_kernels,
    random_sinc_kernels,
    sinc_kernels,
)

ALL_OFF = {"blur": False, "resize": False, "noise": False, "jpeg": False, "second_order": False}


def _images(n: int = 4, h: int = 48, w: int = 48) -> torch.Tensor:
    """Deterministic, detailed test pictures in [-1, 1]: stripes, rings and a colour ramp."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    out = []
    for i in range(n):
        stripes = torch.sin(xx * (0.6 + 0.3 * i) + yy * 0.2 * i)
        rings = torch.cos(torch.sqrt((xx - w / 2) ** 2 + (yy - h / 2) ** 2) * (0.5 + 0.1 * i))
        ramp = xx / (w - 1) * 2 - 1
        squares = ((xx // (4 + i) + yy // (4 + i)) % 2) * 2 - 1
        out.append(torch.stack([stripes, rings, 0.5 * ramp + 0.5 * squares]) * 0.9)
    return torch.stack(out)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _high_freq_energy(x: torch.Tensor) -> float:
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).expand(3, 1, 3, 3)
    return F.conv2d(x, lap, groups=3).pow(2).mean().item()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    # Images are in [-1, 1], i.e. a peak-to-peak range of 2.
    mse = (a - b).pow(2).mean().item()
    return 10 * math.log10(4.0 / mse)


@pytest.mark.parametrize("severity", ["light", "medium", "heavy"])
def test_shape_range_dtype(severity: str) -> None:
    x = _images()
    y = degrade(x, _gen(0), DegradationConfig.for_severity(severity))
    assert y.shape == x.shape
    assert y.dtype == x.dtype
    assert y.min() >= -1.0 and y.max() <= 1.0
    assert torch.isfinite(y).all()
    assert not torch.allclose(y, x)


def test_determinism() -> None:
    x = _images()
    cfg = DegradationConfig()
    a = degrade(x, _gen(123), cfg)
    b = degrade(x, _gen(123), cfg)
    c = degrade(x, _gen(124), cfg)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_no_global_rng_use() -> None:
    state = torch.random.get_rng_state()
    degrade(_images(), _gen(0), DegradationConfig.for_severity("heavy"))
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("stage", ["blur", "jpeg", "noise", "resize"])
def test_each_image_gets_its_own_parameters(stage: str) -> None:
    # The same picture repeated: any difference between outputs comes from per-image parameters.
    x = _images(1).expand(6, -1, -1, -1).contiguous()
    # Without the "keep size" outcome, two images can only match by drawing equal parameters.
    first = dataclasses.replace(DegradationConfig().first, resize_probs=(0.3, 0.7, 0.0))
    cfg = DegradationConfig(first=first, **{**ALL_OFF, stage: True})
    y = degrade(x, _gen(5), cfg)
    flat = y.flatten(1)
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            assert not torch.allclose(flat[i], flat[j]), (stage, i, j)


def test_all_switches_off_is_identity() -> None:
    x = _images()
    y = degrade(x, _gen(0), DegradationConfig(**ALL_OFF))
    torch.testing.assert_close(y, x, atol=1e-6, rtol=0)


def test_second_order_off_differs_from_on() -> None:
    x = _images()
    first_only = degrade(x, _gen(0), DegradationConfig(second_order=False))
    both = degrade(x, _gen(0), DegradationConfig())
    assert not torch.allclose(first_only, both)


def test_only_noise_raises_high_frequencies() -> None:
    x = _images()
    y = degrade(x, _gen(1), DegradationConfig(**{**ALL_OFF, "noise": True}))
    assert _high_freq_energy(y) > 1.05 * _high_freq_energy(x)


def test_only_blur_lowers_high_frequencies() -> None:
    x = _images()
    y = degrade(x, _gen(1), DegradationConfig(**{**ALL_OFF, "blur": True, "second_order": True}))
    assert _high_freq_energy(y) < 0.9 * _high_freq_energy(x)


@pytest.mark.parametrize("stage", ["resize", "jpeg"])
def test_single_stage_changes_image_but_stays_close(stage: str) -> None:
    x = _images()
    y = degrade(x, _gen(2), DegradationConfig(**{**ALL_OFF, stage: True}))
    assert not torch.allclose(y, x)
    assert _psnr(y, x) > 10.0


def test_severity_ordering() -> None:
    x = _images(8, 64, 64)
    psnr = {
        s: sum(_psnr(degrade(x, _gen(seed), DegradationConfig.for_severity(s)), x) for seed in (0, 1)) / 2
        for s in ("light", "medium", "heavy")
    }
    assert psnr["light"] > psnr["medium"] > psnr["heavy"], psnr


@pytest.mark.parametrize(("n", "h", "w"), [(1, 48, 48), (3, 45, 67), (2, 17, 9)])
def test_odd_sizes_and_batch_of_one(n: int, h: int, w: int) -> None:
    x = _images(n, h, w)
    for severity in ("light", "medium", "heavy"):
        y = degrade(x, _gen(3), DegradationConfig.for_severity(severity))
        assert y.shape == (n, 3, h, w)
        assert y.min() >= -1.0 and y.max() <= 1.0


def test_severity_presets_and_errors() -> None:
    # medium is Real-ESRGAN's model plus camera noise in the first pass; DegradationConfig() is Real-ESRGAN's alone.
    medium = DegradationConfig.for_severity("medium")
    assert medium == DegradationConfig(first=medium.first) and medium.first.camera_noise_prob > 0
    assert dataclasses.replace(medium.first, camera_noise_prob=0.0) == DegradationConfig().first
    assert DegradationConfig().first.camera_noise_prob == 0.0 and medium.second.camera_noise_prob == 0.0
    assert not DegradationConfig.for_severity("light").second_order
    x = _images()
    assert torch.allclose(degrade(x, _gen(0), DegradationConfig.for_severity("clean")), x, atol=1e-6)
    with pytest.raises(ValueError):
        DegradationConfig.for_severity("extreme")
    with pytest.raises(ValueError):
        dataclasses.replace(DegradationConfig().first, resize_probs=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError):
        degrade(torch.zeros(1, 1, 8, 8), _gen(0), DegradationConfig())


@pytest.mark.parametrize("size", [7, 13, 21])
def test_kernel_builders_sum_to_one_and_have_requested_size(size: int) -> None:
    n = 5
    g = _gen(0)
    sx = 0.2 + 2.8 * torch.rand(n, generator=g)
    sy = 0.2 + 2.8 * torch.rand(n, generator=g)
    theta = (torch.rand(n, generator=g) * 2 - 1) * math.pi
    beta = 0.5 + 3.5 * torch.rand(n, generator=g)
    omega = math.pi / 5 + (math.pi - math.pi / 5) * torch.rand(n, generator=g)
    for kernels in (
        gaussian_kernels(size, sx, sx, torch.zeros(n)),
        gaussian_kernels(size, sx, sy, theta),
        generalized_gaussian_kernels(size, sx, sy, theta, beta),
        plateau_kernels(size, sx, sy, theta, beta),
        sinc_kernels(size, omega),
    ):
        assert kernels.shape == (n, size, size)
        torch.testing.assert_close(kernels.sum(dim=(-2, -1)), torch.ones(n))
        # Point symmetry lets the per-image filter skip the correlation/convolution flip.
        torch.testing.assert_close(kernels, kernels.flip(-2, -1))


def test_anisotropic_kernel_is_elongated_and_sinc_rings() -> None:
    k = gaussian_kernels(21, torch.tensor([3.0]), torch.tensor([0.5]), torch.tensor([0.0]))[0]
    assert k[10, :].sum() > 3 * k[:, 10].sum()  # spread along x, narrow along y
    assert (sinc_kernels(21, torch.tensor([math.pi / 3])) < 0).any()  # negative lobes make ringing


def test_random_kernels_sum_to_one_with_random_support() -> None:
    # Wide sigmas so no tap underflows to 0 and the support is exactly the drawn size.
    stage = dataclasses.replace(DegradationConfig().first, blur_sigma=(2.5, 3.0))
    kernels = random_blur_kernels(64, _gen(0), stage)
    assert kernels.shape == (64, 21, 21)
    torch.testing.assert_close(kernels.sum(dim=(-2, -1)), torch.ones(64))
    # Supports are random odd sizes in 7..21, zero-padded to 21.
    support = (kernels != 0).any(dim=1).sum(dim=1)
    assert set(support.tolist()) <= set(range(7, 22, 2))
    assert len(set(support.tolist())) > 3
    sinc = random_sinc_kernels(16, _gen(1), (7, 21), (math.pi / 3, math.pi))
    torch.testing.assert_close(sinc.sum(dim=(-2, -1)), torch.ones(16))


def test_filter_per_image_matches_single_convolutions() -> None:
    x = torch.rand(3, 3, 30, 26, generator=_gen(0))
    kernels = random_blur_kernels(3, _gen(1), DegradationConfig().first)
    y = filter_per_image(x, kernels)
    for i in range(3):
        pad = kernels.shape[-1] // 2
        ref = F.conv2d(
            F.pad(x[i : i + 1], (pad,) * 4, mode="reflect"), kernels[i].expand(3, 1, -1, -1), groups=3
        )
        torch.testing.assert_close(y[i : i + 1], ref, atol=1e-5, rtol=1e-5)



def test_moved_names_still_import_from_degradations() -> None:
    # Kernels and noise have modules of their own; code that imports them from degradations keeps working.
    protocols = {"BlurStage", "NoiseStage"}
    for module in (kernels_module, noise_module):
        for name in set(module.__all__) - protocols:
            assert name in degradations_module.__all__, name
            assert getattr(degradations_module, name) is getattr(module, name), name


def test_kernels_and_noise_never_import_degradations() -> None:
    # One-way arrows: degradations imports noise and kernels, noise imports kernels, kernels imports neither.
    for module, allowed in ((kernels_module, set()), (noise_module, {"kernels"})):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        local = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
        assert local <= allowed, (module.__name__, local)
