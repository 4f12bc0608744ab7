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
    fg = stroke_mask(sketch)
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
    return strokes_to_sketch(fg).to(sketch.dtype if sketch.is_floating_point() else torch.float32)
