"""Losses: adversarial (five kinds plus the WGAN-GP and R1 penalties), reconstruction and diversity."""

from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty
from .diversity import mode_seeking_loss
from .reconstruction import l1_loss, l2_loss

__all__ = ["AdversarialLoss", "gradient_penalty", "r1_penalty", "mode_seeking_loss", "l1_loss", "l2_loss"]
