"""Scoring shared by ``img2img eval`` and training-time validation (:mod:`img2img.engine.validation`).

Which items are scored (:func:`spread`: spread over a sorted list, never its head), at what size
(:func:`capped`: an image over the native-size cap scaled down to it), the pretrained networks
(:func:`perceptual_networks`), the per-image values gathered batch by batch (:class:`Accumulator`) and the
set-level metrics (:func:`set_swd`, :func:`lite0_scores`, :func:`extractor_scores`). Both callers sit above
this module and it imports neither (tests/test_layers.py checks the layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import DataError, MissingPackageError
from ..task import Task, wants_condition
from .diversity import pairwise_l1
from .fid import KID_SUBSETS, extract_features, fid_from_features, kid_from_features
from .perceptual import fd_kid, lite0_features, lpips_diversity, lpips_to_target, sample_features
from .psnr_ssim import psnr, ssim
from .sharpness import sharpness, sharpness_ratio_from_energy
from .swd import sliced_wasserstein_sets

NATIVE_MAX_SIDE = 1024  # default cap on an image's longest side at native size (eval's --max-side, val_native)
UNAVAILABLE = "unavailable"  # a score that could not be computed (a network is missing)


# -- which items, at what size -----------------------------------------------------------------------
def spread(total: int, limit: int | None) -> list[int]:
    """The indices of ``limit`` items (all when None) spread evenly over ``total`` of them, not the first ones: a
    folder sorted by name may hold one kind of image first (edges2shoes_handbags has 1000 shoes, then 1000 bags),
    and neighbours are often near-duplicates."""
    count = total if limit is None else min(limit, total)
    return [i * total // count for i in range(count)]


def capped(item: dict[str, Any], task: Task, max_side: int | None) -> tuple[dict[str, Any], bool]:
    """An item whose longest side exceeds ``max_side`` scaled down to it (the condition by the task's own
    ``resize_condition``, which keeps masks binary and labels pure); True when it was."""
    height, width = item["x"].shape[-2:]
    if max_side is None or max(height, width) <= max_side:
        return item, False
    ratio = max_side / max(height, width)
    shape = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    item = dict(item)
    item["x"] = F.interpolate(item["x"][None].float(), size=shape, mode="bilinear", align_corners=False,
                              antialias=True)[0].clamp(-1, 1)
    if "y" in item:
        item["y"] = task.resize_condition(item["y"][None].float(), shape)[0]
    return item, True


def center_crop(image: Tensor, side: int) -> Tensor:
    top, left = (image.shape[-2] - side) // 2, (image.shape[-1] - side) // 2
    return image[..., top : top + side, left : left + side]


def square(images: Tensor, size: int) -> Tensor:
    """Images of any shape -> size x size (shorter side scaled to size, centre crop), for set metrics."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    scale = size / min(h, w)
    scaled = F.interpolate(images, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                           mode="bilinear", align_corners=False, antialias=True)
    return center_crop(scaled, size)


# -- the pretrained networks -----------------------------------------------------------------------------
def perceptual_networks(device: torch.device) -> tuple[Any, Any] | str:
    """(LPIPS-AlexNet, EfficientNet-Lite0) on ``device``, or the one-line reason they are unavailable (the
    weight packages are missing: see img2img.features).

    Building modules draws their (then overwritten) initial weights from the global RNG: the draw is kept
    out of the caller's random stream (a training's, whose exact resume must stay exact)."""
    from ..features import efficientnet_lite0, lpips

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            return lpips("alexnet", device), efficientnet_lite0(device)
        except MissingPackageError as exc:
            return str(exc)


def pooled_features(extract: Callable[[Any, Tensor], Tensor], net: Any, images: list[Tensor]) -> Tensor:
    """Pooled features of a list of images (C, H, W): one call for a set of one shape, else one per image
    (the networks resize their input and pool globally, so any image size gives a feature vector)."""
    if len({tuple(image.shape) for image in images}) == 1:
        return extract(net, torch.stack(images))
    return torch.cat([extract(net, image[None]) for image in images])


