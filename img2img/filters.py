"""A Gaussian blur whose kernel fits the image: +-3 sigma, odd, and never wider than the image allows (kornia's
reflect padding needs the image to be larger than half the kernel)."""

from __future__ import annotations

import math

from kornia.filters import gaussian_blur2d
from torch import Tensor


def gaussian_size(sigma: float, height: int, width: int) -> int:
    """The odd kernel size covering +-3 sigma, capped at the largest odd size the image (H, W) can pad for."""
    return min(2 * math.ceil(3 * sigma) + 1, 2 * ((min(height, width) - 1) // 2) + 1)


def gaussian_blur(image: Tensor, sigma: float, border_type: str = "reflect") -> Tensor:
    """``image`` (N,C,H,W) blurred by a Gaussian of ``sigma`` pixels; an image too small for a 3 x 3 kernel comes
    back as it is."""
    size = gaussian_size(sigma, image.shape[2], image.shape[3])
    if size < 3:
        return image
    return gaussian_blur2d(image, (size, size), (sigma, sigma), border_type=border_type)
