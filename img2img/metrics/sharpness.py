"""Sharpness: how much fine detail a set of images has, relative to the real images.

The measure is the mean squared Laplacian of the luminance (the classic "energy of the Laplacian" focus
measure). A conditional mean E[x|y] averages away every detail the condition does not pin down, so a regression
scores well below the real images; a sampler of p(x|y) should score close to them. Too-high values mean
invented noise or ringing, so the target is 1, not "as high as possible".
"""

from __future__ import annotations

import kornia
from torch import Tensor

from .psnr_ssim import to_unit


def sharpness(images: Tensor) -> Tensor:
    """Mean squared 3x3 Laplacian of the luminance of each image (NCHW in [-1, 1], measured in [0, 1]) -> Tensor[N]."""
    unit = to_unit(images)
    luma = kornia.color.rgb_to_grayscale(unit) if unit.shape[1] == 3 else unit.mean(dim=1, keepdim=True)
    response = kornia.filters.laplacian(luma, kernel_size=3, border_type="reflect", normalized=False)
    return response.pow(2).flatten(1).mean(dim=1)


def sharpness_ratio(fake: Tensor, real: Tensor) -> float:
    """Mean sharpness of ``fake`` over mean sharpness of ``real``: 1.0 = as sharp as the real set, < 1 = blur.

    A ratio of SET means, not a mean of per-image ratios: a nearly flat target (fog, a clear sky) has almost no
    Laplacian energy, and one such image would dominate a mean of ratios. ``fake`` may hold more images than
    ``real`` (K samples per input); each set is averaged on its own.
    """
    return sharpness_ratio_from_energy(sharpness(fake), sharpness(real))


def sharpness_ratio_from_energy(fake_energy: Tensor, real_energy: Tensor) -> float:
    """The same ratio from per-image energies gathered batch by batch (see :func:`sharpness`)."""
    denominator = float(real_energy.double().mean())
    if denominator <= 0.0:
        return float("nan")  # the real set is perfectly flat: there is nothing to be as sharp as
    return float(fake_energy.double().mean()) / denominator
