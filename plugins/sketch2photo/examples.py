"""Example sketches drawn by code: the sneaker, boot and handbag the app offers as example inputs."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from .strokes import strokes_to_sketch

__all__ = ["draw_example_sketches"]

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
        sketches.append(strokes_to_sketch(strokes).view(1, 1, size, size))
    return sketches
