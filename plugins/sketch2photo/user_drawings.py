"""Normalising drawings made by people: what the app and predict do to a user's drawing.

Any stroke colour, thickness, background and framing in; a training-like sketch out (the convention of
:mod:`.strokes`: ink -1, paper +1), binarised, cropped to the strokes, square, thin, at the size asked for.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .strokes import set_width, stroke_mask, strokes_to_sketch, thin_strokes, to_unit_grey

__all__ = ["is_blank_sketch", "normalize_user_sketch"]

# A user image whose two Otsu classes differ by less than this (grey in [0, 1]) holds no drawing, only
# paper noise or compression artefacts, and is treated as blank.
_MIN_USER_CONTRAST = 0.15


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

    grey = to_unit_grey(image)
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
        return strokes_to_sketch(strokes_f)

    final = strokes_f.shape[-1]
    # Early stopping makes a generous bound cheap; it must cover strokes up to ~1/16 of the canvas.
    skeleton = stroke_mask(thin_strokes(strokes_to_sketch(strokes_f), max_iters=max(10, math.ceil(final / 32))))
    width = max(1, round(1.5 * final / 256))
    return strokes_to_sketch(set_width(skeleton, width))


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
