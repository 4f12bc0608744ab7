"""facades: paint a building's label map (CMP Facades classes), get a photo of it (pix2pix's labels -> facades).

Built on the ``paired`` task: the data is pix2pix's facades layout (``N.jpg``, photo | label map side by side),
so the direction is fixed to BtoA. The label maps are JPEGs whose colours smear at edges; the condition is
snapped to the 12-colour CMP palette both in training and for user input, so a painted map and a training
map are the same kind of picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

import img2img
from img2img.data.folders import MappedItems
from img2img.task import COMPACT, AppHints
from img2img_plugins.paired import PairedTask

from .palette import CLASSES, PALETTE_HEX, draw_example_facades, snap_to_palette

__all__ = ["FacadesTask", "CLASSES", "snap_to_palette", "draw_example_facades"]


class SnappedLabels(MappedItems):
    """A paired dataset whose condition y is snapped to the CMP palette (JPEG fringes become classes)."""

    def map(self, sample: dict[str, Any], item: Any) -> dict[str, Any]:
        sample["y"] = snap_to_palette(sample["y"].unsqueeze(0))[0]
        return sample


class FacadesTask(PairedTask):
    name = "facades"
    description = "Paint a facade with the CMP label colours (wall, windows, door, balcony...) and get a photo."
    # pix2pix's facades files hold the photo on the left (A) and the label map on the right (B). Mirrored
    # buildings are still buildings, so flips stay on.
    default_options = {**PairedTask.default_options, "direction": "BtoA"}
    # The shipped model's recipe (weights/configs/facades-*.json add only data, length and bookkeeping), so that
    # ``img2img train --task facades --data DIR`` trains it: the compact networks (400 photos do not need more),
    # the cGAN from scratch, its discriminator without DiffAugment (the shipped run predates it; untried here).
    defaults = {**COMPACT, "discriminator.augment": "none"}
    # A window painted 40 px wide means a different thing to a model trained at 128 px than at 512 px, so large
    # maps run at a bounded scale and the photo is upscaled. The bound is 2x the training size, the app's 256 px
    # canvas: on code-drawn maps the shipped cGAN at 256 px drew crisp window frames and cornices, while at 128 px
    # upscaled the same maps came out soft with a plaid texture (weights/facades.md, "Seen by eye").
    work_scale = 2.0
    app = AppHints(
        input_kind="paint",
        input_label="Paint a facade: pick a class colour, paint over the wall",
        # Wall first: it fills the empty canvas; window second: the brush's first colour.
        palette=sorted(zip(CLASSES, PALETTE_HEX), key=lambda entry: (entry[0] != "wall", entry[0] != "window")),
    )

    def build_dataset(self, data_dir: Path | None, split: str, size: int, val_fraction: float = 0.1) -> Dataset:
        return SnappedLabels(super().build_dataset(data_dir, split, size, val_fraction))

    def resize_condition(self, y: Tensor, size: tuple[int, int]) -> Tensor:
        # Nearest keeps every pixel a palette colour: a blend of two classes' colours is no class at all.
        return F.interpolate(y, size=size, mode="nearest")

    def prepare_input(self, image: Tensor, **_: Any) -> Tensor:
        return snap_to_palette(image[:, :3])

    def examples(self) -> list[Tensor]:
        return draw_example_facades(256)


@img2img.hookimpl
def register_tasks(register):
    register(FacadesTask())
