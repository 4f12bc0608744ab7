"""Diversity regularisers that fight mode collapse of a conditional generator with a latent input.

``best_of_pairs`` lets the reconstruction terms pull only one sample per condition to the target. The two
mode-seeking terms use the same ratio r = d(G(y, z_a), G(y, z_b)) / d(z_a, z_b), d = mean absolute difference
(``loss.mode_seeking_distance`` "lpips": LPIPS between the outputs): how far apart two outputs for one condition are
per unit of latent distance. Dividing by the latent distance keeps the term from rewarding arbitrary noise when
the two latents happen to be close.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# A distance between two batches of outputs: one number per row.
Distance = Callable[[Tensor, Tensor], Tensor]


def pair_distance(kind: str, blur: float, net: str, device: torch.device) -> Distance | None:
    """The mode-seeking distance a config names (``loss.mode_seeking_distance``, ``loss.mode_seeking_blur``,
    ``loss.perceptual_net``); None for the plain pixel L1. "lpips" loads the frozen LPIPS network."""
    base: Distance | None = None
    if kind == "lpips":
        from ..features import lpips

        base = lpips(net, device)
    if not blur:
        return base
    from ..filters import gaussian_blur

    def blurred(a: Tensor, b: Tensor) -> Tensor:
        a, b = gaussian_blur(a, blur), gaussian_blur(b, blur)
        return base(a, b) if base is not None else (a - b).abs().flatten(1).mean(1)

    return blurred


def latent_output_ratio(fake_a: Tensor, fake_b: Tensor, z_a: Tensor, z_b: Tensor, eps: float = 1e-5,
                        distance: Distance | None = None) -> Tensor:
    apart = (fake_a - fake_b).abs().mean() if distance is None else distance(fake_a, fake_b).mean()
    return apart / ((z_a - z_b).abs().mean() + eps)


def mode_seeking_loss(fake_a: Tensor, fake_b: Tensor, z_a: Tensor, z_b: Tensor, eps: float = 1e-5,
                      tau: float | None = None, distance: Distance | None = None) -> Tensor:
    """Minimising it raises the ratio r, so the generator cannot ignore z.

    ``tau=None``: MSGAN (Mao et al. 2019), ``1 / (r + eps)``. Its gradient is ``-1/r^2``: enormous while the
    outputs still coincide, which on this project's uncrop task stopped an early generator from learning
    at all (held-in L1 rose from 0.155 to 0.169 over 160 steps where it fell to 0.108 without the term).

    ``tau`` set: the bounded form of DSGAN (Yang et al. 2019), ``tau - min(r, tau)``: a constant push while
    the outputs are closer than ``tau`` per unit latent distance, none beyond. The engine's default.

    ``distance``: how far apart the outputs are (default: mean absolute difference, the pixel L1).
    """
    ratio = latent_output_ratio(fake_a, fake_b, z_a, z_b, eps, distance)
    if tau is None:
        return 1.0 / (ratio + eps)
    return tau - torch.clamp(ratio, max=tau)


def best_of_pairs(fake: Tensor, real: Tensor, *more: Tensor) -> tuple[Tensor, ...]:
    """(fake, real, *more) cut to the rows of the sample closer to the target (mean absolute error) in each
    mode-seeking pair: rows i and i + N/2 share a condition and a target and differ in the latent (the
    trainer's MSGAN pairs).

    Pulling only these to the target is the "variety loss" of Social GAN (Gupta et al. 2018), best-of-many
    with k = 2 (Bhattacharyya et al. 2018): a reconstruction loss on every sample pulls all of them to the
    conditional mean, one on the best sample lets the other cover another plausible target. The other sample
    still gets the adversarial and mode-seeking terms, so it stays realistic and tied to the condition (the
    discriminator sees it). No gradient flows through the choice.
    """
    h = fake.shape[0] // 2
    error = (fake[: 2 * h] - real[: 2 * h]).detach().abs().flatten(1).mean(1).view(2, h)
    keep = torch.arange(h, device=fake.device) + h * error.argmin(dim=0)
    return (fake[keep], real[keep], *(t[keep] for t in more))
