"""Losses: adversarial (five kinds plus the WGAN-GP and R1 penalties), reconstruction, diversity, and terms on
pretrained features (``prior_terms``)."""

from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty
from .diversity import mode_seeking_loss
from .perceptual import prior_terms
from .reconstruction import l1_loss, l2_loss

__all__ = ["AdversarialLoss", "gradient_penalty", "r1_penalty", "mode_seeking_loss", "l1_loss", "l2_loss", "prior_terms"]
