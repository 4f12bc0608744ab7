"""Sketch extraction from photos: the edges2shoes-like line drawings training conditions are made of.

Adaptive-threshold Canny or thinned XDoG lines (or a random one of the two per image), cleaned of specks and,
for training, randomly thickened and broken so the model tolerates hand-drawn variation. Sketches follow the
convention of :mod:`.strokes` (ink -1, paper +1).

All randomness comes from a ``torch.Generator`` argument that lives on the input's device, so that a seeded
run is reproducible and does not disturb (or depend on) the global RNG.
"""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor

from .strokes import set_width, stroke_mask, strokes_to_sketch, thin_strokes, to_unit_grey

__all__ = ["METHODS", "extract_sketch"]

METHODS: tuple[str, ...] = ("canny", "xdog", "mixed")

# Stroke widths (in px at 256) that augmentation picks from, and how likely each is. Real edges2shoes
# edges are ~1 px, hand-drawn strokes are usually thicker, so thicker widths still get a fair share.
_AUG_WIDTHS: tuple[int, ...] = (1, 2, 3)
_AUG_WIDTH_PROBS: tuple[float, ...] = (0.4, 0.35, 0.25)


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _scale_of(height: int, width: int) -> float:
    """Resolution relative to 256 px, the size the stroke widths and blur radii below are tuned at."""
    return max(height, width) / 256.0


def _odd_kernel(sigma: float) -> int:
    """Smallest odd Gaussian kernel covering about 3 sigma on each side."""
    return 2 * max(1, math.ceil(3.0 * sigma)) + 1


def _disk_kernel(radius: int, device: torch.device) -> Tensor:
    r = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius + 0.5).float()


def _remove_specks(strokes: Tensor, min_pixels: int = 3) -> Tensor:
    """Drop stroke pixels with fewer than ``min_pixels`` ink pixels (themselves included) in their 5x5 window.

    HED edges have no isolated dots, while Canny/XDoG leave some on texture; a box count is a cheap
    stand-in for a connected-component size filter that stays batched.
    """
    count = F.avg_pool2d(strokes, 5, stride=1, padding=2, count_include_pad=True) * 25.0
    return strokes * (count > min_pixels - 0.5).float()


def _row_quantile(values: Tensor, q: float) -> Tensor:
    """Per-row quantile of a ``(N, M)`` tensor (nearest rank).

    ``torch.quantile`` refuses inputs over 16M elements, which a batch of large photos reaches;
    ``kthvalue`` has no such limit.
    """
    k = min(values.shape[1], max(1, round(q * (values.shape[1] - 1)) + 1))
    return values.kthvalue(k, dim=1).values


def _resolve_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """The caller's generator, or a fixed-seed one so a call without a generator is still reproducible."""
    if generator is not None:
        return generator
    fallback = torch.Generator(device=device)
    fallback.manual_seed(0)
    return fallback


def _rand(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, device=device)


# --------------------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------------------


def _canny_strokes(grey: Tensor, threshold_scale: Tensor) -> Tensor:
    """Canny edges of a pre-smoothed grey image with thresholds relative to its own gradient statistics.

    kornia's thresholds are scalars for the whole batch, but its magnitude is linear in the input, so
    dividing each image by its own reference gradient makes fixed thresholds act per image: a low-contrast
    photo gets edges as readily as a punchy one.
    """
    grad = kornia.filters.spatial_gradient(grey, normalized=False)
    magnitude = grad.pow(2).sum(dim=2).sqrt().flatten(1)
    strong = _row_quantile(magnitude, 0.99)
    typical = magnitude.median(dim=1).values
    # The 99th percentile follows the main contours; the median floor keeps busy textures from all
    # passing, and the absolute floor (a ~3% grey step after blur) stops a flat photo's noise from
    # being stretched into strokes. 0.4 was tuned against edges2shoes HED maps: it keeps ~90% of their
    # edges while drawing only ~1.4x their ink (lower fractions add stitching and texture HED omits).
    high = torch.maximum(torch.maximum(0.4 * strong, 4.0 * typical), torch.full_like(strong, 0.08))
    high = high * threshold_scale
    scaled = grey / high.view(-1, 1, 1, 1)
    # kernel_size=1 skips kornia's own blur: the caller has already smoothed, and the statistics above
    # must describe the same image that canny sees.
    _, edges = kornia.filters.canny(scaled, low_threshold=0.4, high_threshold=1.0, kernel_size=1, hysteresis=False)
    return _hysteresis(strong=(edges > 0.75).float(), weak=(edges > 0).float())


