"""Sketches for the sketch2photo task: extraction from photos, normalisation of user drawings, examples.

Every sketch here follows one convention: a ``(N, 1, H, W)`` float tensor in ``[-1, 1]`` with a white
background at ``+1`` and black strokes at ``-1``. Photos are ``(N, 3, H, W)`` in ``[-1, 1]``.

The real paired data (edges2shoes) has thin (about 1 px at 256) black HED edges on white. Sketches extracted
from photos and sketches drawn by people are both pushed towards that look, so that the generator sees the same
kind of input at training and at inference time.

All randomness comes from a ``torch.Generator`` argument that lives on the input's device, so that a seeded
run is reproducible and does not disturb (or depend on) the global RNG.
"""

from __future__ import annotations

import math

import kornia
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import Tensor

__all__ = [
    "METHODS",
    "draw_example_sketches",
    "extract_sketch",
    "is_blank_sketch",
    "normalize_user_sketch",
    "thin_strokes",
]

METHODS: tuple[str, ...] = ("canny", "xdog", "mixed")

# Stroke widths (in px at 256) that augmentation picks from, and how likely each is. Real edges2shoes
# edges are ~1 px, hand-drawn strokes are usually thicker, so thicker widths still get a fair share.
_AUG_WIDTHS: tuple[int, ...] = (1, 2, 3)
_AUG_WIDTH_PROBS: tuple[float, ...] = (0.4, 0.35, 0.25)

# A user image whose two Otsu classes differ by less than this (grey in [0, 1]) holds no drawing, only
# paper noise or compression artefacts, and is treated as blank.
_MIN_USER_CONTRAST = 0.15


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _to_unit_grey(image: Tensor) -> Tensor:
    """Map an ``(N, C, H, W)`` image in ``[-1, 1]`` with C in {1, 3, 4} to ``(N, 1, H, W)`` grey in ``[0, 1]``."""
    if image.ndim != 4:
        raise ValueError(f"expected a (N, C, H, W) tensor, got shape {tuple(image.shape)}")
    x = ((image.float() + 1.0) * 0.5).clamp(0.0, 1.0)
    channels = x.shape[1]
    if channels == 4:
        # A browser canvas may hand over RGBA with transparent background: transparent means paper (white).
        alpha = x[:, 3:4]
        x = x[:, :3] * alpha + (1.0 - alpha)
        channels = 3
    if channels == 3:
        return kornia.color.rgb_to_grayscale(x)
    if channels == 1:
        return x
    raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")


def _strokes_to_sketch(strokes: Tensor) -> Tensor:
    """Turn a stroke mask (1 = ink) into the sketch convention (ink -1, paper +1)."""
    return 1.0 - 2.0 * strokes.float()


def _stroke_mask(sketch: Tensor) -> Tensor:
    """Stroke mask (float 0/1) of a sketch; anything darker than mid-grey counts as ink."""
    return (sketch < 0).float()


def _scale_of(height: int, width: int) -> float:
    """Resolution relative to 256 px, the size the stroke widths and blur radii below are tuned at."""
    return max(height, width) / 256.0


def _odd_kernel(sigma: float) -> int:
    """Smallest odd Gaussian kernel covering about 3 sigma on each side."""
    return 2 * max(1, math.ceil(3.0 * sigma)) + 1


def _square_kernel(width: int, device: torch.device) -> Tensor:
    return torch.ones(width, width, device=device)


def _disk_kernel(radius: int, device: torch.device) -> Tensor:
    r = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius + 0.5).float()


def _set_width(strokes: Tensor, width: int) -> Tensor:
    """Widen 1-px strokes to ``width`` px with a ``width x width`` structuring element."""
    if width <= 1:
        return strokes
    return kornia.morphology.dilation(strokes, _square_kernel(width, strokes.device))


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
# Extraction from photos
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
            widened = _set_width(strokes, width)
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

    grey = _to_unit_grey(photo)
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
        thin = _stroke_mask(thin_strokes(_strokes_to_sketch(raw), max_iters=max(3, round(3 * scale))))
        strokes[xdog_idx] = thin
    strokes = _remove_specks(strokes)

    if augment:
        assert gen is not None
        strokes = _augment_strokes(strokes, gen, scale)
    return _strokes_to_sketch(strokes).to(photo.dtype if photo.is_floating_point() else torch.float32)


# --------------------------------------------------------------------------------------------------------------
# Thinning
# --------------------------------------------------------------------------------------------------------------


