"""The report of ``img2img eval``: the numbers of one evaluation, as JSON and as a markdown table.

Plain data and formatting (the scores come from :mod:`.scoring`); ``img2img.evaluate`` fills it in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .scoring import UNAVAILABLE

MODELS = ("cgan", "regression")
NOT_APPLICABLE = "n/a"  # a paired metric for inputs without targets
NATIVE = 0  # size meaning "each image at its own size"
# The scores of one model, in the report's order.
SCORE_KEYS = ("psnr", "ssim", "swd", "sharpness", "diversity", "lpips", "lpips_diversity", "fd_lite0", "kid_lite0",
              "task", "fid", "kid")

# (key, column header, format): the fixed columns of the table; arrows say which way is better.
COLUMNS = (
    ("psnr", "PSNR↑", "{:.2f}"),
    ("ssim", "SSIM↑", "{:.4f}"),
    ("swd", "SWD↓", "{:.1f}"),
    ("sharpness", "sharpness→1", "{:.3f}"),
    ("diversity", "diversity↑", "{:.4f}"),
    ("lpips", "LPIPS↓", "{:.4f}"),
    ("lpips_diversity", "LPIPS-div↑", "{:.4f}"),
    ("fd_lite0", "FD-Lite0↓", "{:.2f}"),
    ("kid_lite0", "KID-Lite0↓", "{:.4f}"),
)


@dataclass
class EvalReport:
    """The numbers of one evaluation. ``models[name]`` holds psnr, ssim, swd (mean of ``swd_levels``),
    sharpness, diversity, lpips, lpips_diversity, fd_lite0, kid_lite0, fid, kid and ``task`` (the task's own
    metrics). A value that could not be computed is ``"unavailable"`` (why: ``fid_note`` / ``perceptual_note``);
    a paired one for inputs without targets is ``"n/a"``."""

    task: str
    images: int
    size: int
    samples: int  # cGAN samples per input actually drawn (1 for a deterministic generator)
    seed: int
    weights: dict[str, str]
    models: dict[str, dict[str, Any]]
    swd_levels: dict[str, dict[str, float]]
    fid_note: str  # "" when FID/KID were computed, else why not
    split: str = "val"  # "val" (the hash-carved validation split) or "all" (every image of the folder)
    source: str = ""  # which images, in words: "the validation split of DIR (...)", "all images of DIR"
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage; the only non-reproducible part
    grid: str | None = None
    perceptual_note: str = ""  # "" when the pretrained-feature metrics were computed, else why not
    reference: str | None = None  # the folder of real photos, for inputs without targets
    # Native size (size 0) only: the longest side allowed (None = no cap), how many images were scaled down
    # to it, and the side of the central square crop SWD compared.
    max_side: int | None = None
    scaled_down: int = 0
    swd_crop: int | None = None
    task_options: dict[str, Any] = field(default_factory=dict)  # options overridden for this evaluation
    # What the grid's tiles show when they are not the default ones (``--grid-crop``): the window side, how it
    # was placed ("center" / "detail") and each row's window (image, top, left, height, width) at native scale.
    grid_crop: dict[str, Any] | None = None
    work_scale: bool = False  # native size: the generator at the task's working scale (``--work-scale``)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.grid_crop is None:  # only a grid crop adds the key: every other report keeps its exact layout
            del data["grid_crop"]
        if not self.work_scale:  # the same for --work-scale
            del data["work_scale"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def table(self) -> str:
        """A markdown table (rows cgan, regression) and one caption line; identical for identical runs."""
        task_names = sorted(self.models[MODELS[0]]["task"])
        header = ["model", *(title for _, title, _ in COLUMNS), *task_names, "FID↓", "KID↓"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for model in MODELS:
            values = self.models[model]
            cells = [model, *(_cell(values[key], fmt) for key, _, fmt in COLUMNS)]
            cells += [_cell(values["task"][name], "{:.4g}") for name in task_names]
            cells += [_cell(values["fid"], "{:.2f}"), _cell(values["kid"], "{:.4f}")]
            lines.append("| " + " | ".join(cells) + " |")
        levels = len(self.swd_levels[MODELS[0]]) - 1
        which = f"{self.images} images from {self.source}" if self.source else f"{self.images} {self.split} images"
        scale = f"at {self.size} px" if self.size != NATIVE else "at native size"
        if self.size == NATIVE and self.scaled_down:
            scale += f" ({self.scaled_down} image(s) with a side over {self.max_side} px scaled down to it)"
        if self.size == NATIVE and self.work_scale:
            scale += ", the generator at the task's working scale (as predict and the app run it)"
        caption = (f"{self.task}: {which}, {scale}, {self.samples} cGAN sample(s) "
                   f"each, seed {self.seed}. SWD x1e3, mean of {levels} Laplacian levels (cGAN: first samples)")
        if self.swd_crop is not None:
            caption += f", on the central {self.swd_crop} px square of each image (the smallest side in the set)"
        caption += "."
        if self.task_options:
            caption += " Task options: " + ", ".join(f"{k}={v}" for k, v in sorted(self.task_options.items())) + "."
        if self.reference:
            caption += f" No targets: set metrics against the photos, paired metrics {NOT_APPLICABLE}."
        caption += " LPIPS: AlexNet v0.1; FD/KID-Lite0: EfficientNet-Lite0 features (not FID/KID)."
        if self.perceptual_note:
            caption += f" LPIPS/FD/KID-Lite0 {UNAVAILABLE}: {self.perceptual_note}."
        if self.fid_note:
            caption += f" FID/KID {UNAVAILABLE}: {self.fid_note}."
        return "\n".join(lines) + "\n\n" + caption


def _cell(value: Any, fmt: str) -> str:
    return value if isinstance(value, str) else fmt.format(value)
