"""The CMP Facades palette, snapping to it, and label maps drawn by code.

The colours were measured on ``../shared/data/facades/train`` (the right halves): the 12 peaks of the colour
histogram of flat regions, which fall along a jet colour map; the classes are CMP's label order along it
(background ... shop). The most frequent colour is the wall (44% of flat pixels), then background (29%), then
window (9%), consistent with that order.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

__all__ = ["CLASSES", "PALETTE", "PALETTE_HEX", "snap_to_palette", "draw_example_facades", "draw_facade"]

CLASSES: tuple[str, ...] = (
    "background", "wall", "window", "door", "cornice", "sill",
    "balcony", "blind", "deco", "molding", "pillar", "shop",
)
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 222), (0, 48, 254), (0, 127, 254), (0, 207, 255), (33, 254, 225), (112, 254, 144),
    (192, 254, 64), (254, 240, 0), (254, 159, 0), (254, 80, 0), (251, 0, 0), (174, 0, 0),
)
PALETTE_HEX: tuple[str, ...] = tuple("#{:02x}{:02x}{:02x}".format(*c) for c in PALETTE)
COLOUR = dict(zip(CLASSES, PALETTE))


def _palette_tensor(device: torch.device) -> Tensor:
    return torch.tensor(PALETTE, dtype=torch.float32, device=device) / 127.5 - 1.0  # (12, 3) in [-1, 1]


def snap_to_palette(image: Tensor) -> Tensor:
    """Every pixel of ``(N, 3, H, W)`` in [-1, 1] replaced by the nearest palette colour (Euclidean in RGB)."""
    palette = _palette_tensor(image.device)
    flat = image.permute(0, 2, 3, 1).reshape(-1, 3).float()
    nearest = torch.cdist(flat, palette).argmin(dim=1)
    n, _, h, w = image.shape
    return palette[nearest].reshape(n, h, w, 3).permute(0, 3, 1, 2).contiguous().to(image.dtype)


def draw_facade(seed: int, size: int = 256) -> Image.Image:
    """A procedural facade label map: background, a wall with floors of windows (sills, blinds, cornices,
    balconies), moldings between floors, pillars, a door and shop fronts on the ground floor."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), COLOUR["background"])
    draw = ImageDraw.Draw(image)
    s = size / 256

    def box(x0: float, y0: float, x1: float, y1: float, cls: str) -> None:
        left_px, top_px = round(x0 * s), round(y0 * s)
        # At small sizes a thin part rounds to nothing; it still gets one pixel rather than an error.
        draw.rectangle([left_px, top_px, max(left_px, round(x1 * s) - 1), max(top_px, round(y1 * s) - 1)],
                       fill=COLOUR[cls])

    left, right = rng.randint(0, 16), 256 - rng.randint(0, 16)
    top = rng.randint(4, 36)
    box(left, top, right, 256, "wall")
    # CMP labels the roof edge and the bands between floors "molding"; "cornice" is the hood over a window.
    box(left, top, right, top + rng.randint(6, 12), "molding")
    floors = rng.randint(3, 5)
    ground = rng.randint(44, 64)
    floor_h = (256 - ground - top - 14) / floors
    columns = rng.randint(3, 5)
    bay = (right - left) / columns
    win_w = bay * rng.uniform(0.4, 0.6)
    win_h = floor_h * rng.uniform(0.5, 0.68)
    balcony_floor = rng.randrange(floors)
    blinds = rng.random() < 0.5
    hoods = rng.random() < 0.5
    for f in range(floors):
        y0 = top + 14 + f * floor_h + (floor_h - win_h) * 0.4
        box(left, top + 14 + (f + 1) * floor_h - 3, right, top + 14 + (f + 1) * floor_h, "molding")
        for c in range(columns):
            x0 = left + c * bay + (bay - win_w) / 2
            if blinds:
                box(x0 - 5, y0, x0, y0 + win_h, "blind")
                box(x0 + win_w, y0, x0 + win_w + 5, y0 + win_h, "blind")
            box(x0, y0, x0 + win_w, y0 + win_h, "window")
            box(x0 - 2, y0 + win_h, x0 + win_w + 2, y0 + win_h + 3, "sill")
            if f == balcony_floor:
                box(x0 - 4, y0 + win_h * 0.6, x0 + win_w + 4, y0 + win_h + 4, "balcony")
            if hoods:
                box(x0 - 3, y0 - 6, x0 + win_w + 3, y0 - 1, "cornice")
            elif f == 0 and rng.random() < 0.3:
                box(x0 + win_w * 0.3, y0 - 7, x0 + win_w * 0.7, y0 - 3, "deco")
    base = 256 - ground
    for c in range(columns + 1):
        x = left + c * bay
        box(x - 3, base, x + 3, 256, "pillar")
    door = rng.randrange(columns)
    for c in range(columns):
        x0, x1 = left + c * bay + 6, left + (c + 1) * bay - 6
        if c == door:
            box(x0 + (x1 - x0) * 0.2, base + 10, x1 - (x1 - x0) * 0.2, 256, "door")
        elif rng.random() < 0.6:
            box(x0, base + 8, x1, 256 - 6, "shop")
        else:
            box(x0 + 4, base + 12, x1 - 4, base + 12 + (ground - 12) * 0.6, "window")
    return image


def draw_example_facades(size: int = 256, seeds: tuple[int, ...] = (1, 7, 23)) -> list[Tensor]:
    """Code-drawn label maps as ``(1, 3, size, size)`` tensors in [-1, 1] (the app's examples, the figures)."""
    out = []
    for seed in seeds:
        pixels = torch.from_numpy(np.asarray(draw_facade(seed, size), dtype=np.float32).copy())
        out.append((pixels.permute(2, 0, 1) / 127.5 - 1.0).unsqueeze(0))
    return out
