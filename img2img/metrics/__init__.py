"""Evaluation metrics, pure torch/kornia, images NCHW in [-1, 1].

Per-pair fidelity (PSNR, SSIM) favours the conditional mean; set-level realism (SWD), sharpness and
per-condition diversity expose it. ``img2img eval`` reports all of them for the cGAN and the MSE baseline.
LPIPS, LPIPS diversity and FD/KID on EfficientNet-Lite0 use pretrained networks (:mod:`.perceptual`, weights
from optional packages); FID/KID need a feature extractor the user supplies (see :mod:`.fid`).
:mod:`.scoring` holds what eval and training-time validation share (which items, the native-size cap, the
networks, per-image accumulation, set-level metrics); :mod:`.report` is eval's report.
"""

from .diversity import pairwise_l1
from .fid import fid_from_features, fid_kid, frechet_distance, kid_from_features, load_feature_extractor
from .perceptual import fd_kid, lite0_features, lpips_diversity, lpips_to_target, varying_region
from .psnr_ssim import PSNR_CAP_DB, psnr, ssim
from .sharpness import sharpness, sharpness_ratio, sharpness_ratio_from_energy
from .swd import sliced_wasserstein, sliced_wasserstein_sets

__all__ = [
    "PSNR_CAP_DB",
    "fd_kid",
    "fid_from_features",
    "fid_kid",
    "frechet_distance",
    "kid_from_features",
    "lite0_features",
    "load_feature_extractor",
    "lpips_diversity",
    "lpips_to_target",
    "pairwise_l1",
    "psnr",
    "sharpness",
    "sharpness_ratio",
    "sharpness_ratio_from_energy",
    "sliced_wasserstein",
    "sliced_wasserstein_sets",
    "ssim",
    "varying_region",
]
