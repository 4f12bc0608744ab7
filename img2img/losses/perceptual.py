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

from ..config import LossConfig, TrainConfig
from ..task import LossTerm
from .feature_matching import feature_matching_term


# The default cGAN recipe's priors, used where the config says "auto" (``loss.perceptual_weight`` None,
# ``discriminator.kind`` "auto") and the pretrained weights are installed: LPIPS x 10 beside L1 x 100, and the
# projected discriminator. Chosen with benchmarks/time_to_quality.py (docs/performance.md, "Time to quality").
DEFAULT_PERCEPTUAL_WEIGHT = 10.0
DEFAULT_DISCRIMINATOR = "projected"


def _priors_available(model: str) -> bool:
    from ..features import perceptual_available

    return model == "cgan" and perceptual_available()


def resolve_recipe(cfg: TrainConfig) -> None:
    """Replace ``cfg``'s auto settings, in place, by what the run trains with: the default recipe's priors for
    the cGAN when the weight packages are installed; otherwise the pix2pix recipe (no LPIPS, the PatchGAN) and
    one warning naming the install command. The regression baseline gets no prior: it stays pure MSE. Explicit
    settings are kept as they are (and need the packages when they ask for a prior)."""
    loss, disc = cfg.loss, cfg.discriminator
    if loss.perceptual_weight is not None and disc.kind != "auto":
        return
    if cfg.model == "cgan" and not _priors_available(cfg.model):
        from ..features import INSTALL_COMMAND

        warnings.warn("training the pix2pix recipe (L1 + PatchGAN), without the default pretrained priors: their "
                      f"weights are not installed ({INSTALL_COMMAND}); set loss.perceptual_weight=0 and "
                      "discriminator.kind=patch to silence this", stacklevel=2)
    loss.perceptual_weight = resolve_perceptual_weight(loss, cfg.model)
    if disc.kind == "auto":
        disc.kind = DEFAULT_DISCRIMINATOR if _priors_available(cfg.model) else "patch"


def resolve_perceptual_weight(cfg: LossConfig, model: str) -> float:
    """The LPIPS weight of ``cfg`` for engine ``model``: as given, or for auto (None) the default recipe's
    weight for the cGAN where the weight packages are installed, else 0."""
    if cfg.perceptual_weight is not None:
        return cfg.perceptual_weight
    return DEFAULT_PERCEPTUAL_WEIGHT if _priors_available(model) else 0.0


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
