"""Run logging: every scalar into ``log.jsonl`` (one JSON object per logged step), optional TensorBoard,
and a loss-curve PNG drawn with Pillow at the end of a run (no plotting library needed)."""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
BEST_MARKER = "#bcbd22"  # the best weights' step on validation panels: a colour no series uses


class RunLogger:
    """Averages scalars between log points and appends them to ``log.jsonl``."""

    def __init__(self, path: Path, tensorboard_dir: Path | None = None) -> None:
        self.path = path
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._writer = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                import warnings

                warnings.warn("tensorboard is not installed (pip install tensorboard); logging to JSONL only", stacklevel=2)
            else:
                self._writer = SummaryWriter(str(tensorboard_dir))

    def accumulate(self, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self._sums[key] += float(value)
            self._counts[key] += 1

    def means(self) -> dict[str, float]:
        return {k: self._sums[k] / self._counts[k] for k in self._sums}

    def write(self, step: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {"step": step, "time": round(time.time(), 3), **self.means(), **(extra or {})}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._writer is not None:
            for key, value in record.items():
                if key not in ("step", "time") and isinstance(value, (int, float)):
                    self._writer.add_scalar(key, value, step)
        self._sums.clear()
        self._counts.clear()
        return record

    def truncate_after(self, step: int) -> None:
        """On resume or rollback, drop records written after the checkpoint we restart from (they will be
        redone), and the scalars accumulated since the last record (they belong to those steps too)."""
        self._sums.clear()
        self._counts.clear()
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines() if _step_of(line) <= step]
        self.path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _step_of(line: str) -> float:
    try:
        return float(json.loads(line).get("step", math.inf))
    except ValueError:  # a half-written last line from a killed run
        return math.inf


def read_log(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def plot_loss_curves(log_path: Path, out_path: Path, width: int = 900, panel_height: int = 220) -> Path | None:
    """One panel per ``loss/*`` series, then one per ``val/*`` validation score (each with its own y range),
    step on the x axis. Validation panels mark the step of the run's ``best`` weights (``best_step``)."""
    records = read_log(log_path) if log_path.exists() else []
    keys = sorted({k for r in records for k in r if k.startswith(("loss/", "val/"))})
    if not records or not keys:
        return None
    best_steps = [r["best_step"] for r in records if isinstance(r.get("best_step"), (int, float))]
    best = best_steps[-1] if best_steps else None
    margin_l, margin_r, margin_t, margin_b = 70, 20, 24, 28
    img = Image.new("RGB", (width, panel_height * len(keys)), "white")
    draw = ImageDraw.Draw(img)
    steps = [r["step"] for r in records]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    for i, key in enumerate(keys):
        top = i * panel_height
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        box = (margin_l, top + margin_t, width - margin_r, top + panel_height - margin_b)
        draw.rectangle(box, outline="#888888")
        validation = key.startswith("val/")
        title = f"validation {key[4:]} (EMA generator, fixed inputs)" if validation else key
        draw.text((margin_l, top + 6), title + (f"; best weights: step {best}" if validation and best is not None else ""),
                  fill="black")
        if not points:
            continue
        values = [v for _, v in points]
        lo, hi = min(values), max(values)
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        def to_xy(s: float, v: float) -> tuple[float, float]:
            x = box[0] + (s - x0) / (x1 - x0) * (box[2] - box[0])
            y = box[3] - (v - lo) / (hi - lo) * (box[3] - box[1])
            return x, y
        draw.text((4, box[1]), f"{hi:.4g}", fill="black")
        draw.text((4, box[3] - 10), f"{lo:.4g}", fill="black")
        draw.text((box[0], box[3] + 4), str(x0), fill="black")
        draw.text((box[2] - 40, box[3] + 4), str(x1), fill="black")
        if validation and best is not None:
            bx = to_xy(best, lo)[0]
            draw.line([(bx, box[1]), (bx, box[3])], fill=BEST_MARKER, width=1)
        xy = [to_xy(s, v) for s, v in points]
        if len(xy) == 1:
            draw.ellipse([xy[0][0] - 2, xy[0][1] - 2, xy[0][0] + 2, xy[0][1] + 2], fill=_COLORS[i % len(_COLORS)])
        else:
            draw.line(xy, fill=_COLORS[i % len(_COLORS)], width=2)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    img.save(out_path)
    return out_path
