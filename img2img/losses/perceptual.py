"""Optional cGAN loss terms, composed into the generator's loss like a task's own terms: the trainer sums
them and needs no branch of its own.

``loss.perceptual_weight`` > 0 adds LPIPS between the output and the target (``loss.perceptual_net``:
alexnet or vgg16; frozen pretrained features from img2img.features), as pix2pixHD and Real-ESRGAN add a VGG
feature loss; ``loss.feature_matching_weight`` > 0 adds pix2pixHD's discriminator feature matching
(:mod:`.feature_matching`). cGAN only: the MSE baseline stays pure MSE, the conditional mean the cGAN is
compared with.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import LossConfig
from ..task import LossTerm
from .feature_matching import feature_matching_term


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
    if cfg.perceptual_weight > 0:
        terms.append(perceptual_term(cfg.perceptual_weight, cfg.perceptual_net, device))
    if cfg.feature_matching_weight > 0 and discriminator is not None:
        terms.append(feature_matching_term(discriminator, cfg.feature_matching_weight))
    return terms
