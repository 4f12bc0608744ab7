"""Noise of the ``restore`` degradations: Real-ESRGAN's Gaussian/Poisson noise and a camera-noise model.

Part of the Real-ESRGAN-style pipeline in :mod:`.degradations` (its docstring describes the whole
chain and why the camera model exists).  :func:`_add_noise` is a stage's Gaussian or Poisson noise,
per image, colour or grey; :func:`camera_noise` is the signal-dependent noise of a phone photo (shot and
read noise in linear light, luma grain, chroma blotches), with :func:`_camera_params` drawing its
parameters per image.  All randomness comes from the ``torch.Generator`` passed in.  This module
imports :mod:`.kernels` (random draws, Gaussian kernels for the grain) and never :mod:`.degradations`.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from kornia.color import linear_rgb_to_rgb, rgb_to_grayscale, rgb_to_linear_rgb
from torch import Tensor

from .kernels import _bernoulli, _uniform, filter_per_image, gaussian_kernels

__all__ = ["NoiseStage", "camera_noise"]


class NoiseStage(Protocol):
    """The fields of a stage that :func:`_add_noise` and :func:`_camera_params` read; ``DegradationStage`` has
    them all (a protocol, so that this module never imports :mod:`.degradations`)."""

    @property
    def gaussian_noise_prob(self) -> float: ...
    @property
    def noise_sigma(self) -> tuple[float, float]: ...
    @property
    def poisson_scale(self) -> tuple[float, float]: ...
    @property
    def gray_noise_prob(self) -> float: ...
    @property
    def camera_noise_prob(self) -> float: ...
    @property
    def camera_shot(self) -> tuple[float, float]: ...
    @property
    def camera_chroma(self) -> tuple[float, float]: ...
    @property
    def camera_grain(self) -> tuple[float, float]: ...
    @property
    def camera_chroma_grain(self) -> tuple[float, float]: ...


# Poisson noise is shot noise of an 8-bit sensor: 256 photon levels per unit intensity.
_POISSON_LEVELS = 256.0
_POISSON_EXACT_BELOW = 20.0


def _shot_noise(rate: Tensor, generator: torch.Generator) -> Tensor:
    """Zero-mean Poisson noise for the given photon counts.

    ``torch.poisson`` costs ~20x a normal draw on CPU, so it is only used for
    dark pixels; above ``_POISSON_EXACT_BELOW`` photons the Poisson law is
    already indistinguishable from a normal with variance equal to its mean.
    """
    noise = torch.randn(rate.shape, generator=generator, device=rate.device, dtype=rate.dtype) * rate.sqrt()
    dark = rate < _POISSON_EXACT_BELOW
    if dark.any():
        low = rate[dark]
        noise[dark] = torch.poisson(low, generator=generator) - low
    return noise


def _add_noise(x: Tensor, stage: NoiseStage, generator: torch.Generator) -> Tensor:
    """Gaussian or Poisson noise per image, colour or grey per image; result clipped to [0, 1]."""
    n = x.shape[0]
    gaussian = _bernoulli(n, stage.gaussian_noise_prob, generator)
    gray = _bernoulli(n, stage.gray_noise_prob, generator)[:, None, None, None]
    sigma = _uniform(n, stage.noise_sigma, generator) / 255.0
    scale = _uniform(n, stage.poisson_scale, generator)

    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    # Grey noise is one field shared by the three channels.
    noise = torch.where(gray, noise[:, :1].expand_as(noise), noise) * sigma[:, None, None, None]

    poisson_idx = (~gaussian).nonzero().squeeze(1)
    if poisson_idx.numel() > 0:
        src = x[poisson_idx].clamp(0, 1)
        g = gray[poisson_idx]
        # Grey shot noise is drawn on luminance; replicating it to three
        # channels and keeping only channel 0 gives one shared field per image.
        src = torch.where(g, rgb_to_grayscale(src).expand_as(src), src)
        shot = _shot_noise(src * _POISSON_LEVELS, generator) / _POISSON_LEVELS
        shot = torch.where(g, shot[:, :1].expand_as(shot), shot) * scale[poisson_idx, None, None, None]
        noise = noise.index_copy(0, poisson_idx, shot)
    return (x + noise).clamp(0, 1)


# Brooks et al. 2019, "Unprocessing Images for Learned Raw Denoising": across real cameras,
# log(read variance) = 2.18 * log(shot gain) + 1.2 with a residual of standard deviation 0.26.
_READ_SLOPE, _READ_OFFSET, _READ_SPREAD = 2.18, 1.2, 0.26


def _unit_grain(field: Tensor, sigma: Tensor) -> Tensor:
    """``field`` (N, C, H, W) of unit normals blurred by a Gaussian of per-image ``sigma`` pixels, rescaled to
    unit variance again, so the grain size changes the noise's texture and not its strength."""
    size = 2 * math.ceil(3 * float(sigma.max())) + 1
    kernels = gaussian_kernels(size, sigma, sigma, torch.zeros_like(sigma))
    # A sum of i.i.d. unit normals weighted by k has variance sum(k**2).
    gain = kernels.pow(2).sum(dim=(-2, -1)).rsqrt()[:, None, None, None]
    return filter_per_image(field, kernels) * gain


