"""Optional cGAN loss terms, composed into the generator's loss like a task's own terms: the trainer sums
them and needs no branch of its own.

``loss.perceptual_weight`` > 0 adds LPIPS between the output and the target (``loss.perceptual_net``:
alexnet or vgg16; frozen pretrained features from img2img.features), as pix2pixHD and Real-ESRGAN add a VGG
feature loss; ``loss.feature_matching_weight`` > 0 adds pix2pixHD's discriminator feature matching
(:mod:`.feature_matching`). cGAN only: the MSE baseline stays pure MSE, the conditional mean the cGAN is
compared with.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from ..config import LossConfig
from ..task import LossTerm
from .feature_matching import feature_matching_term


# The default recipe's LPIPS weight (``loss.perceptual_weight`` = None, "auto"), next to L1 x 100: chosen with
# benchmarks/time_to_quality.py (docs/performance.md, "Time to quality").
DEFAULT_PERCEPTUAL_WEIGHT = 10.0


def resolve_perceptual_weight(cfg: LossConfig, model: str) -> float:
    """The LPIPS weight a run trains with: an explicit ``loss.perceptual_weight`` as it is; None (auto) ->
    :data:`DEFAULT_PERCEPTUAL_WEIGHT` for the cGAN when the weight packages are installed, else 0 with one
    warning naming the install command (the run then trains the pix2pix recipe). The regression baseline gets 0:
    it stays pure MSE."""
    if cfg.perceptual_weight is not None:
        return cfg.perceptual_weight
    if model != "cgan":
        return 0.0
    from ..features import INSTALL_COMMAND, perceptual_available

    if perceptual_available():
        return DEFAULT_PERCEPTUAL_WEIGHT
    warnings.warn("training without the perceptual (LPIPS) prior: its pretrained weights are not installed "
                  f"({INSTALL_COMMAND}); set loss.perceptual_weight=0 to silence this", stacklevel=2)
    return 0.0


def perceptual_term(weight: float, net: str, device: torch.device) -> LossTerm:
    """LPIPS(output, target) with ``net`` (alexnet | vgg16), loaded once on ``device``; raises
    MissingPackageError (one line) without the weights."""
    from ..features import lpips

    metric = lpips(net, device)

    def perceptual(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
        return metric(fake, real).mean()

    return LossTerm("perceptual", perceptual, weight=weight, models=("cgan",))


def extra_terms(cfg: LossConfig, model: str, device: torch.device, discriminator: nn.Module | None = None
                ) -> list[LossTerm]:
    """The engine's optional cGAN terms ``cfg`` asks for (perceptual, feature_matching), for engine ``model``
    (cgan | regression: none, the baseline stays pure MSE). The trainer sums them like a task's terms."""
    if model != "cgan":
        return []
    terms = []
    weight = resolve_perceptual_weight(cfg, model)
    if weight > 0:
        terms.append(perceptual_term(weight, cfg.perceptual_net, device))
    if cfg.feature_matching_weight > 0 and discriminator is not None:
        terms.append(feature_matching_term(discriminator, cfg.feature_matching_weight))
    return terms
