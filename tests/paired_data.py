"""Tiny pix2pix-layout datasets written by code, for the tests of the paired tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def drawing(size: int, seed: int) -> Image.Image:
    """Black strokes on white paper: a line drawing."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, size, 4))
        draw.line([x0, y0, x1, y1], fill="black", width=1)
    return image


def picture(size: int, seed: int, grey: bool = False) -> Image.Image:
    """Smooth colour (or grey) blobs with noise: a stand-in for a photo."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    channels = [np.sin(6 * xx * rng.uniform(0.5, 2) + rng.uniform(0, 6)) * np.cos(5 * yy + rng.uniform(0, 6))
                for _ in range(3)]
    pixels = (np.stack(channels, axis=2) * 0.5 + 0.5) * 200 + rng.uniform(0, 40, (size, size, 3))
    if grey:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True), 3, axis=2)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def write_aligned(folder: Path, left: list[Image.Image], right: list[Image.Image]) -> Path:
    """pix2pix "aligned" files: left | right side by side, one file per pair."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (a, b) in enumerate(zip(left, right)):
        canvas = Image.new("RGB", (a.width * 2, a.height))
        canvas.paste(a, (0, 0))
        canvas.paste(b, (a.width, 0))
        canvas.save(folder / f"{i:03d}.png")
    return folder


def write_folders(folder: Path, a_side: list[Image.Image], b_side: list[Image.Image]) -> Path:
    """A/ and B/ folders with the same file names."""
    for side, images in (("A", a_side), ("B", b_side)):
        (folder / side).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            image.save(folder / side / f"{i:03d}.png")
    return folder


def drawing_to_picture(folder: Path, n: int = 24, size: int = 32) -> Path:
    """A|B files with a line drawing on the left (A) and a picture on the right (B)."""
    return write_aligned(folder, [drawing(size, i) for i in range(n)], [picture(size, i) for i in range(n)])
