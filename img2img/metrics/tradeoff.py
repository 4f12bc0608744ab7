"""The perception-distortion curve (Blau & Michaeli, CVPR 2018) of a fine-tuned pair, one point per realism a.

Distortion (PSNR, LPIPS to the target) and realism (a distance between the set of outputs and the set of real
photos) cannot both be optimal. ``img2img eval --realism 0,0.25,...`` scores the generator interpolated between
the MSE baseline (a = 0, the conditional mean) and the cGAN (a = 1) at each a on the same inputs; this module
turns those scores into a table and a picture of the trade-off: PSNR against the realism distance, and LPIPS
against it, each point labelled with its a.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

# The realism axis: the Lite0 Frechet distance, or SWD (no pretrained network) when the Lite0 scores are missing.
REALISM_KEYS = ("fd_lite0", "swd")
TABLE_KEYS = ("psnr", "lpips", "fd_lite0", "kid_lite0", "swd", "sharpness", "lpips_diversity")


def realism_axis(points: list[dict[str, Any]]) -> str:
    """The score that stands for realism on these points: the first of REALISM_KEYS that every point has."""
    for key in REALISM_KEYS:
        if all(_number(p.get(key)) is not None for p in points):
            return key
    raise ValueError("no realism score (fd_lite0 or swd) was computed for every value of a")


def table(points: list[dict[str, Any]]) -> str:
    """A markdown table, one row per a."""
    keys = [k for k in TABLE_KEYS if any(_number(p.get(k)) is not None for p in points)]
    lines = ["| a | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for p in points:
        cells = [f"{v:.4g}" if (v := _number(p.get(k))) is not None else "-" for k in keys]
        lines.append(f"| {p['realism']:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def record(points: list[dict[str, Any]], report: Any) -> dict[str, Any]:
    """What ``img2img eval --realism ... --json OUT`` writes (and a shipped pair's ``weights/TASK-realism.json``):
    the points and the caption of the report they were scored with (an EvalReport)."""
    return {"task": report.task, "weights": report.weights, "images": report.images, "size": report.size,
            "source": report.source, "samples": report.samples, "seed": report.seed, "task_options": report.task_options, "points": points}


def draw_curve(points: list[dict[str, Any]], out: str | Path, title: str = "") -> Path:
    """Two panels, PSNR and LPIPS (y) against the realism distance (x), one labelled point per a, joined in
    order of a. Lower-left is better on the LPIPS panel, upper-left on the PSNR panel."""
    return _save(curve_image(points, title), out)


def draw_curves(curves: list[tuple[str, list[dict[str, Any]]]], out: str | Path) -> Path:
    """Several curves in one picture, one row per (title, points): the README's figure of every shipped pair."""
    if not curves:
        raise ValueError("no curve to draw")
    rows = [curve_image(points, title) for title, points in curves]
    image = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    top = 0
    for row in rows:
        image.paste(row, (0, top))
        top += row.height
    return _save(image, out)


def curve_image(points: list[dict[str, Any]], title: str = "") -> Image.Image:
    """The picture :func:`draw_curve` saves."""
    x_key = realism_axis(points)
    panels = [(key, label) for key, label in (("psnr", "PSNR (dB), higher is better"),
                                              ("lpips", "LPIPS to the target, lower is better"))
              if all(_number(p.get(key)) is not None for p in points)]
    width, height = 460 * max(len(panels), 1), 400
    image = Image.new("RGB", (width, height + 30), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 6), title or "perception-distortion: the generator from the MSE baseline (a=0) to the cGAN (a=1)",
              fill="black")
    xs = [float(p[x_key]) for p in points]
    for i, (key, label) in enumerate(panels):
        left, top = i * 460, 24
        box = (left + 60, top + 24, left + 440, top + height - 44)
        draw.rectangle(box, outline="#888888")
        draw.text((left + 60, top + 6), label, fill="black")
        draw.text((left + 60, top + height - 20), f"{x_key} to the real photos, lower is more realistic", fill="black")
        ys = [float(p[key]) for p in points]
        to_xy = _scaler(box, xs, ys)
        _ticks(draw, box, xs, ys)
        corners = [to_xy(x, y) for x, y in zip(xs, ys)]
        draw.line(corners, fill="#1f77b4", width=2)
        for (cx, cy), p in zip(corners, points):
            draw.ellipse((cx - 4, cy - 4, cx + 4, cy + 4), fill="#d62728")
            draw.text((cx + 6, cy - 14), f"a={p['realism']:g}", fill="black")
    return image


def _save(image: Image.Image, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out


def _scaler(box: tuple[int, int, int, int], xs: list[float], ys: list[float]):
    (x0, x1), (y0, y1) = _padded(xs), _padded(ys)

    def to_xy(x: float, y: float) -> tuple[float, float]:
        return (box[0] + (x - x0) / (x1 - x0) * (box[2] - box[0]), box[3] - (y - y0) / (y1 - y0) * (box[3] - box[1]))

    return to_xy


def _ticks(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], xs: list[float], ys: list[float]) -> None:
    (x0, x1), (y0, y1) = _padded(xs), _padded(ys)
    draw.text((box[0] - 56, box[1]), f"{y1:.4g}", fill="#444444")
    draw.text((box[0] - 56, box[3] - 12), f"{y0:.4g}", fill="#444444")
    draw.text((box[0], box[3] + 4), f"{x0:.4g}", fill="#444444")
    draw.text((box[2] - 40, box[3] + 4), f"{x1:.4g}", fill="#444444")


def _padded(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 if hi > lo else max(abs(hi) * 0.05, 0.5)
    return lo - pad, hi + pad


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
