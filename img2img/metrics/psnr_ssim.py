"""PSNR and SSIM per image, through kornia.

Both compare an output with its own target, so they reward the conditional mean: an MSE regression, which
predicts E[x|y], is the PSNR-optimal estimator and usually wins here. That is the point of showing them beside
the distribution metrics (SWD, sharpness, diversity), which a blurry average loses.
"""

from __future__ import annotations

import kornia
import torch
from torch import Tensor

PSNR_CAP_DB = 100.0
"""PSNR of identical images is infinite; it is reported as this cap so that means over a set stay finite.
8-bit images are indistinguishable far below it (one grey level of error everywhere is ~48 dB)."""

SSIM_WINDOW = 11  # the Gaussian window of Wang et al. 2004


def to_unit(images: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1], float32: the range kornia's metrics and most published numbers use."""
    return ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def _check_pair(fake: Tensor, real: Tensor) -> None:
    if fake.shape != real.shape or fake.dim() != 4:
        raise ValueError(f"expected two NCHW batches of one shape, got {tuple(fake.shape)} and {tuple(real.shape)}")


def psnr(fake: Tensor, real: Tensor) -> Tensor:
    """PSNR in dB of each image pair (NCHW in [-1, 1], measured in [0, 1]) -> Tensor[N], capped at 100 dB."""
    _check_pair(fake, real)
    a, b = to_unit(fake), to_unit(real)
    # kornia pools one MSE over the whole batch; one call per image gives the per-image values.
    values = torch.stack([kornia.metrics.psnr(a[i], b[i], max_val=1.0) for i in range(a.shape[0])])
    return values.nan_to_num(posinf=PSNR_CAP_DB).clamp(max=PSNR_CAP_DB)


def ssim(fake: Tensor, real: Tensor) -> Tensor:
    """Mean SSIM of each image pair (NCHW in [-1, 1], measured in [0, 1]) -> Tensor[N]; identical images give 1.

    The SSIM map is averaged over channels and the "valid" window positions, so the border does not depend on
    a padding choice; images smaller than the 11 px window fall back to same-size padding.
    """
    _check_pair(fake, real)
    padding = "valid" if min(fake.shape[-2:]) >= SSIM_WINDOW else "same"
    ssim_map = kornia.metrics.ssim(to_unit(fake), to_unit(real), SSIM_WINDOW, max_val=1.0, padding=padding)
    return ssim_map.flatten(1).mean(dim=1)