def _hysteresis(strong: Tensor, weak: Tensor, steps_per_check: int = 8) -> Tensor:
    """Keep weak edge pixels 8-connected to a strong one.

    Same result as kornia's hysteresis, but a masked 3x3 max-pool per step is several times cheaper than
    its 8-kernel convolution, and checking for convergence only every few steps saves most of the
    device syncs of a loop that may run a hundred steps along long contours.
    """
    while True:
        previous = strong
        for _ in range(steps_per_check):
            strong = F.max_pool2d(strong, 3, stride=1, padding=1) * weak
        if torch.equal(strong, previous):
            return strong


def _xdog_strokes(grey: Tensor, sigma: Tensor, p: Tensor, eps: Tensor, phi: Tensor) -> Tensor:
    """eXtended Difference of Gaussians (Winnemöller et al. 2012), soft-thresholded then binarised.

    ``sigma``, ``p``, ``eps`` and ``phi`` are per-image ``(N,)`` tensors so jitter stays batched.

    Two departures from the paper make it draw outlines rather than a stylised rendering: the flat
    level is a constant 1 instead of the blurred intensity, so dark regions are not filled black, and
    the DoG is divided by the image's own strong-edge response, so ``p`` and ``eps`` mean the same
    thing on a beige-on-white wallet as on a black boot.
    """
    k = 1.6
    sig1 = sigma.view(-1, 1).expand(-1, 2)
    ks = _odd_kernel(float(sigma.max()) * k)
    g1 = kornia.filters.gaussian_blur2d(grey, ks, sig1)
    g2 = kornia.filters.gaussian_blur2d(grey, ks, sig1 * k)
    dog = g1 - g2  # negative on the dark side of an edge, ~0 on flat areas
    strong = _row_quantile(dog.abs().flatten(1), 0.995)
    # The absolute floor (a ~5% grey step) keeps a flat photo's noise from being stretched into strokes.
    ref = strong.clamp_min(0.005).view(-1, 1, 1, 1)
    d = 1.0 + p.view(-1, 1, 1, 1) * dog / ref
    eps4 = eps.view(-1, 1, 1, 1)
    soft = torch.where(d >= eps4, torch.ones_like(d), 1.0 + torch.tanh(phi.view(-1, 1, 1, 1) * (d - eps4)))
    return (soft < 0.5).float()


def _augment_strokes(strokes: Tensor, generator: torch.Generator, scale: float) -> Tensor:
    """Random stroke width and random gaps, so the model tolerates hand-drawn variation."""
    n, _, h, w = strokes.shape
    device = strokes.device

    # Width: pick per image from the widths at 256, scaled up for larger images but never scaled down,
    # so that small training crops still see the full 1-3 px variation.
    u = _rand((n,), generator, device)
    cum = torch.tensor(_AUG_WIDTH_PROBS, device=device).cumsum(0)
    choice = (u[:, None] > cum[None, :-1]).sum(dim=1)
    widened = strokes
    out = strokes.clone()
    for idx, base in enumerate(_AUG_WIDTHS):
        width = max(base, round(base * scale))
        if width > 1:
            widened = set_width(strokes, width)
        pick = (choice == idx).view(-1, 1, 1, 1)
        out = torch.where(pick, widened, out)

    # Dropout: erase small disks at random seed points, which cuts strokes into segments the way a
    # hasty or light pen stroke does. About a third of images keep every stroke.
    density = _rand((n, 1, 1, 1), generator, device) * 0.003
    density = density * (_rand((n, 1, 1, 1), generator, device) < 0.7).float()
    seeds = (_rand((n, 1, h, w), generator, device) < density).float()
    radius = max(1, round(2.5 * scale))
    holes = kornia.morphology.dilation(seeds, _disk_kernel(radius, device))
    return out * (1.0 - holes)