def camera_noise(
    x: Tensor,
    shot: Tensor,
    read: Tensor,
    chroma: Tensor,
    grain: Tensor,
    chroma_grain: Tensor,
    generator: torch.Generator,
) -> Tensor:
    """A camera's noise on ``x`` (N, 3, H, W) in [0, 1] sRGB; every parameter is one value per image.

    Drawn in linear light with variance ``shot * signal + read`` per channel (shot noise grows with the
    light, read noise is the floor that shows in the shadows), then taken back through the sRGB curve, so the
    shadows get the most noise in 8-bit levels as in a real photo.  The field is a luma part (one field in
    all three channels, blurred to ``grain`` px: the 1-2 px grain demosaicing leaves) plus ``chroma`` times a
    chroma part (three fields with their channel mean removed, blurred to ``chroma_grain`` px: the colour
    blotches left once a camera has smoothed its chroma noise).  Both parts have unit variance before the
    signal-dependent scaling.  Result clipped to [0, 1] in linear light, like a sensor's.
    """
    n, c, h, w = x.shape
    lin = rgb_to_linear_rgb(x.clamp(0, 1))
    luma = torch.randn((n, 1, h, w), generator=generator, device=x.device, dtype=x.dtype)
    colour = torch.randn((n, c, h, w), generator=generator, device=x.device, dtype=x.dtype)
    luma = _unit_grain(luma, grain)
    colour = _unit_grain(colour, chroma_grain)
    # Removing the channel mean leaves (c - 1) / c of the variance in each channel.
    colour = (colour - colour.mean(dim=1, keepdim=True)) * math.sqrt(c / (c - 1))
    field = luma + chroma[:, None, None, None] * colour
    std = (shot[:, None, None, None] * lin + read[:, None, None, None]).sqrt()
    return linear_rgb_to_rgb((lin + std * field).clamp(0, 1))


def _camera_params(
    n: int, stage: NoiseStage, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Which images get camera noise, and its parameters (shot and read variance, chroma, grain sizes)."""
    use = _bernoulli(n, stage.camera_noise_prob, generator)
    lo, hi = stage.camera_shot
    log_shot = _uniform(n, (math.log(lo), math.log(hi)), generator)
    jitter = torch.randn(n, generator=generator, device=generator.device) * _READ_SPREAD
    read = torch.exp(_READ_SLOPE * log_shot + _READ_OFFSET + jitter)
    chroma = _uniform(n, stage.camera_chroma, generator)
    grain = _uniform(n, stage.camera_grain, generator)
    chroma_grain = _uniform(n, stage.camera_chroma_grain, generator)
    return use, log_shot.exp(), read, chroma, grain, chroma_grain
