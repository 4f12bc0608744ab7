"""Losses: adversarial (five kinds plus the WGAN-GP and R1 penalties), reconstruction, diversity, and terms on
pretrained features and the discriminator's (``extra_terms``)."""

from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty
from .diversity import best_of_pairs, mode_seeking_loss, pair_distance
from .feature_matching import feature_matching_term
from .perceptual import (DEFAULT_DISCRIMINATOR, DEFAULT_PERCEPTUAL_WEIGHT, extra_terms, perceptual_term, resolve_perceptual_weight,
                         resolve_recipe)
from .reconstruction import l1_loss, l2_loss
from .spectral import ring_power, spectral_loss

__all__ = ["AdversarialLoss", "gradient_penalty", "r1_penalty", "mode_seeking_loss", "pair_distance", "best_of_pairs", "l1_loss", "l2_loss", "ring_power", "spectral_loss",
           "extra_terms", "feature_matching_term", "perceptual_term", "resolve_perceptual_weight",
           "resolve_recipe", "DEFAULT_PERCEPTUAL_WEIGHT", "DEFAULT_DISCRIMINATOR"]
