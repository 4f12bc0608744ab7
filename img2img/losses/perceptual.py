"""Loss terms on frozen pretrained features (img2img.features), composed into the generator's loss like a
task's own terms: the trainer sums them and needs no branch of its own.

``loss.perceptual_weight`` > 0 adds LPIPS between the output and the target (``loss.perceptual_net``:
alexnet or vgg16), as pix2pixHD and Real-ESRGAN add a VGG feature loss. cGAN only: the MSE baseline stays
pure MSE, the conditional mean the cGAN is compared with.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..config import LossConfig
from ..task import LossTerm


def prior_terms(cfg: LossConfig, model: str, device: torch.device) -> list[LossTerm]:
    """The pretrained-feature terms ``cfg`` asks for, for engine ``model`` (cgan | regression).

    Loads the networks once, on ``device``; raises MissingPackageError (one line) without their weights.
    """
    if model != "cgan" or cfg.perceptual_weight <= 0:
        return []
    from ..features import lpips

    metric = lpips(cfg.perceptual_net, device)

    def perceptual(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
        return metric(fake, real).mean()

    return [LossTerm("perceptual", perceptual, weight=cfg.perceptual_weight, models=("cgan",))]