# -- per-image values ------------------------------------------------------------------------------------
@dataclass
class Accumulator:
    """Per-image values gathered batch by batch, for one model."""

    psnr: list[Tensor] = field(default_factory=list)
    ssim: list[Tensor] = field(default_factory=list)
    energy: list[Tensor] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)
    task: dict[str, list[Tensor]] = field(default_factory=dict)
    firsts: list[Tensor] = field(default_factory=list)  # one output per input: the set for SWD and FID
    lpips: list[Tensor] = field(default_factory=list)
    lpips_diversity: list[Tensor] = field(default_factory=list)

    def add(self, outputs: Tensor, real: Tensor | None, y: Tensor, metric_fns: dict[str, Any],
            spread: Tensor | None = None, lpips_metric: Any = None, region: Tensor | None = None) -> None:
        """outputs (B, K, C, H, W) for reals (B, C, H, W; None: no targets) and conditions y (B, ...): per-input
        means over the K samples. Diversity is measured on ``spread`` (B, K', C, H, W) when given, else on the
        outputs; LPIPS diversity only inside ``region`` (B, 1, H, W) when given."""
        b, k = outputs.shape[:2]
        flat = outputs.flatten(0, 1)
        self.energy.append(sharpness(flat))
        spread = outputs if spread is None else spread
        self.diversity.extend(pairwise_l1(spread[i]) for i in range(b))
        self.firsts.append(outputs[:, 0])
        features = None
        if lpips_metric is not None:
            features = sample_features(lpips_metric, outputs)
            spread_features = features if spread is outputs else None
            self.lpips_diversity.append(lpips_diversity(lpips_metric, spread, region, spread_features).cpu())
        if real is None:
            return
        repeated = real.repeat_interleave(k, dim=0)
        conditions = y.repeat_interleave(k, dim=0)
        self.psnr.append(psnr(flat, repeated).view(b, k).mean(dim=1))
        self.ssim.append(ssim(flat, repeated).view(b, k).mean(dim=1))
        for name, fn in metric_fns.items():
            value = fn(flat, repeated, conditions) if wants_condition(fn) else fn(flat, repeated)
            self.task.setdefault(name, []).append(torch.as_tensor(value).float().view(b, k).mean(dim=1))
        if lpips_metric is not None:
            self.lpips.append(lpips_to_target(lpips_metric, outputs, real, features).cpu())

    def scores(self, real_energy: Tensor, metric_names: Iterable[str], perceptual: bool,
               paired: str | None) -> dict[str, Any]:
        """The per-image means: psnr, ssim, sharpness (ratio to ``real_energy``), diversity, lpips,
        lpips_diversity and ``task`` (the task's metrics, ``metric_names``). ``perceptual``: whether LPIPS was
        gathered (else its scores are ``unavailable``); ``paired``: the value of every paired score when there
        were no targets (else None)."""
        mean = lambda values: float(torch.cat(values).mean())  # noqa: E731
        return {
            "psnr": paired or mean(self.psnr),
            "ssim": paired or mean(self.ssim),
            "sharpness": sharpness_ratio_from_energy(torch.cat(self.energy), real_energy),
            "diversity": sum(self.diversity) / len(self.diversity),
            "lpips": (paired or mean(self.lpips)) if perceptual else UNAVAILABLE,
            "lpips_diversity": mean(self.lpips_diversity) if perceptual else UNAVAILABLE,
            "task": {metric: paired or mean(values) for metric, values in self.task.items()}
            if paired is None else {metric: paired for metric in metric_names},
        }


# -- set-level metrics -------------------------------------------------------------------------------------
def swd_crop_side(sets: list[list[Tensor]]) -> int:
    """The side of the central square SWD compares at native size: the smallest side of every image."""
    side = min(min(image.shape[-2:]) for images in sets for image in images)
    if side < 16:
        raise DataError(f"an image of the set is {side} px on its shorter side: native-size evaluation needs at "
                        "least 16 px")
    return side


def set_swd(fakes: dict[str, list[Tensor]], reals: list[Tensor], seed: int = 0,
            crop: int | None = None) -> dict[str, dict[str, float]]:
    """SWD (:func:`~.swd.sliced_wasserstein_sets`) of each named set of images (C, H, W) to the real one. SWD
    compares sets of one size, and the two may differ (real photos of another folder): as many of each are
    taken, spread over it. ``crop``: compare the central ``crop`` px square of every image (sets of mixed
    shapes)."""
    n = min(len(reals), *(len(images) for images in fakes.values()))
    as_set = lambda images: torch.stack([center_crop(images[i], crop) if crop else images[i]  # noqa: E731
                                         for i in spread(len(images), n)])
    return sliced_wasserstein_sets({name: as_set(images) for name, images in fakes.items()}, as_set(reals),
                                   seed=seed)


def lite0_scores(lite0: Any, fakes: list[Tensor], real_features: Tensor, seed: int = 0,
                 subsets: int = KID_SUBSETS) -> dict[str, float]:
    """``{"fd_lite0", "kid_lite0"}`` of a set of images (C, H, W) against real Lite0 features."""
    return fd_kid(pooled_features(lite0_features, lite0, fakes), real_features, seed=seed, subsets=subsets)


def extractor_scores(extractor: Any, fakes: list[Tensor], real_features: Tensor, seed: int = 0) -> dict[str, float]:
    """``{"fid", "kid"}`` of a set of images (C, H, W) against real features of the user's extractor."""
    features = pooled_features(extract_features, extractor, fakes)
    return {"fid": fid_from_features(features, real_features),
            "kid": kid_from_features(features, real_features, seed=seed)}
