"""Random blur kernels of the ``restore`` degradations, and filtering each image with its own kernel.

Part of the Real-ESRGAN-style pipeline in :mod:`.degradations` (its docstring describes the whole
chain): the mixed blur kernels of a stage (iso/aniso Gaussian, generalised Gaussian, plateau, or a 2-D
sinc), the final pass's sinc kernels, and :func:`filter_per_image`, which convolves every image of a
batch with its own kernel.  Kernels of different sizes are built at the stage's largest size and
restricted to their own support, so a batch stays one tensor.

It also holds the per-image random draws (``_uniform``, ``_bernoulli``, ``_choice``) that
:mod:`.noise` and :mod:`.degradations` share: every draw comes from the ``torch.Generator`` passed in,
on its device, and the order of the draws is part of the behaviour (the same seed gives the same
pixels).  This module imports neither of the other two.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "KERNEL_TYPES",
    "BlurStage",
    "gaussian_kernels",
    "generalized_gaussian_kernels",
    "plateau_kernels",
    "sinc_kernels",
    "random_blur_kernels",
    "random_sinc_kernels",
    "filter_per_image",
]

# Order matters: ``DegradationStage.kernel_probs`` is indexed by it.
KERNEL_TYPES: tuple[str, ...] = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
)

# Real-ESRGAN picks a 2-D sinc kernel's cut-off from a wider band when the
# kernel is large, because a large support can represent a lower cut-off.
_SINC_LARGE_KERNEL = 13


class BlurStage(Protocol):
    """The fields of a stage that :func:`random_blur_kernels` reads; ``DegradationStage`` has them all.

    A protocol rather than the dataclass itself, so that this module never imports :mod:`.degradations`.
    """

    @property
    def kernel_probs(self) -> tuple[float, ...]: ...
    @property
    def kernel_sizes(self) -> tuple[int, int]: ...
    @property
    def blur_sigma(self) -> tuple[float, float]: ...
    @property
    def betag_range(self) -> tuple[float, float]: ...
    @property
    def betap_range(self) -> tuple[float, float]: ...
    @property
    def sinc_prob(self) -> float: ...


# --------------------------------------------------------------------------- sampling

# Per-image draws; :mod:`.noise` and :mod:`.degradations` use them too, and both import this module.


def _uniform(n: int, lo_hi: tuple[float, float], generator: torch.Generator) -> Tensor:
    lo, hi = lo_hi
    return lo + (hi - lo) * torch.rand(n, generator=generator, device=generator.device)


def _bernoulli(n: int, p: float, generator: torch.Generator) -> Tensor:
    return torch.rand(n, generator=generator, device=generator.device) < p


def _choice(n: int, probs: tuple[float, ...], generator: torch.Generator) -> Tensor:
    """Index per image drawn from ``probs``; inverse-CDF keeps it on the generator's device."""
    cdf = torch.tensor(probs, device=generator.device).cumsum(0)
    u = torch.rand(n, generator=generator, device=generator.device) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=len(probs) - 1)


