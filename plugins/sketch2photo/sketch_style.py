"""Make machine edge maps look drawn by a person (training-time augmentation of sketch2photo's conditions).

Side by side with the machine edge map of the same object, a person's sketch (QMUL-Shoe / -Handbag) keeps the
outline and a few seams, leaves out most interior detail and all the short texture fragments, and its lines
wander a few pixels off the true contour, with the whole drawing slightly rotated, stretched or sheared.
:func:`humanize` applies those differences to a batch of binary sketches, batched and cheap:

1. short fragments dropped (a stroke pixel survives only near a pixel with enough ink around it);
2. interior detail dropped in random blotches, deeper than ``interior_depth`` inside the silhouette;
3. one ``grid_sample`` for a slight global affine distortion plus a smooth random displacement field (wobble);
4. random breaks (small erased disks along the strokes; off by default: see :class:`SketchStyle`);
5. a thicker pen for a share of the drawings.

The parameters (:data:`HUMAN_STYLE`) were chosen by ``benchmarks/sketch_style_stats.py`` on the FIT part of
``qmul_sketches`` only (see :mod:`.human_sketches`); the same script reports them on the held-out part.
All randomness comes from the ``generator`` argument (exact resume: the trainer seeds it per step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

STYLES: tuple[str, ...] = ("machine", "human", "mixed")


@dataclass(frozen=True)
class SketchStyle:
    """How far :func:`humanize` pushes an edge map towards a hand drawing. Lengths are in px at 256.

    The defaults are what ``benchmarks/sketch_style_stats.py --search`` picked on the FIT pairs. The statistics
    barely distinguish wobble and rotation strengths (kept moderate, as they look on a contact sheet); they
    did prefer no breaks at all (people's strokes, thinned as ``prepare_input`` thins them, are unbroken) and a
    thicker pen for every drawing.
    """

    fragment_radius: float = 6.0  # strokes with less than `fragment_ink` px of ink within this radius are dropped
    fragment_ink: float = 14.0
    interior_depth: float = 6.0  # detail deeper than this inside the silhouette may be dropped...
    interior_drop: float = 0.7  # ...over up to this fraction of the interior, in blotches
    wobble_px: float = 3.0  # amplitude of the smooth displacement field
    wobble_cells: int = 5  # its coarseness: one random vector per cell of a cells x cells grid
    rotate_deg: float = 5.0
    zoom: float = 1.1  # mean enlargement: people's sketches, cropped to their strokes, fill more of the frame
    scale: float = 0.04  # per-axis scale jitter, +-
    shear: float = 0.06
    break_density: float = 0.0  # expected erased disks per pixel (at most); people's strokes measured unbroken
    thick_share: float = 1.0  # share of images whose strokes are widened to `thick_px`
    thick_px: float = 3.0


HUMAN_STYLE = SketchStyle()
MIXED_HUMAN_FRACTION = 0.5  # "mixed": this share of a batch is humanised, the rest keeps the clean edges


def _stroke_mask(sketch: Tensor) -> Tensor:
    return (sketch < 0).float()


def _dilate(mask: Tensor, radius: int) -> Tensor:
    """Square dilation of a 0/1 mask, as a box sum: several times cheaper on the CPU than ``max_pool2d``."""
    if radius <= 0:
        return mask
    return (_box_sum(mask, radius) > 0.5).float()


def _box_sum(mask: Tensor, radius: int) -> Tensor:
    """Ink pixels of a 0/1 mask within the (2r+1)^2 square around each pixel (none beyond the border), from
    running sums: the cost does not grow with the radius, unlike ``avg_pool2d``'s on the CPU."""
    k = 2 * radius + 1
    for dim in (2, 3):
        pad = [0, 0, 0, 0]
        pad[2 * (3 - dim)], pad[2 * (3 - dim) + 1] = radius + 1, radius
        run = F.pad(mask, pad).cumsum(dim)
        size = run.shape[dim]
        mask = run.narrow(dim, k, size - k) - run.narrow(dim, 0, size - k)
    return mask.round()  # counts of a 0/1 mask are whole; running sums leave float error that would tip cuts


def _erode(mask: Tensor, radius: int) -> Tensor:
    return 1.0 - _dilate(1.0 - mask, radius)


def silhouette(strokes: Tensor) -> Tensor:
    """A cheap filled outline of a stroke mask: pixels with ink to their left, right, top and bottom.

    Exact for convex objects and close for shoes and bags; a gap of a pixel or two in the outline is bridged by
    dilating first.
    """
    ink = _dilate(strokes, 1)
    left = ink.cummax(dim=3).values
    right = ink.flip(3).cummax(dim=3).values.flip(3)
    top = ink.cummax(dim=2).values
    bottom = ink.flip(2).cummax(dim=2).values.flip(2)
    return left * right * top * bottom


def _smooth_noise(n: int, cells: int, h: int, w: int, generator: torch.Generator, device: torch.device,
                  channels: int = 1) -> Tensor:
    """Uniform noise on a coarse grid, bicubically upsampled: blotches a few cells across."""
    coarse = torch.rand((n, channels, cells, cells), generator=generator, device=device)
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)


