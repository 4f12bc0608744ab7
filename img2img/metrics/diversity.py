"""Diversity: how different K samples for the same condition are from each other.

The regression returns one output per condition, so its diversity is 0 by construction; a cGAN that really
samples p(x|y) gives K distinct, plausible answers. (A cGAN that ignores its latent, the classic pix2pix
failure, also scores 0 here.)
"""

from __future__ import annotations

import torch
from torch import Tensor

from .psnr_ssim import to_unit


def pairwise_l1(samples: Tensor) -> float:
    """Mean L1 distance over all pairs of K samples (K,C,H,W in [-1, 1]), in [0, 1] pixel units.

    0 for identical samples (and for K < 2); 1 would mean every pixel flips from black to white.
    """
    if samples.dim() != 4:
        raise ValueError(f"expected samples of shape (K, C, H, W), got {tuple(samples.shape)}")
    k = samples.shape[0]
    if k < 2:
        return 0.0
    flat = to_unit(samples).flatten(1).double()
    distances = torch.cdist(flat, flat, p=1.0) / flat.shape[1]
    # The K x K matrix is symmetric with a zero diagonal: average the K(K-1) off-diagonal entries.
    return float(distances.sum() / (k * (k - 1)))