def _neighbours(fg: Tensor) -> list[Tensor]:
    """The 8 neighbours P2..P9 of each pixel (N, NE, E, SE, S, SW, W, NW), zero beyond the border."""
    h, w = fg.shape[-2:]
    p = F.pad(fg, (1, 1, 1, 1))
    return [
        p[..., 0:h, 1 : w + 1],  # P2 north
        p[..., 0:h, 2 : w + 2],  # P3 north-east
        p[..., 1 : h + 1, 2 : w + 2],  # P4 east
        p[..., 2 : h + 2, 2 : w + 2],  # P5 south-east
        p[..., 2 : h + 2, 1 : w + 1],  # P6 south
        p[..., 2 : h + 2, 0:w],  # P7 south-west
        p[..., 1 : h + 1, 0:w],  # P8 west
        p[..., 0:h, 0:w],  # P9 north-west
    ]


def thin_strokes(sketch: Tensor, max_iters: int = 10) -> Tensor:
    """Reduce thick strokes to ~1 px skeletons with Zhang-Suen thinning, batched and vectorised.

    Each iteration peels at most one pixel off each side of every stroke, so a stroke ``t`` px thick
    needs about ``t / 2`` iterations; it stops early once nothing changes. The Zhang-Suen conditions only
    delete pixels whose removal keeps their neighbourhood connected, so strokes are not broken.

    Args:
        sketch: ``(N, 1, H, W)`` in ``[-1, 1]``; pixels below 0 are strokes.
        max_iters: upper bound on the number of (two-pass) iterations.

    Returns:
        Binarised ``(N, 1, H, W)`` sketch, -1 on the skeleton and +1 elsewhere.
    """
    fg = _stroke_mask(sketch)
    for _ in range(max_iters):
        before = fg
        for first_pass in (True, False):
            nb = _neighbours(fg)
            stack = torch.stack(nb, dim=0)
            count = stack.sum(dim=0)
            # Number of background->stroke transitions walking once round the ring P2..P9, P2: exactly
            # one means the stroke pixels around form a single arc, so removing the centre disconnects
            # nothing.
            transitions = ((stack == 0) & (torch.roll(stack, shifts=-1, dims=0) == 1)).sum(dim=0)
            p2, p4, p6, p8 = nb[0], nb[2], nb[4], nb[6]
            if first_pass:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (fg > 0) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            fg = fg * (~remove).float()
        if torch.equal(fg, before):
            break
    return _strokes_to_sketch(fg).to(sketch.dtype if sketch.is_floating_point() else torch.float32)


# --------------------------------------------------------------------------------------------------------------
# User drawings
# --------------------------------------------------------------------------------------------------------------


def _otsu(grey: Tensor, bins: int = 256) -> tuple[float, float, float]:
    """Otsu threshold of one grey image in [0, 1], with the mean grey of the classes below and above it."""
    flat = grey.flatten().float()
    hist = torch.histc(flat, bins=bins, min=0.0, max=1.0)
    prob = hist / hist.sum().clamp_min(1.0)
    centres = (torch.arange(bins, device=grey.device, dtype=torch.float32) + 0.5) / bins
    w0 = prob.cumsum(0)
    mu = (prob * centres).cumsum(0)
    mu_total = mu[-1]
    # Between-class variance for every split point; the split maximising it separates ink from paper.
    between = (mu_total * w0 - mu) ** 2 / (w0 * (1.0 - w0)).clamp_min(1e-12)
    between[w0 >= 1.0 - 1e-9] = -1.0
    k = int(torch.argmax(between))
    threshold = float(centres[k]) + 0.5 / bins
    below = flat[flat < threshold]
    above = flat[flat >= threshold]
    mean_below = float(below.mean()) if below.numel() else threshold
    mean_above = float(above.mean()) if above.numel() else threshold
    return threshold, mean_below, mean_above


