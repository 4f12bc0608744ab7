"""Latent FiLM for the U-Net decoder: z scales and shifts each decoder block's normalised channels.

The latent reaches the U-Net by concatenation to every encoder level (BicycleGAN's "add to all"). After a
convolution, a z that is the same at every pixel adds one constant per output channel away from the zero-padded
border, and instance norm then subtracts each channel's mean and divides by its spread. So at a normalised level
z cannot change the pattern inside the picture at all: it only rescales and shifts whole channels, by as much as
the border pixels move each channel's statistics, which is little and depends on the picture. z enters freely
only at the raw-image level and the 1x1 bottleneck, which have no norm. Round 7's sketch2photo samples of one sketch
differed in hue far more than in anything else (weights/sketch2photo.md).

FiLM (Perez et al. 2018; the "style" of MUNIT and StyleGAN's AdaIN) puts z after the norm instead: each decoder
block's output ``h`` becomes ``h * (1 + gamma(z)) + beta(z)``, one learned linear map of z per block: the
per-channel scale and shift that a normalised level leaves to chance, now chosen by z at every decoder
resolution. Channel means and spreads are what colour, shininess and texture contrast are made of.

The maps have no bias, so at the mean latent z = 0 the block is the identity: adding FiLM to ``--init`` weights
keeps their mean sample. They start small but not at zero (a random gamma/beta of standard deviation 0.1 per
channel): at exactly zero the loss would not depend on z through them and their expected gradient would be zero,
the trap measured for the noise inputs (models/noise.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

# Standard deviation of each channel's gamma and beta at the start, for z ~ N(0, I).
INITIAL_SPREAD = 0.1


class LatentFiLM(nn.Module):
    """``h * (1 + gamma) + beta`` with ``(gamma, beta) = W z``: one (2 * channels, nz) matrix, no bias."""

    def __init__(self, nz: int, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(2 * channels, nz) * (INITIAL_SPREAD / nz**0.5))

    def forward(self, h: Tensor, latent: Tensor) -> Tensor:
        gamma, beta = (latent.to(h.dtype) @ self.weight.to(h.dtype).t()).chunk(2, dim=1)
        return h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