def _odd_sizes(n: int, lo_hi: tuple[int, int], generator: torch.Generator) -> Tensor:
    lo, hi = lo_hi
    steps = torch.randint(0, (hi - lo) // 2 + 1, (n,), generator=generator, device=generator.device)
    return lo + 2 * steps


def _split_range_beta(n: int, lo_hi: tuple[float, float], generator: torch.Generator) -> Tensor:
    # Real-ESRGAN draws shape exponents below and above 1 equally often, so a
    # wide upper range does not crowd out the heavy-tailed (< 1) shapes.
    lo, hi = lo_hi
    below = _uniform(n, (lo, min(1.0, hi)), generator)
    above = _uniform(n, (max(1.0, lo), hi), generator)
    return torch.where(_bernoulli(n, 0.5, generator), below, above)


# --------------------------------------------------------------------------- kernels


def _centered_grid(size: int, device: torch.device) -> tuple[Tensor, Tensor]:
    r = torch.arange(size, device=device, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    return xx, yy


def _mahalanobis(size: int, sigma_x: Tensor, sigma_y: Tensor, theta: Tensor) -> Tensor:
    """Squared distance under the rotated diagonal covariance, shape (N, size, size)."""
    xx, yy = _centered_grid(size, sigma_x.device)
    c = torch.cos(theta)[:, None, None]
    s = torch.sin(theta)[:, None, None]
    u = c * xx + s * yy
    v = -s * xx + c * yy
    return (u / sigma_x[:, None, None]) ** 2 + (v / sigma_y[:, None, None]) ** 2


def _normalise(kernels: Tensor) -> Tensor:
    return kernels / kernels.sum(dim=(-2, -1), keepdim=True)


def gaussian_kernels(size: int, sigma_x: Tensor, sigma_y: Tensor, theta: Tensor) -> Tensor:
    """Anisotropic Gaussians (isotropic when ``sigma_x == sigma_y``), (N, size, size), each summing to 1."""
    return _normalise(torch.exp(-0.5 * _mahalanobis(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernels(
    size: int, sigma_x: Tensor, sigma_y: Tensor, theta: Tensor, beta: Tensor
) -> Tensor:
    """Generalised Gaussians ``exp(-0.5 * q**beta)``: beta < 1 heavy tails, beta > 1 flat top."""
    q = _mahalanobis(size, sigma_x, sigma_y, theta)
    return _normalise(torch.exp(-0.5 * q.pow(beta[:, None, None])))


def plateau_kernels(size: int, sigma_x: Tensor, sigma_y: Tensor, theta: Tensor, beta: Tensor) -> Tensor:
    """Plateau-shaped kernels ``1 / (1 + q**beta)``: flat centre with slowly decaying tails."""
    q = _mahalanobis(size, sigma_x, sigma_y, theta)
    return _normalise(1.0 / (1.0 + q.pow(beta[:, None, None])))


def sinc_kernels(size: int, omega_c: Tensor) -> Tensor:
    """Circular low-pass (2-D sinc / Airy) kernels with cut-off ``omega_c`` in radians per pixel.

    The ideal low-pass filter's sharp spectral edge is what creates ringing
    and overshoot around edges.
    """
    xx, yy = _centered_grid(size, omega_c.device)
    r = torch.sqrt(xx**2 + yy**2)[None]
    w = omega_c[:, None, None]
    wr = w * r
    # At r = 0 the J1(wr)/r ratio has the finite limit w/2; mask to avoid 0/0.
    safe_r = torch.where(r > 0, r, torch.ones_like(r))
    kernel = torch.where(
        r > 0,
        w * torch.special.bessel_j1(wr) / (2 * math.pi * safe_r),
        w**2 / (4 * math.pi),
    )
    return _normalise(kernel)


def _support_mask(full: int, sizes: Tensor) -> Tensor:
    """(N, full, full) mask of each image's centred ``sizes[i]`` x ``sizes[i]`` support."""
    xx, yy = _centered_grid(full, sizes.device)
    half = ((sizes - 1) / 2)[:, None, None]
    return (xx.abs() <= half) & (yy.abs() <= half)


def _restrict(kernels: Tensor, sizes: Tensor) -> Tensor:
    # Zeroing outside the support and renormalising equals building the kernel
    # at its own size and zero-padding it, but keeps the whole batch in one tensor.
    return _normalise(kernels * _support_mask(kernels.shape[-1], sizes))


def random_sinc_kernels(
    n: int,
    generator: torch.Generator,
    sizes: tuple[int, int],
    omega: tuple[float, float] | None = None,
) -> Tensor:
    """Per-image sinc kernels of random odd size, zero-padded to (n, sizes[1], sizes[1]).

    With ``omega=None`` the cut-off follows Real-ESRGAN's first/second-stage
    rule: [pi/3, pi] for kernels under 13 taps, [pi/5, pi] for larger ones.
    """
    k = _odd_sizes(n, sizes, generator)
    if omega is None:
        small = _uniform(n, (math.pi / 3, math.pi), generator)
        large = _uniform(n, (math.pi / 5, math.pi), generator)
        w = torch.where(k < _SINC_LARGE_KERNEL, small, large)
    else:
        w = _uniform(n, omega, generator)
    return _restrict(sinc_kernels(sizes[1], w), k)


def random_blur_kernels(n: int, generator: torch.Generator, stage: BlurStage) -> Tensor:
    """Real-ESRGAN's random mixed blur kernels, one per image, shape (n, K, K) with K the stage's largest size.

    Each image gets a random family (iso/aniso Gaussian, generalised Gaussian,
    plateau), a random odd size and random sigmas/rotation/shape, or with
    ``stage.sinc_prob`` a sinc kernel instead.  Sizes below K are zero-padded.
    """
    full = stage.kernel_sizes[1]
    kind = _choice(n, stage.kernel_probs, generator)
    sizes = _odd_sizes(n, stage.kernel_sizes, generator)
    sigma_x = _uniform(n, stage.blur_sigma, generator)
    sigma_y = _uniform(n, stage.blur_sigma, generator)
    theta = _uniform(n, (-math.pi, math.pi), generator)
    beta_g = _split_range_beta(n, stage.betag_range, generator)
    beta_p = _split_range_beta(n, stage.betap_range, generator)

    # KERNEL_TYPES alternates iso/aniso, so parity says which, and index // 2
    # the family: 0 Gaussian, 1 generalised Gaussian, 2 plateau.
    isotropic = kind % 2 == 0
    family = kind // 2
    sigma_y = torch.where(isotropic, sigma_x, sigma_y)
    theta = torch.where(isotropic, torch.zeros_like(theta), theta)
    # A plain Gaussian is the generalised one with beta = 1, so one formula
    # covers two families and the batch never has to be split by type.
    beta = torch.where(family == 0, torch.ones_like(beta_g), torch.where(family == 1, beta_g, beta_p))
    q = _mahalanobis(full, sigma_x, sigma_y, theta).pow(beta[:, None, None])
    kernels = torch.where((family == 2)[:, None, None], 1.0 / (1.0 + q), torch.exp(-0.5 * q))
    kernels = _restrict(kernels, sizes)

    use_sinc = _bernoulli(n, stage.sinc_prob, generator)
    sinc = random_sinc_kernels(n, generator, stage.kernel_sizes)
    return torch.where(use_sinc[:, None, None], sinc, kernels)


def _identity_kernels(n: int, size: int, device: torch.device) -> Tensor:
    k = torch.zeros(n, size, size, device=device)
    k[:, size // 2, size // 2] = 1.0
    return k


def _radii(kernels: Tensor) -> Tensor:
    """Per-kernel half-width of the non-zero support (0 for a single centre tap)."""
    size = kernels.shape[-1]
    r = torch.arange(size, device=kernels.device) - size // 2
    dist = torch.maximum(r[:, None].abs(), r[None, :].abs())
    return torch.where(kernels != 0, dist, torch.zeros_like(dist)).flatten(1).amax(dim=1)


def _grouped_filter(x: Tensor, kernels: Tensor) -> Tensor:
    n, c, h, w = x.shape
    pad = kernels.shape[-1] // 2
    # Reflect padding needs the pad to be smaller than the image; tiny images fall back to replicate.
    mode = "reflect" if pad < h and pad < w else "replicate"
    padded = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode=mode)
    # conv2d correlates rather than convolves; no flip is needed because every
    # kernel family here is point-symmetric (k(-p) == k(p)).
    weight = kernels.to(x.dtype).repeat_interleave(c, dim=0).unsqueeze(1)
    return F.conv2d(padded, weight, groups=n * c).reshape(n, c, h, w)


def filter_per_image(x: Tensor, kernels: Tensor) -> Tensor:
    """Convolve image i of ``x`` (N, C, H, W) with ``kernels[i]`` (N, K, K), reflect-padded, size kept.

    The batch is folded into the channel axis so that one grouped convolution
    applies many different kernels at once.  Images are grouped by the true
    (unpadded) size of their kernel, because the cost grows with the kernel
    area and sizes are spread over 7..21; identity kernels cost nothing.
    """
    size = kernels.shape[-1]
    centre = size // 2
    radii = _radii(kernels)
    out = x
    for r in sorted(set(radii.tolist())):
        if r == 0:
            continue  # a normalised single tap is the identity
        idx = (radii == r).nonzero().squeeze(1)
        sub = kernels[idx, centre - r : centre + r + 1, centre - r : centre + r + 1]
        out = out.index_copy(0, idx, _grouped_filter(x[idx], sub))
    return out
