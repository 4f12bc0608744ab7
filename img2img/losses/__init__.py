"""Losses: adversarial (five kinds plus the WGAN-GP and R1 penalties), reconstruction, diversity, spectral, terms
on pretrained features and the discriminator's, and :func:`generator_terms`, which builds every generator term
of a run (the one list of the engine's term names is :data:`ENGINE_TERMS`)."""

from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty
from .diversity import best_of_pairs, mode_seeking_loss, pair_distance
from .feature_matching import feature_matching_term
from .perceptual import DEFAULT_PERCEPTUAL_WEIGHT, perceptual_term
from .reconstruction import l1_loss, l2_loss
from .spectral import ring_power, spectral_loss
from .terms import ENGINE_TERMS, Outputs, Term, check_term_names, describe, evaluate, generator_terms

__all__ = ["AdversarialLoss", "gradient_penalty", "r1_penalty", "mode_seeking_loss", "pair_distance", "best_of_pairs", "l1_loss", "l2_loss", "ring_power", "spectral_loss",
           "feature_matching_term", "perceptual_term", "DEFAULT_PERCEPTUAL_WEIGHT",
           "ENGINE_TERMS", "Outputs", "Term", "check_term_names", "describe", "evaluate", "generator_terms"]
