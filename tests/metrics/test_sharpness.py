"""Sharpness ratio: 1 for the real set itself, below 1 for a blurred set."""

from __future__ import annotations

import kornia
import pytest
import torch

from img2img.data.procedural import render_scene
from img2img.metrics import sharpness, sharpness_ratio


@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    return torch.stack([render_scene(i, 32, 32) for i in range(4)]) * 2 - 1


def test_identity_is_one(real):
    assert sharpness_ratio(real, real) == pytest.approx(1.0)


def test_blur_lowers_the_ratio_and_more_blur_lowers_it_more(real):
    light = kornia.filters.gaussian_blur2d(real, (5, 5), (0.8, 0.8))
    heavy = kornia.filters.gaussian_blur2d(real, (9, 9), (2.0, 2.0))
    assert sharpness_ratio(heavy, real) < sharpness_ratio(light, real) < 1.0


def test_one_energy_per_image_and_k_samples_per_input(real):
    energy = sharpness(real)
    assert energy.shape == (4,) and bool((energy > 0).all())
    assert sharpness(torch.zeros(2, 3, 16, 16)).tolist() == [0.0, 0.0]  # a flat image has no detail
    # K copies of each input are as sharp as the inputs: the sets may differ in size.
    assert sharpness_ratio(real.repeat(3, 1, 1, 1), real) == pytest.approx(1.0)
