"""Fast Fourier convolution context blocks (LaMa, Suvorov et al., WACV 2022) for the U-Net's coarse features.

The dilated :class:`~img2img.models.unet.ContextBlocks` reach across a 16x16 map only through a sparse lattice
of taps; in one-side 50% uncrop fills that lattice shows as a plaid. A 1x1 convolution in the frequency domain
mixes every position with every other in one layer, with no lattice. Each FFC layer splits its channels into a
local group (3x3 convolutions) and a global group (the spectral transform), and the two exchange information
through 3x3 convolutions in both directions.

The 2-D DFT is written as products with cosine and sine matrices built for the map's size at run time, not
``torch.fft``: the TorchScript ONNX exporter has no FFT operator, and matrices keep ``img2img export`` working at
any input size. The transform runs in float32 even under bf16 autocast, since a spectrum's large DC term would
swamp its small high-frequency terms at bf16's 8 bits of mantissa.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def dft_matrices(n: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """cos and sin of 2 pi k m / n for k, m < n, scaled by 1/sqrt(n): the orthonormal DFT is ``cos - i sin``."""
    k = torch.arange(n, device=like.device, dtype=torch.float32)
    count = torch.ones_like(k).sum()  # n traced from the shape, so an exported graph takes any size
    # (k m) mod n keeps the angle below 2 pi, exact in float32 for any map size a U-Net sees.
    phase = torch.remainder(torch.outer(k, k), count) * (2 * math.pi / count)
    return torch.cos(phase) * count.rsqrt(), torch.sin(phase) * count.rsqrt()


def dft_basis(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(cos_h, sin_h, cos_w, sin_w) for the last two axes of ``x``: built once, used by both transforms."""
    return (*dft_matrices(x.shape[-2], x), *dft_matrices(x.shape[-1], x))


def dft2(x: Tensor, basis: tuple[Tensor, ...] | None = None) -> tuple[Tensor, Tensor]:
    """Orthonormal 2-D DFT over the last two axes of a real tensor: (real, imaginary), equal to
    ``torch.fft.fft2(x, norm="ortho")``."""
    ch, sh, cw, sw = basis if basis is not None else dft_basis(x)
    yr, yi = x @ cw, -(x @ sw)  # along W: x (cos - i sin)
    return ch @ yr + sh @ yi, ch @ yi - sh @ yr  # along H: (cos - i sin) y


def idft2_real(fr: Tensor, fi: Tensor, basis: tuple[Tensor, ...] | None = None) -> Tensor:
    """The real part of the orthonormal inverse 2-D DFT of (fr + i fi): the inverse of :func:`dft2` for the
    spectrum of a real image, and a real image for any spectrum the layer makes."""
    ch, sh, cw, sw = basis if basis is not None else dft_basis(fr)
    ur, ui = ch @ fr - sh @ fi, ch @ fi + sh @ fr  # along H: (cos + i sin) f
    return ur @ cw - ui @ sw  # real part along W


class FourierUnit(nn.Module):
    """A 1x1 convolution and ReLU on the (real, imaginary) spectrum: every output pixel sees the whole map."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            basis = dft_basis(x)
            fr, fi = dft2(x.float(), basis)
            g = torch.relu(self.conv(torch.cat([fr, fi], dim=1)))
            out = idft2_real(*g.chunk(2, dim=1), basis)
        return out.to(x.dtype)


class SpectralTransform(nn.Module):
    """LaMa's global branch: halve the channels, add a Fourier unit's output, restore the channels."""

    def __init__(self, channels: int):
        super().__init__()
        half = max(channels // 2, 1)
        self.reduce = nn.Sequential(nn.Conv2d(channels, half, 1, bias=False), nn.ReLU())
        self.fourier = FourierUnit(half)
        self.expand = nn.Conv2d(half, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h = self.reduce(x)
        return self.expand(h + self.fourier(h))


class FFC(nn.Module):
    """One fast Fourier convolution on a (local, global) channel pair, each output normalised."""

    def __init__(self, local: int, glob: int, make_norm):
        super().__init__()
        self.l2l = nn.Conv2d(local, local, 3, padding=1, bias=False)
        self.g2l = nn.Conv2d(glob, local, 3, padding=1, bias=False)
        self.l2g = nn.Conv2d(local, glob, 3, padding=1, bias=False)
        self.g2g = SpectralTransform(glob)
        self.norm_l = make_norm(local) or nn.Identity()
        self.norm_g = make_norm(glob) or nn.Identity()

    def forward(self, xl: Tensor, xg: Tensor) -> tuple[Tensor, Tensor]:
        return self.norm_l(self.l2l(xl) + self.g2l(xg)), self.norm_g(self.l2g(xl) + self.g2g(xg))


class FourierBlocks(nn.Module):
    """LaMa's residual blocks: two FFC layers each, 3/4 of the channels global (its ``ratio_g``)."""

    GLOBAL_SHARE = 0.75

    def __init__(self, channels: int, blocks: int, make_norm):
        super().__init__()
        self.glob = max(1, min(channels - 1, round(channels * self.GLOBAL_SHARE)))
        self.local = channels - self.glob
        self.blocks = nn.ModuleList(
            nn.ModuleList([FFC(self.local, self.glob, make_norm), FFC(self.local, self.glob, make_norm)])
            for _ in range(blocks)
        )

    def forward(self, x: Tensor) -> Tensor:
        xl, xg = x.split([self.local, self.glob], dim=1)
        for first, second in self.blocks:
            hl, hg = first(xl, xg)
            hl, hg = second(torch.relu(hl), torch.relu(hg))
            xl, xg = torch.relu(xl + hl), torch.relu(xg + hg)
        return torch.cat([xl, xg], dim=1)
