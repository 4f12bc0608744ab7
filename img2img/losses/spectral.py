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
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8  # power floor under the log: well below a real photo's finest ring (~1e-5 for 8-bit images)


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


def spectral_loss(fake: Tensor, real: Tensor, min_frequency: float = 0.25) -> Tensor:
    """Mean |log ring power of fake - log ring power of real| over the rings from ``min_frequency`` x Nyquist
    (0: all but the mean colour; 1: only the corners past Nyquist) up to the corners. A scalar; 0 when the two
    have the same power at every ring, whatever their phase."""
    fake_power, real_power = ring_power(fake), ring_power(real)
    nyquist = min(fake.shape[-2:]) // 2
    first = max(1, int(round(min_frequency * nyquist)))
    gap = torch.log(fake_power[:, first:] + EPS) - torch.log(real_power[:, first:] + EPS)
    return gap.abs().mean()
