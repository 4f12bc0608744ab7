"""LPIPS as a cGAN loss term.

``loss.perceptual_weight`` > 0 adds LPIPS between the output and the target (``loss.perceptual_net``:
alexnet or vgg16; frozen pretrained features from img2img.features), as pix2pixHD and Real-ESRGAN add a VGG
feature loss; ``loss.feature_matching_weight`` > 0 adds pix2pixHD's discriminator feature matching
(:mod:`.feature_matching`). cGAN only: the MSE baseline stays pure MSE, the conditional mean the cGAN is
compared with. :func:`img2img.losses.generator_terms` composes them with the task's terms.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..task import LossTerm

# The default cGAN recipe's LPIPS weight, used where the config says "auto" (``loss.perceptual_weight`` None)
# and the pretrained weights are installed: LPIPS x 10 beside L1 x 100 (img2img.engine.settle settles it,
# with the recipe's discriminator). Chosen with benchmarks/time_to_quality.py (docs/performance.md, "Time to
# quality").
DEFAULT_PERCEPTUAL_WEIGHT = 10.0


def perceptual_term(weight: float, net: str, device: torch.device) -> LossTerm:
    """LPIPS(output, target) with ``net`` (alexnet | vgg16), loaded once on ``device``; raises
    MissingPackageError (one line) without the weights."""
    from ..features import lpips

    metric = lpips(net, device)

    def perceptual(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
        return metric(fake, real).mean()

    return LossTerm("perceptual", perceptual, weight=weight, models=("cgan",))