def extract_sketch(
    photo: Tensor,
    generator: torch.Generator | None = None,
    method: str = "mixed",
    augment: bool = True,
) -> Tensor:
    """Extract an edges2shoes-like line drawing from a batch of photos.

    Args:
        photo: ``(N, 3, H, W)`` (or ``(N, 1, H, W)``) in ``[-1, 1]``; work stays on its device.
        generator: source of all randomness, on ``photo``'s device. ``None`` uses a fixed seed, so the
            result is reproducible; training should pass its own generator to get fresh variation.
        method: ``"canny"`` (adaptive-threshold Canny), ``"xdog"`` (thinned XDoG lines) or ``"mixed"``
            (a random one of the two per image).
        augment: add random threshold jitter, stroke width (1-3 px at 256) and stroke dropout. Without it
            the result is deterministic (for ``"mixed"``, given the generator's state).

    Returns:
        ``(N, 1, H, W)`` sketch with values exactly -1 (stroke) and +1 (paper).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n, _, h, w = photo.shape
    device = photo.device
    scale = _scale_of(h, w)
    needs_rng = augment or method == "mixed"
    gen = _resolve_generator(generator, device) if needs_rng else None

    grey = to_unit_grey(photo)
    # Light smoothing removes fabric/leather texture and JPEG noise before either detector sees it.
    smooth_sigma = max(0.6, 1.0 * scale)
    grey = kornia.filters.gaussian_blur2d(grey, _odd_kernel(smooth_sigma), (smooth_sigma, smooth_sigma))

    if method == "mixed":
        assert gen is not None
        use_canny = _rand((n,), gen, device) < 0.5
    else:
        use_canny = torch.full((n,), method == "canny", device=device, dtype=torch.bool)

    # Draw all jitter up front, for the whole batch, so the random stream does not depend on which
    # images went to which detector.
    if augment:
        assert gen is not None
        canny_scale = torch.exp((_rand((n,), gen, device) * 2.0 - 1.0) * 0.4)
        xdog_sigma = (0.7 + 0.5 * _rand((n,), gen, device)) * scale
        xdog_p = 3.5 + 3.5 * _rand((n,), gen, device)
        xdog_eps = 0.0 + 0.2 * _rand((n,), gen, device)
        xdog_phi = 5.0 + 15.0 * _rand((n,), gen, device)
    else:
        canny_scale = torch.ones(n, device=device)
        xdog_sigma = torch.full((n,), 0.9 * scale, device=device)
        xdog_p = torch.full((n,), 5.0, device=device)
        xdog_eps = torch.full((n,), 0.1, device=device)
        xdog_phi = torch.full((n,), 10.0, device=device)
    xdog_sigma = xdog_sigma.clamp_min(0.6)

    strokes = torch.zeros(n, 1, h, w, device=device)
    canny_idx = use_canny.nonzero().flatten()
    xdog_idx = (~use_canny).nonzero().flatten()
    # Run each detector only on its own images rather than computing both for everyone.
    if canny_idx.numel() > 0:
        strokes[canny_idx] = _canny_strokes(grey[canny_idx], canny_scale[canny_idx])
    if xdog_idx.numel() > 0:
        raw = _xdog_strokes(
            grey[xdog_idx], xdog_sigma[xdog_idx], xdog_p[xdog_idx], xdog_eps[xdog_idx], xdog_phi[xdog_idx]
        )
        # XDoG lines are a few pixels wide on the dark side of an edge; thinning brings them to the
        # 1-px look of Canny and of the HED edges in edges2shoes.
        thin = stroke_mask(thin_strokes(strokes_to_sketch(raw), max_iters=max(3, round(3 * scale))))
        strokes[xdog_idx] = thin
    strokes = _remove_specks(strokes)

    if augment:
        assert gen is not None
        strokes = _augment_strokes(strokes, gen, scale)
    return strokes_to_sketch(strokes).to(photo.dtype if photo.is_floating_point() else torch.float32)
