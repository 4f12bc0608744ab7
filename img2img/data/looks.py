"""Cheap judgements of what an image is (a line drawing, a grey picture), for deciding how to read a dataset.

Each takes an HWC uint8 RGB array. Thresholds were measured on the project's data: edges2shoes edge maps are
97-99% near-white paper with colourless ink; its shoe photos are at most ~90% white background with coloured
or mid-grey objects; CMP facades photos are muted (mean saturation 0.05-0.15) but not grey.
"""

from __future__ import annotations

import numpy as np

__all__ = ["looks_like_drawing", "looks_grey", "saturation"]


def _unit(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = image[:, :, None]
    return image[:, :, :3].astype(np.float32) / 255.0


def saturation(image: np.ndarray) -> np.ndarray:
    """Per-pixel max - min over the colour channels, in [0, 1]."""
    unit = _unit(image)
    return unit.max(axis=2) - unit.min(axis=2)


def looks_like_drawing(image: np.ndarray) -> bool:
    """Dark colourless strokes on white paper: at least 80% near-white pixels, and 90% of the rest colourless."""
    unit = _unit(image)
    sat = saturation(image)
    paper = (unit.min(axis=2) > 0.85) & (sat < 0.1)
    if paper.mean() < 0.8:
        return False
    rest = ~paper
    if not rest.any():
        return True  # blank paper: nothing on it contradicts a drawing
    return float((sat[rest] < 0.15).mean()) >= 0.9


def looks_grey(image: np.ndarray) -> bool:
    """A grey-level picture stored as RGB: mean saturation under 0.02 (JPEG chroma noise stays below that)."""
    return float(saturation(image).mean()) < 0.02
