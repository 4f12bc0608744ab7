"""Inputs drawn for the sketch2photo sketch tests (shared by more than one test module)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw


def line_image(width: int, size: int = 64, vertical: bool = False) -> torch.Tensor:
    """A black line, ``width`` px wide, across the middle of a white ``(1, 1, size, size)`` sketch."""
    canvas = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(canvas)
    if vertical:
        draw.line([(size // 2, 8), (size // 2, size - 8)], fill=0, width=width)
    else:
        draw.line([(8, size // 2), (size - 8, size // 2)], fill=0, width=width)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0).view(1, 1, size, size)