def _crop_square(ink: Tensor, top: int, bottom: int, left: int, right: int, margin_frac: float) -> Tensor:
    """Square crop (paper-padded) centred on the box rows [top, bottom], cols [left, right]."""
    _, _, h, w = ink.shape
    box = max(bottom - top + 1, right - left + 1)
    side = box + 2 * max(2, round(margin_frac * box))
    cy = (top + bottom + 1) / 2.0
    cx = (left + right + 1) / 2.0
    y0 = math.floor(cy - side / 2.0)
    x0 = math.floor(cx - side / 2.0)
    canvas = torch.zeros(1, 1, side, side, device=ink.device, dtype=ink.dtype)
    # Copy the part of the square that lies inside the image; the rest stays paper.
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(h, y0 + side), min(w, x0 + side)
    canvas[..., sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = ink[..., sy0:sy1, sx0:sx1]
    return canvas


def _normalize_one(image: Tensor, size: int | None, thin: bool) -> Tensor:
    _, _, h, w = image.shape
    out_side = size if size is not None else max(h, w)
    blank = torch.ones(1, 1, out_side, out_side, device=image.device)

    grey = _to_unit_grey(image)
    threshold, dark_mean, light_mean = _otsu(grey)
    if light_mean - dark_mean < _MIN_USER_CONTRAST:
        return blank
    dark_fraction = float((grey < threshold).float().mean())
    # The majority colour is paper: mostly-dark means light strokes on a dark background.
    if dark_fraction > 0.5:
        paper, pen = dark_mean, light_mean
    else:
        paper, pen = light_mean, dark_mean
    # Soft ink amount in [0, 1] (anti-aliased edges keep partial values) so that resizing can
    # average strokes instead of aliasing them away.
    ink = ((paper - grey) / (paper - pen)).clamp(0.0, 1.0)
    strokes = ink > 0.5
    if not bool(strokes.any()):
        return blank

    rows = strokes.any(dim=3).flatten().nonzero().flatten()
    cols = strokes.any(dim=2).flatten().nonzero().flatten()
    ink = _crop_square(ink, int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]), margin_frac=0.08)

    side = ink.shape[-1]
    if size is not None and size != side:
        factor = side / size
        ink = F.interpolate(ink, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        # A thin line shrunk by `factor` keeps only ~1/factor of its ink, so the cut drops with the
        # shrink factor; thinning below removes any extra width this lets in.
        cut = min(0.5, max(0.15, 0.5 / factor))
    else:
        cut = 0.5
    strokes_f = (ink > cut).float()
    if not thin:
        return _strokes_to_sketch(strokes_f)

    final = strokes_f.shape[-1]
    # Early stopping makes a generous bound cheap; it must cover strokes up to ~1/16 of the canvas.
    skeleton = _stroke_mask(thin_strokes(_strokes_to_sketch(strokes_f), max_iters=max(10, math.ceil(final / 32))))
    width = max(1, round(1.5 * final / 256))
    return _strokes_to_sketch(_set_width(skeleton, width))


def normalize_user_sketch(image: Tensor, size: int | None = None, thin: bool = True) -> Tensor:
    """Turn a person's drawing into a training-like sketch.

    Steps: grey, Otsu binarisation (light strokes on a dark majority are inverted), crop to the drawing's
    bounding box plus a margin, pad to a white square keeping the aspect ratio, resize to ``size``, then
    (with ``thin``) thin to a skeleton and re-widen to the training width (2 px at 256, 1 px at 128).

    Args:
        image: ``(N, C, H, W)`` or ``(C, H, W)`` in ``[-1, 1]`` with C in {1, 3, 4} (RGBA is composited
            on white). Any stroke colour and thickness.
        size: output side in px; ``None`` keeps the cropped square's own side, which then needs N == 1
            or equal crops.
        thin: thin and re-widen the strokes; without it the binarised strokes keep their drawn width.

    Returns:
        ``(N, 1, S, S)`` sketch with values -1/+1. A drawing with no strokes gives an all-white sketch
        (``S`` = ``size`` or the input's longer side); check with :func:`is_blank_sketch`.
    """
    if image.ndim == 3:
        image = image.unsqueeze(0)
    results = [_normalize_one(image[i : i + 1], size, thin) for i in range(image.shape[0])]
    shapes = {tuple(r.shape) for r in results}
    if len(shapes) > 1:
        raise ValueError("normalised sketches differ in size; pass `size` to batch several drawings")
    return torch.cat(results, dim=0)


def is_blank_sketch(sketch: Tensor) -> bool:
    """True when the sketch has no stroke pixel (nothing below 0); for a batch, when every sketch is blank."""
    return not bool((sketch < 0).any())


# --------------------------------------------------------------------------------------------------------------
# Example sketches drawn by code
# --------------------------------------------------------------------------------------------------------------

_Point = tuple[float, float]


def _bezier(p0: _Point, p1: _Point, p2: _Point, p3: _Point, steps: int = 48) -> list[_Point]:
    """Points along a cubic Bezier curve in unit coordinates."""
    pts = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        pts.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return pts


class _Pen:
    """Draws unit-square coordinates onto a supersampled PIL canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, side: int, width: int) -> None:
        self.draw, self.side, self.width = draw, side, width

    def _px(self, pts: list[_Point]) -> list[tuple[float, float]]:
        return [(x * self.side, y * self.side) for x, y in pts]

    def line(self, *pts: _Point) -> None:
        self.draw.line(self._px(list(pts)), fill=0, width=self.width, joint="curve")

    def curve(self, p0: _Point, p1: _Point, p2: _Point, p3: _Point) -> None:
        self.draw.line(self._px(_bezier(p0, p1, p2, p3)), fill=0, width=self.width, joint="curve")

    def path(self, pts: list[_Point]) -> None:
        self.draw.line(self._px(pts), fill=0, width=self.width, joint="curve")

    def ellipse(self, x0: float, y0: float, x1: float, y1: float) -> None:
        s = self.side
        self.draw.ellipse((x0 * s, y0 * s, x1 * s, y1 * s), outline=0, width=self.width)

    def rect(self, x0: float, y0: float, x1: float, y1: float, radius: float = 0.0) -> None:
        s = self.side
        self.draw.rounded_rectangle((x0 * s, y0 * s, x1 * s, y1 * s), radius=radius * s, outline=0, width=self.width)


def _draw_shoe(pen: _Pen) -> None:
    """A lace-up sneaker in side view, toe to the left as in edges2shoes."""
    # Sole: top edge, bottom edge, rounded toe and heel ends.
    pen.path(_bezier((0.10, 0.64), (0.40, 0.655), (0.70, 0.655), (0.93, 0.64)))
    pen.path(_bezier((0.12, 0.735), (0.40, 0.75), (0.70, 0.75), (0.91, 0.735)))
    pen.curve((0.10, 0.64), (0.04, 0.65), (0.06, 0.73), (0.12, 0.735))
    pen.curve((0.93, 0.64), (0.96, 0.66), (0.95, 0.73), (0.91, 0.735))
    # Upper: toe box, instep up to the throat, collar, heel counter down to the sole.
    pen.curve((0.10, 0.64), (0.07, 0.56), (0.16, 0.49), (0.30, 0.47))
    pen.curve((0.30, 0.47), (0.42, 0.45), (0.50, 0.38), (0.57, 0.31))
    pen.curve((0.57, 0.31), (0.64, 0.36), (0.78, 0.36), (0.88, 0.29))
    pen.curve((0.88, 0.29), (0.93, 0.40), (0.95, 0.55), (0.93, 0.64))
    # Tongue sticking out of the throat.
    pen.curve((0.55, 0.33), (0.54, 0.25), (0.60, 0.22), (0.64, 0.26))
    pen.curve((0.64, 0.26), (0.65, 0.30), (0.64, 0.33), (0.63, 0.345))
    # Toe cap and heel counter panels.
    pen.curve((0.27, 0.645), (0.28, 0.58), (0.25, 0.51), (0.21, 0.485))
    pen.curve((0.78, 0.655), (0.76, 0.56), (0.80, 0.45), (0.90, 0.40))
    # Eyestay: the lacing panel runs along the instep.
    pen.curve((0.33, 0.52), (0.43, 0.50), (0.52, 0.44), (0.61, 0.36))
    # Laces: crossings between the instep line and the eyestay, plus a bow at the top.
    for i in range(5):
        t0, t1 = 0.12 + 0.18 * i, 0.12 + 0.18 * i + 0.12
        a = _bezier((0.30, 0.47), (0.42, 0.45), (0.50, 0.38), (0.57, 0.31), steps=100)
        b = _bezier((0.33, 0.52), (0.43, 0.50), (0.52, 0.44), (0.61, 0.36), steps=100)
        pen.line(a[round(t0 * 100)], b[min(100, round(t1 * 100))])
        pen.line(b[round(t0 * 100)], a[min(100, round(t1 * 100))])
    pen.curve((0.57, 0.31), (0.52, 0.24), (0.47, 0.27), (0.52, 0.31))
    pen.curve((0.57, 0.31), (0.62, 0.22), (0.68, 0.24), (0.63, 0.30))
    # Stripe on the quarter, a familiar sneaker cue.
    pen.curve((0.44, 0.60), (0.55, 0.55), (0.65, 0.48), (0.72, 0.40))
    pen.curve((0.50, 0.62), (0.60, 0.57), (0.70, 0.50), (0.77, 0.42))


def _draw_boot(pen: _Pen) -> None:
    """A tall riding boot in side view, toe to the left."""
    # Shaft opening at the top.
    pen.ellipse(0.45, 0.05, 0.79, 0.12)
    # Front of the shaft down to the ankle, then over the instep to the toe.
    pen.curve((0.45, 0.085), (0.46, 0.30), (0.48, 0.45), (0.46, 0.58))
    pen.curve((0.46, 0.58), (0.36, 0.68), (0.18, 0.70), (0.12, 0.79))
    pen.curve((0.12, 0.79), (0.10, 0.82), (0.11, 0.85), (0.12, 0.86))
    # Back of the shaft, with a slight calf curve, down to the heel.
    pen.curve((0.79, 0.085), (0.82, 0.30), (0.77, 0.50), (0.81, 0.70))
    pen.line((0.81, 0.70), (0.83, 0.86))
    # Welt, outsole rising into the arch, and a raised heel block.
    pen.line((0.12, 0.86), (0.83, 0.86))
    pen.curve((0.12, 0.86), (0.12, 0.90), (0.13, 0.92), (0.16, 0.92))
    pen.line((0.16, 0.92), (0.52, 0.92))
    pen.curve((0.52, 0.92), (0.60, 0.92), (0.65, 0.89), (0.69, 0.86))
    pen.line((0.69, 0.86), (0.70, 0.94), (0.84, 0.94), (0.83, 0.86))
    # Toe cap stitching, a side zip with pull, and an ankle seam.
    pen.curve((0.29, 0.86), (0.29, 0.78), (0.25, 0.72), (0.20, 0.705))
    pen.line((0.70, 0.13), (0.72, 0.66))
    pen.rect(0.685, 0.15, 0.715, 0.21, radius=0.01)
    pen.curve((0.50, 0.60), (0.60, 0.62), (0.72, 0.60), (0.80, 0.58))


def _draw_handbag(pen: _Pen) -> None:
    """A structured handbag: body, arched handle, flap and clasp."""
    # Body: slightly trapezoid with rounded bottom corners.
    pen.line((0.24, 0.42), (0.76, 0.42))
    pen.curve((0.24, 0.42), (0.21, 0.55), (0.17, 0.70), (0.16, 0.82))
    pen.curve((0.84, 0.82), (0.83, 0.70), (0.79, 0.55), (0.76, 0.42))
    pen.curve((0.16, 0.82), (0.16, 0.87), (0.19, 0.88), (0.23, 0.88))
    pen.curve((0.84, 0.82), (0.84, 0.87), (0.81, 0.88), (0.77, 0.88))
    pen.line((0.23, 0.88), (0.77, 0.88))
    # Handle: two concentric arches, anchored in small tabs on the top edge.
    pen.curve((0.33, 0.42), (0.33, 0.12), (0.67, 0.12), (0.67, 0.42))
    pen.curve((0.37, 0.42), (0.37, 0.18), (0.63, 0.18), (0.63, 0.42))
    pen.rect(0.31, 0.39, 0.39, 0.45, radius=0.01)
    pen.rect(0.61, 0.39, 0.69, 0.45, radius=0.01)
    # Flap down the front, closed by a clasp.
    pen.curve((0.235, 0.47), (0.30, 0.60), (0.40, 0.64), (0.50, 0.645))
    pen.curve((0.50, 0.645), (0.60, 0.64), (0.70, 0.60), (0.765, 0.47))
    pen.rect(0.46, 0.62, 0.54, 0.69, radius=0.012)
    pen.ellipse(0.485, 0.64, 0.515, 0.67)
    # Bottom seam.
    pen.line((0.19, 0.83), (0.81, 0.83))


def draw_example_sketches(size: int = 256) -> list[Tensor]:
    """Code-drawn example sketches: a sneaker, a boot and a handbag.

    Drawn 4x supersampled and box-downsampled so curves come out smooth, then binarised like training
    sketches, with ~2 px strokes at 256.

    Returns:
        Three ``(1, 1, size, size)`` sketches in ``[-1, 1]`` (values -1/+1).
    """
    supersample = 4
    side = size * supersample
    width = max(supersample, round(2.0 * size / 256 * supersample))
    sketches = []
    for draw_fn in (_draw_shoe, _draw_boot, _draw_handbag):
        canvas = Image.new("L", (side, side), 255)
        draw_fn(_Pen(ImageDraw.Draw(canvas), side, width))
        small = canvas.resize((size, size), Image.Resampling.BOX)
        grey = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0)
        # Slightly generous cut so that diagonal lines, which lose ink in box averaging, stay unbroken.
        strokes = (grey < 0.6).float()
        sketches.append(_strokes_to_sketch(strokes).view(1, 1, size, size))
    return sketches
