"""Per-pixel noise inputs for the U-Net decoder (StyleGAN's "stochastic variation", Karras et al. 2019).

The latent z reaches the U-Net as one number per channel, the same at every pixel. Where the condition is flat
(the blank half of an uncrop input), nothing in the network differs from one position to the next except the
strides, so the texture a GAN asks for comes out as a lattice at the period of the coarse features (16 px at 128
px, seen in the round-3 uncrop fills). Adding per-pixel noise after each decoder block gives every position its
own random input, as StyleGAN does for hair and skin pores; a learned per-channel strength decides how much each
layer uses. It starts at 0.1, not StyleGAN's 0: at zero the expected gradient of any loss with respect to the
strength is zero (the noise has zero mean and nothing yet depends on it), so a strength only random-walks, about
lr * sqrt(steps), which in a fine-tune of a few thousand steps stays near 0.002 and the noise goes unused
(measured: uncrop and sketch2photo fine-tunes, 500 steps at lr 1e-4).

Measured on uncrop (docs/performance.md "uncrop"): trained with noise from step 0 the lattice never forms; added
to a model that has already learned it, the noise does not undo it in 2500 steps.

The noise is a function of z, not a fresh draw: ``noise = sum_k z_k * field_k / sqrt(nz)`` over fixed unit-
variance fields, one set per decoder level. So a seed still names one sample (in eval, the app and the CLI), the
mean z = 0 is still the deterministic sample, and the fields come from an integer hash of (row, column,
component, level) computed in the graph: the same on every device, at any size, and exportable to ONNX.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# The strength every channel starts at, against decoder features of unit variance (they come out of a norm).
INITIAL_STRENGTH = 0.1
# A prime below 2**31: squares of residues fit in int64.
_PRIME = 2_147_483_629
# Multipliers that spread (row, column, component, level) over the residues, and the constants of the rounds.
_SPREAD = (7_919, 104_729, 1_299_709, 15_485_863)
_ROUNDS = (1_013_904_223, 1_664_525, 374_761_393)


def hashed_field(components: int, level: int, height: int, width: int, like: Tensor) -> Tensor:
    """(components, height, width) pseudo-random values, uniform with zero mean and unit variance, a pure
    function of the position, the component and the level: x -> x^2 + c (mod p), three rounds."""
    rows = torch.arange(height, device=like.device, dtype=torch.int64)
    cols = torch.arange(width, device=like.device, dtype=torch.int64)
    comps = torch.arange(components, device=like.device, dtype=torch.int64)
    r, c, k, lv = _SPREAD
    x = rows[None, :, None] * r + cols[None, None, :] * c + comps[:, None, None] * k + (level + 1) * lv
    x = torch.remainder(x, _PRIME)
    for constant in _ROUNDS:
        x = torch.remainder(x * x + constant, _PRIME)
    return (x.to(torch.float32) / _PRIME - 0.5) * math.sqrt(12.0)


class NoiseInjection(nn.Module):
    """``h + strength * noise(z)``: one noise map shared by the channels, one learned strength per channel."""

    def __init__(self, channels: int, level: int):
        super().__init__()
        self.level = level
        self.strength = nn.Parameter(torch.full((1, channels, 1, 1), INITIAL_STRENGTH))

    def forward(self, h: Tensor, latent: Tensor) -> Tensor:
        field = hashed_field(latent.shape[1], self.level, h.shape[2], h.shape[3], h)
        noise = torch.einsum("nk,khw->nhw", latent.float(), field) * (latent.shape[1] ** -0.5)
        return h + self.strength.to(h.dtype) * noise[:, None].to(h.dtype)
