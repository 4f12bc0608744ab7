"""pix2pixHD's discriminator feature matching (Wang et al. 2018): the generator matches the conditional
discriminator's intermediate activations on real pairs, an L1 per layer averaged over layers and scales.
A dense, stable signal beside the adversarial logit; it needs no pretrained network."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..task import LossTerm


def feature_matching_term(discriminator: nn.Module, weight: float) -> LossTerm:
    """A cGAN loss term ``feature_matching``: ``fn(fake, real, y)`` compares D(y, fake) with D(y, real).

    ``discriminator`` must offer ``features(pair) -> list[list[Tensor]]`` (per scale, per layer), as
    :class:`~img2img.models.patchgan.MultiScaleDiscriminator` does. Real activations are targets (no gradient).
    """

    def feature_matching(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
        with torch.no_grad():
            targets = discriminator.features(torch.cat([y, real], 1))
        outputs = discriminator.features(torch.cat([y, fake], 1))
        per_scale = [sum((a - b).abs().mean() for a, b in zip(fs, ts)) / len(fs) for fs, ts in zip(outputs, targets)]
        return sum(per_scale) / len(per_scale)

    return LossTerm("feature_matching", feature_matching, weight=weight, models=("cgan",))
