"""Pixel reconstruction losses: L1 (pix2pix's choice, less blurry than L2) and L2 (the MSE baseline)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def l1_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Mean absolute error between the generated and the target image."""
    return F.l1_loss(fake, real)


def l2_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Mean squared error between the generated and the target image."""
    return F.mse_loss(fake, real)
