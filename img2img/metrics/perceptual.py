"""Metrics on pretrained features (img2img.features): LPIPS to the target, LPIPS diversity, and the
Frechet distance and KID on EfficientNet-Lite0 pooled features.

The last two are computed exactly like FID and KID (:mod:`.fid`) but on another network, so their values are
not comparable with published FID/KID numbers: reports name them ``fd_lite0`` and ``kid_lite0``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..features import LITE0_INPUT_SIZE, EfficientNetLite0, LPIPS
from .fid import KID_SUBSETS, fid_from_features, kid_from_features

LITE0_NAME = "lite0"  # suffix of the fd/kid keys: the network the features come from


def varying_region(compose, y: Tensor, channels: int) -> Tensor | None:
    """Where an output can differ from sample to sample: the pixels ``compose(output, y)`` takes from the
    output (uncrop pastes the known photo back, so only its band varies). (B, 1, H, W) in {0, 1}, or None
    when every pixel comes from the output."""
    shape = (y.shape[0], channels, *y.shape[2:])
    high = compose(torch.ones(shape, dtype=torch.float32, device=y.device), y.float())
    low = compose(-torch.ones(shape, dtype=torch.float32, device=y.device), y.float())
    region = (high != low).any(dim=1, keepdim=True)
    return None if bool(region.all()) else region.float()


@torch.inference_mode()
def sample_features(metric: LPIPS, samples: Tensor) -> list[Tensor]:
    """LPIPS features of samples (B, K, C, H, W), per layer (B, K, C', H', W'), on the metric's device:
    computed once, they serve both :func:`lpips_to_target` and :func:`lpips_diversity`."""
    b, k = samples.shape[:2]
    device = next(metric.parameters()).device
    return [f.unflatten(0, (b, k)) for f in metric.features(samples.flatten(0, 1).to(device))]


@torch.inference_mode()
def lpips_to_target(metric: LPIPS, fakes: Tensor, real: Tensor, features: list[Tensor] | None = None) -> Tensor:
    """fakes (B, K, C, H, W), real (B, C, H, W) -> (B,) LPIPS per input, averaged over its K samples.
    ``features``: :func:`sample_features` of ``fakes`` if already computed."""
    b, k = fakes.shape[:2]
    features = sample_features(metric, fakes) if features is None else features
    fake_features = [f.flatten(0, 1) for f in features]
    real_features = [f.repeat_interleave(k, dim=0) for f in metric.features(real.to(fake_features[0].device))]
    return metric.distance(fake_features, real_features).view(b, k).mean(dim=1)


@torch.inference_mode()
def lpips_diversity(metric: LPIPS, samples: Tensor, region: Tensor | None = None,
                    features: list[Tensor] | None = None) -> Tensor:
    """samples (B, K, C, H, W) -> (B,) mean LPIPS over the K(K-1)/2 pairs of each input's samples
    (BicycleGAN's diversity score), measured inside ``region`` (B, 1, H, W) when given. 0 when K < 2."""
    b, k = samples.shape[:2]
    if k < 2:
        return torch.zeros(b)
    features = sample_features(metric, samples) if features is None else features
    weight = region.to(features[0].device) if region is not None else None
    first, second = torch.triu_indices(k, k, offset=1)
    return metric.pairwise(features, weight)[:, first, second].mean(dim=1)


@torch.inference_mode()
def lite0_features(net: EfficientNetLite0, images: Tensor, batch_size: int = 32) -> Tensor:
    """(N, 1280) float64 pooled Lite0 features of images (N, 1|3, H, W) in [-1, 1], resized to 224 px."""
    device = next(net.parameters()).device
    chunks = []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size].to(device).float()
        batch = F.interpolate(batch, size=(LITE0_INPUT_SIZE,) * 2, mode="bilinear", antialias=True,
                              align_corners=False)
        chunks.append(net.pooled(batch).double().cpu())
    return torch.cat(chunks)


def fd_kid(fake_features: Tensor, real_features: Tensor, seed: int = 0, subsets: int = KID_SUBSETS) -> dict[str, float]:
    """``{"fd_lite0", "kid_lite0"}``: Frechet distance and unbiased KID (over ``subsets`` random subsets)
    between two Lite0 feature sets."""
    return {f"fd_{LITE0_NAME}": fid_from_features(fake_features, real_features),
            f"kid_{LITE0_NAME}": kid_from_features(fake_features, real_features, subsets=subsets, seed=seed)}
