"""The sketch convention of sketch2photo, and the stroke operations its sketch modules share.

Every sketch follows one convention: a ``(N, 1, H, W)`` float tensor in ``[-1, 1]`` with a white
background at ``+1`` and black strokes at ``-1``. Photos are ``(N, 3, H, W)`` in ``[-1, 1]``.

The real paired data (edges2shoes) has thin (about 1 px at 256) black HED edges on white. Sketches extracted
from photos (:mod:`.edges`) and sketches drawn by people (:mod:`.user_drawings`) are both pushed towards that
look, so that the generator sees the same kind of input at training and at inference time. This module holds
what both need: grey conversion, the stroke mask <-> sketch conversions, widening and Zhang-Suen thinning.
"""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "set_width",
    "stroke_mask",
    "strokes_to_sketch",
    "thin_strokes",
    "to_unit_grey",
]


def to_unit_grey(image: Tensor) -> Tensor:
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


def strokes_to_sketch(strokes: Tensor) -> Tensor:
    """Turn a stroke mask (1 = ink) into the sketch convention (ink -1, paper +1)."""
    return 1.0 - 2.0 * strokes.float()


def stroke_mask(sketch: Tensor) -> Tensor:
    """Stroke mask (float 0/1) of a sketch; anything darker than mid-grey counts as ink."""
    return (sketch < 0).float()


def _square_kernel(width: int, device: torch.device) -> Tensor:
    return torch.ones(width, width, device=device)


def set_width(strokes: Tensor, width: int) -> Tensor:
    """Widen 1-px strokes to ``width`` px with a ``width x width`` structuring element."""
    if width <= 1:
        return strokes
    return kornia.morphology.dilation(strokes, _square_kernel(width, strokes.device))


# --------------------------------------------------------------------------------------------------------------
# Thinning
# --------------------------------------------------------------------------------------------------------------


def _removal_tables() -> tuple[Tensor, Tensor]:
    """For each of the 256 neighbourhoods, whether Zhang-Suen's first and second pass delete a stroke pixel
    (1) or keep it (0). A neighbourhood's code has the neighbours P2..P9 (N, NE, E, SE, S, SW, W, NW) as its
    bits 0..7."""
    code = torch.arange(256)
    p = [(code >> i) & 1 for i in range(8)]  # P2..P9
    count = sum(p)
    # Number of background->stroke transitions walking once round the ring P2..P9, P2: exactly one means the
    # stroke pixels around form a single arc, so removing the centre disconnects nothing.
    transitions = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).long() for i in range(8))
    p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
    keeps_shape = (count >= 2) & (count <= 6) & (transitions == 1)
    first = keeps_shape & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = keeps_shape & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first.to(torch.uint8), second.to(torch.uint8)


_REMOVE_FIRST, _REMOVE_SECOND = _removal_tables()


def thin_strokes(sketch: Tensor, max_iters: int = 10) -> Tensor:
    """Reduce thick strokes to ~1 px skeletons with Zhang-Suen thinning, batched and vectorised.

    Each iteration peels at most one pixel off each side of every stroke, so a stroke ``t`` px thick
    needs about ``t / 2`` iterations; it stops early once nothing changes. The Zhang-Suen conditions only
    delete pixels whose removal keeps their neighbourhood connected, so strokes are not broken.

    The conditions depend only on a pixel's 8 neighbours, so each pass computes every pixel's neighbourhood
    code at once (eight shifted views of the 0/1 mask, zero beyond the border) and looks the decision up in a
    256-entry table: the same result as evaluating the conditions pixel by pixel, ~6x faster (the app thins
    every drawing, the live preview's included).

    Args:
        sketch: ``(N, 1, H, W)`` in ``[-1, 1]``; pixels below 0 are strokes.
        max_iters: upper bound on the number of (two-pass) iterations.

    Returns:
        Binarised ``(N, 1, H, W)`` sketch, -1 on the skeleton and +1 elsewhere.
    """
    shape = sketch.shape
    h, w = shape[-2:]
    fg = (stroke_mask(sketch) > 0).reshape(-1, 1, h, w).to(torch.uint8)
    tables = (_REMOVE_FIRST.to(fg.device), _REMOVE_SECOND.to(fg.device))
    for _ in range(max_iters):
        before = fg
        for table in tables:
            p = F.pad(fg, (1, 1, 1, 1))
            code = (p[..., 0:h, 1 : w + 1] | (p[..., 0:h, 2 : w + 2] << 1) | (p[..., 1 : h + 1, 2 : w + 2] << 2)
                    | (p[..., 2 : h + 2, 2 : w + 2] << 3) | (p[..., 2 : h + 2, 1 : w + 1] << 4)
                    | (p[..., 2 : h + 2, 0:w] << 5) | (p[..., 1 : h + 1, 0:w] << 6) | (p[..., 0:h, 0:w] << 7))
            fg = fg & (1 - table[code.long()])  # a long index: a uint8 one would be taken for a mask
        if torch.equal(fg, before):
            break
    out = strokes_to_sketch(fg.reshape(shape).float())
    return out.to(sketch.dtype if sketch.is_floating_point() else torch.float32)