def humanize(sketch: Tensor, generator: torch.Generator, style: SketchStyle = HUMAN_STYLE) -> Tensor:
    """Hand-drawn-looking versions of a batch of sketches.

    Args:
        sketch: ``(N, 1, H, W)``, ink below 0 (the task's -1/+1 convention).
        generator: every random number is drawn from it, a fixed count per call whatever the content.
        style: the strengths.

    Returns:
        ``(N, 1, H, W)`` sketch with values exactly -1 (ink) and +1 (paper).
    """
    n, _, h, w = sketch.shape
    device = sketch.device
    s = max(h, w) / 256.0
    strokes = _stroke_mask(sketch.float())

    # Every draw up front, in a fixed order, so the stream never depends on the data.
    blotches = _smooth_noise(n, 6, h, w, generator, device)
    drop_amount = torch.rand((n, 1, 1, 1), generator=generator, device=device) * style.interior_drop
    cells = max(2, style.wobble_cells)
    wobble = (_smooth_noise(n, cells, h, w, generator, device, channels=2) * 2 - 1).permute(0, 2, 3, 1)
    affine = torch.rand((n, 5), generator=generator, device=device) * 2 - 1
    break_u = torch.rand((n, 1, 1, 1), generator=generator, device=device)
    thick_u = torch.rand((n, 1, 1, 1), generator=generator, device=device)
    break_seeds = torch.rand((n, 1, h, w), generator=generator, device=device)

    # 1. Short fragments: texture and stitching bits that no one draws.
    r = max(1, round(style.fragment_radius * s))
    ink_near = _box_sum(strokes, r)
    core = strokes * (ink_near >= style.fragment_ink * s).float()
    strokes = strokes * _dilate(core, r)  # a long stroke's tips lie near its core and stay

    # 2. Interior detail, in blotches, so that whole seams go rather than single pixels.
    inside = _erode(silhouette(strokes), max(1, round(style.interior_depth * s)))
    # The bicubic blotches are not uniform: scaling by 1.4 lets about `drop_amount` of the interior go.
    strokes = strokes * (1.0 - inside * (blotches * 1.4 < drop_amount).float())

    # 3. One resampling for the affine distortion and the wobble; out-of-frame pixels become paper.
    angle = affine[:, 0] * math.radians(style.rotate_deg)
    # theta maps output to input coordinates, so dividing by the zoom enlarges the drawing.
    sx, sy = (1 + affine[:, 1] * style.scale) / style.zoom, (1 + affine[:, 2] * style.scale) / style.zoom
    shear = affine[:, 3] * style.shear
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([
        torch.stack([cos * sx, -sin * sy + shear, torch.zeros_like(cos)], dim=1),
        torch.stack([sin * sx, cos * sy, torch.zeros_like(cos)], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    grid = grid + wobble * (style.wobble_px * s * 2.0 / max(h, w))
    warped = F.grid_sample(strokes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # A 1-px line resampled between pixels spreads into two half-inked ones; a low cut keeps it unbroken.
    strokes = (warped > 0.3).float()

    # 4. Breaks: erased disks, with about a third of the images left unbroken.
    density = break_u * style.break_density * (break_u < 0.66).float() / 0.66
    holes = _dilate((break_seeds < density).float(), max(1, round(2.0 * s)))
    strokes = strokes * (1.0 - holes)

    # 5. Pen width: a share of the drawings gets thicker strokes.
    width = max(1, round(style.thick_px * s))
    if width > 1 and style.thick_share > 0:
        thick = F.max_pool2d(F.pad(strokes, (0, width - 1, 0, width - 1)), width, stride=1)
        strokes = torch.where(thick_u < style.thick_share, thick, strokes)
    return (1.0 - 2.0 * strokes).to(sketch.dtype if sketch.is_floating_point() else torch.float32)


def apply_style(sketch: Tensor, generator: torch.Generator, style: str,
                human: SketchStyle = HUMAN_STYLE) -> Tensor:
    """The training condition for sketch style ``style`` ("machine": unchanged, "human": all humanised,
    "mixed": a random :data:`MIXED_HUMAN_FRACTION` of the batch humanised). Draws from ``generator`` the same
    way for "human" and "mixed", whatever the data."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    if style == "machine":
        return sketch
    pick = torch.rand((sketch.shape[0], 1, 1, 1), generator=generator, device=sketch.device)
    styled = humanize(sketch, generator, human)
    if style == "human":
        return styled
    return torch.where(pick < MIXED_HUMAN_FRACTION, styled, sketch)
