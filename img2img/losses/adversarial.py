"""Adversarial losses and discriminator regularisers for (multi-scale) conditional GANs.

Every function takes the discriminator's raw logit maps: one tensor per discriminator scale, no sigmoid
applied. Each scale's loss is the mean over its map, and the scales are averaged, so a one-scale and a
three-scale discriminator give losses on the same footing.

The kinds follow their papers:

* ``minimax`` / ``nonsaturating``: Goodfellow et al. 2014. D maximises E[log D(x)] + E[log(1 - D(G(z)))],
  written as a BCE-with-logits minimisation. ``minimax`` gives G the original saturating objective
  min E[log(1 - D(G(z)))]; ``nonsaturating`` gives it the practical min -E[log D(G(z))].
* ``lsgan``: Mao et al. 2017, least squares with targets 1 (real) and 0 (fake).
* ``hinge``: Lim & Ye 2017 / Miyato et al. 2018.
* ``wgan-gp``: Gulrajani et al. 2017; the gradient penalty is :func:`gradient_penalty`, added by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import ADVERSARIAL_LOSSES

LogitMaps = Tensor | Sequence[Tensor]

# Kinds whose real target is a probability-like level, so one-sided label smoothing has a meaning there.
_SMOOTHABLE_KINDS = ("minimax", "nonsaturating", "lsgan")


def _as_list(logits: LogitMaps) -> list[Tensor]:
    """A bare tensor is a one-scale discriminator's output."""
    if isinstance(logits, Tensor):
        return [logits]
    maps = list(logits)
    if not maps:
        raise ValueError("expected at least one logit map, got an empty sequence")
    return maps


def _mean_over_scales(per_scale: list[Tensor]) -> Tensor:
    return torch.stack(per_scale).mean()


def _summed_per_sample_score(logits: LogitMaps) -> Tensor:
    """Sum over the batch of each sample's score: its maps' means, averaged over scales.

    The per-sample score is the quantity the losses see (up to the batch mean). Summing over the batch
    instead of averaging makes ``autograd.grad`` return every sample's own input gradient unscaled,
    since samples do not interact; a batch mean would shrink every gradient by 1/N and make the
    penalties depend on the batch size.
    """
    maps = _as_list(logits)
    per_sample = torch.stack([m.flatten(1).mean(dim=1) for m in maps]).mean(dim=0)
    return per_sample.sum()


class AdversarialLoss:
    """The adversarial terms for D and G for one of :data:`img2img.config.ADVERSARIAL_LOSSES`."""

    def __init__(self, kind: str = "nonsaturating", label_smoothing: float = 0.0) -> None:
        if kind not in ADVERSARIAL_LOSSES:
            raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {', '.join(ADVERSARIAL_LOSSES)}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.kind = kind
        self.label_smoothing = float(label_smoothing)

    @property
    def real_target(self) -> float:
        """The D-side target for real samples (one-sided smoothing never touches the fake target)."""
        return 1.0 - self.label_smoothing if self.kind in _SMOOTHABLE_KINDS else 1.0

    def __repr__(self) -> str:
        return f"AdversarialLoss(kind={self.kind!r}, label_smoothing={self.label_smoothing})"

    def discriminator_loss(self, real_logits: LogitMaps, fake_logits: LogitMaps) -> Tensor:
        """The loss D minimises; for the BCE kinds it is -V(D, G) of the GAN paper."""
        reals, fakes = _as_list(real_logits), _as_list(fake_logits)
        if len(reals) != len(fakes):
            raise ValueError(f"got {len(reals)} real logit maps but {len(fakes)} fake ones")
        per_scale = [self._discriminator_term(r, f) for r, f in zip(reals, fakes)]
        return _mean_over_scales(per_scale)

    def generator_loss(self, fake_logits: LogitMaps) -> Tensor:
        """The adversarial loss G minimises (D's logits on G's output, not detached)."""
        return _mean_over_scales([self._generator_term(f) for f in _as_list(fake_logits)])

    def _discriminator_term(self, real: Tensor, fake: Tensor) -> Tensor:
        if self.kind in ("minimax", "nonsaturating"):
            real_term = F.binary_cross_entropy_with_logits(real, torch.full_like(real, self.real_target))
            fake_term = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
            return real_term + fake_term
        if self.kind == "lsgan":
            return (real - self.real_target).square().mean() + fake.square().mean()
        if self.kind == "hinge":
            return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
        # wgan-gp: the critic widens E[f(real)] - E[f(fake)]
        return fake.mean() - real.mean()

    def _generator_term(self, fake: Tensor) -> Tensor:
        if self.kind == "minimax":
            # log(1 - sigmoid(l)) = -softplus(l): exact and finite for any logit, unlike log1p(-sigmoid)
            return -F.softplus(fake).mean()
        if self.kind == "nonsaturating":
            # -log sigmoid(l) = softplus(-l)
            return F.softplus(-fake).mean()
        if self.kind == "lsgan":
            return (fake - 1.0).square().mean()
        # hinge and wgan-gp both raise the critic's score on fakes
        return -fake.mean()


def gradient_penalty(
    discriminator: Callable[[Tensor], LogitMaps],
    real: Tensor,
    fake: Tensor,
    condition: Tensor,
) -> Tensor:
    """WGAN-GP: E[(||grad_x D(x)||_2 - 1)^2] at random points on the lines between real and fake.

    ``discriminator`` takes ``torch.cat([condition, image], 1)``; only the image is interpolated and
    differentiated, since the Lipschitz constraint concerns the generated image, not its fixed input.
    The graph is kept so the penalty can be backpropagated into the discriminator's weights.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    mix_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    mix = torch.rand(mix_shape, device=real.device, dtype=real.dtype)
    interpolates = (mix * real.detach() + (1.0 - mix) * fake.detach()).requires_grad_(True)
    logits = discriminator(torch.cat([condition.detach(), interpolates], dim=1))
    (grad,) = torch.autograd.grad(_summed_per_sample_score(logits), interpolates, create_graph=True)
    grad_norm = grad.flatten(1).norm(2, dim=1)
    return (grad_norm - 1.0).square().mean()


def r1_penalty(real_logits: LogitMaps, real_input: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): 0.5 * E[||grad_x D(x)||^2] on real data.

    ``real_input`` must have required grad before the discriminator's forward pass that produced
    ``real_logits``; the graph is kept so the penalty trains the discriminator.
    """
    if not real_input.requires_grad:
        raise ValueError("r1_penalty needs real_input.requires_grad_(True) before the discriminator forward")
    (grad,) = torch.autograd.grad(_summed_per_sample_score(real_logits), real_input, create_graph=True)
    return 0.5 * grad.flatten(1).square().sum(dim=1).mean()
