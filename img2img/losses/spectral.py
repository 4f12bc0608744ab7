"""A spectral term: the output's high-frequency power, ring by ring, matched to its target's.

Every cGAN this project ships is smoother than photos. On sketch2photo the whole deficit of the sharpness
ratio (0.51) is what a Gaussian blur of sigma 0.5 px does to the real photos (docs/performance.md,
"Sharpness"): fine detail of the right amount is missing, not structure. The pixel and LPIPS terms cannot ask
for it: the target's fine detail is one draw of many, its phase is unknowable from the sketch, and a loss that
compares pixels is least where the output leaves it out.

This term compares power, not pixels. For each image, the 2-D power spectrum (all channels, summed) is
averaged over rings of equal spatial frequency (the azimuthal integral of Durall et al., "Watch your
up-convolution", CVPR 2020), and the log of each ring's power is compared with the target's, L1, over the
rings from ``min_frequency`` (a fraction of Nyquist) up. Power ignores phase and the rings ignore direction, so
the output may put its detail anywhere and in any orientation: it is asked for as much detail as its target
has, at each scale, not for the target's detail. Too much (noise) costs as much as too little (blur), in
log units. The low rings, where colour and shading live, are left out by ``min_frequency``, so a sample is not
pulled to its target's contrast and the samples of one sketch stay free to differ in colour.

A restorer must not be asked for detail its input never lacked: on an undamaged photo the target's power is
the input's, and a term that pulls every output to the photo's power draws a sharpening halo where the
network errs (restore, session 17: thin halos on clean photos at weight 2). With ``condition`` (the input, an
image like the target) each ring is weighted by how far the damage moved its power: |log target - log input|
over ``GATE`` log units, capped at 1. A ring the damage left alone asks nothing; a clean input asks nothing at
all, so the term is zero on the clean part of a mixed batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8  # power floor under the log: well below a real photo's finest ring (~1e-5 for 8-bit images)
GATE = 1.0  # log units (a factor e in power) of damage at a ring that give it the full weight


def _rings(height: int, width: int, device: torch.device) -> tuple[Tensor, Tensor, int]:
    """For each rfft2 coefficient: its ring (the frequency radius in cycles per pixel x the shorter side,
    rounded: ring min(H, W) / 2 is Nyquist) and how many coefficients of the full spectrum it stands for (2 for
    the columns whose mirror image the rfft2 leaves out, else 1); and the number of rings."""
    fy = torch.fft.fftfreq(height, device=device)
    fx = torch.fft.rfftfreq(width, device=device)
    index = (torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) * min(height, width)).round().long()
    mirrored = torch.full((fx.numel(),), 2.0, device=device)
    mirrored[0] = 1.0
    if width % 2 == 0:
        mirrored[-1] = 1.0  # the Nyquist column is its own mirror image
    return index, mirrored.expand(height, -1), int(index.max()) + 1


def ring_power(images: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, R): the mean power of each ring of spatial frequency over the full 2-D spectrum,
    R = about min(H, W) / sqrt(2) rings.

    Ring r holds the frequencies whose radius rounds to r cycles per image (ring 0 = the mean colour, ring
    min(H, W) / 2 = Nyquist along an axis; the rings past it are the corners). Computed in float32 (no FFT in bf16)."""
    with torch.autocast(images.device.type, enabled=False):
        images = images.float()
        n, _, h, w = images.shape
        power = torch.fft.rfft2(images, norm="ortho").abs().pow(2).sum(dim=1)  # (N, H, W // 2 + 1)
        index, weight, rings = _rings(h, w, images.device)
        flat = index.flatten()
        total = power.new_zeros(n, rings).scatter_add_(1, flat.expand(n, -1), (power * weight).flatten(1))
        count = torch.zeros(rings, device=images.device).scatter_add_(0, flat, weight.flatten())
        return total / count.clamp(min=1)


def _log_rings(images: Tensor, first: int) -> Tensor:
    return torch.log(ring_power(images)[:, first:] + EPS)


def spectral_loss(fake: Tensor, real: Tensor, min_frequency: float = 0.25, condition: Tensor | None = None) -> Tensor:
    """Mean |log ring power of fake - log ring power of real| over the rings from ``min_frequency`` x Nyquist
    (0: all but the mean colour; 1: only the corners past Nyquist) up to the corners. A scalar; 0 when the two
    have the same power at every ring, whatever their phase.

    ``condition``: the input the fake was made from, shaped like ``real``. Each image's ring is then weighted by
    min(1, |log real - log condition| / GATE): the term asks only where the damage changed the spectrum, and
    nothing of an undamaged input. The mean is still over all rings and images, so clean images dilute it."""
    if condition is not None and condition.shape != real.shape:
        raise ValueError(f"the condition must be shaped like the target, got {tuple(condition.shape)} and {tuple(real.shape)}")
    nyquist = min(fake.shape[-2:]) // 2
    first = max(1, int(round(min_frequency * nyquist)))
    real_log = _log_rings(real, first)
    gap = (_log_rings(fake, first) - real_log).abs()
    if condition is not None:
        gap = gap * ((real_log - _log_rings(condition, first)).abs() / GATE).clamp(max=1.0)
    return gap.mean()
