"""Evaluation metrics, pure torch/kornia, images NCHW in [-1, 1].

Per-pair fidelity (PSNR, SSIM) favours the conditional mean; set-level realism (SWD), sharpness and
per-condition diversity expose it. ``img2img eval`` reports all of them for the cGAN and the MSE baseline.
FID/KID need a feature extractor the user supplies (see :mod:`.fid`).
"""

from .diversity import pairwise_l1
from .fid import fid_from_features, fid_kid, frechet_distance, kid_from_features, load_feature_extractor
from .psnr_ssim import PSNR_CAP_DB, psnr, ssim
from .sharpness import sharpness, sharpness_ratio, sharpness_ratio_from_energy
from .swd import sliced_wasserstein, sliced_wasserstein_sets

__all__ = [
    "PSNR_CAP_DB",
    "fid_from_features",
    "fid_kid",
    "frechet_distance",
    "kid_from_features",
    "load_feature_extractor",
    "pairwise_l1",
    "psnr",
    "sharpness",
    "sharpness_ratio",
    "sharpness_ratio_from_energy",
    "sliced_wasserstein",
    "sliced_wasserstein_sets",
    "ssim",
]
