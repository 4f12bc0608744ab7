"""paired: learn B from A (or A from B) on your own aligned pairs, the way pix2pix does.

Data: pix2pix "aligned" files (A | B side by side) or ``A/`` + ``B/`` folders with the same file names, in any
image format and mode (grey, palette, RGBA, 16-bit: read as RGB). Preprocessing is pix2pix's: resize to
about 1.12x the training size, random crop, and a random horizontal flip unless ``task_options.flip=false``.
Nothing else is done to either side.

``task_options.direction`` says which side is the input: ``AtoB`` (A -> B) or ``BtoA``. ``auto`` decides only
where the data leaves no doubt (one side is a line drawing or a grey picture and the other is not, in every
sampled pair); otherwise training stops with one line asking for the direction.
``task_options.in_channels`` / ``out_channels`` (1 or 3): grey input or output instead of RGB.

Build your own task on it by subclassing :class:`PairedTask` (see ``img2img_plugins.facades`` and
docs/plugins.md): fix the direction and flip in ``default_options``, and add app hints and examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

import img2img
from img2img.data.aligned import paired_dataset, sample_pairs
from img2img.data.folders import MappedItems
from img2img.data.looks import looks_grey, looks_like_drawing
from img2img.errors import ConfigError, DataError

__all__ = ["PairedTask", "ChannelSelect", "detect_paired_direction"]

DIRECTIONS = ("auto", "AtoB", "BtoA")
CHANNELS = (1, 3)
SAMPLE = 8  # pairs looked at to decide the direction: enough to see a dataset's habit, cheap to read


class ChannelSelect(MappedItems):
    """A paired dataset with its x and/or y reduced to one grey channel (the mean of R, G, B)."""

    def __init__(self, base: Dataset, x_channels: int, y_channels: int) -> None:
        super().__init__(base)
        self.x_channels = x_channels
        self.y_channels = y_channels

    def map(self, sample: dict[str, Any], item: Any) -> dict[str, Any]:
        if self.x_channels == 1:
            sample["x"] = sample["x"].mean(dim=0, keepdim=True)
        if self.y_channels == 1:
            sample["y"] = sample["y"].mean(dim=0, keepdim=True)
        return sample


def _plain_kind(image: Any) -> str:
    """'drawing', 'grey' or 'picture': the only distinctions that say which side is the input."""
    if looks_like_drawing(image):
        return "drawing"
    if looks_grey(image):
        return "grey"
    return "picture"


def detect_paired_direction(root: Path) -> str | None:
    """AtoB or BtoA when every sampled pair has a line drawing on one and the same side and something else
    on the other, or else a grey picture on one side and a colour one on the other; None when the data does
    not say (photo <-> label map, photo <-> photo: either way is a sensible task)."""
    kinds = [(_plain_kind(a), _plain_kind(b)) for a, b in sample_pairs(root, SAMPLE)]
    if all(ka == "drawing" and kb != "drawing" for ka, kb in kinds):
        return "AtoB"
    if all(kb == "drawing" and ka != "drawing" for ka, kb in kinds):
        return "BtoA"
    if all(ka == "grey" and kb == "picture" for ka, kb in kinds):
        return "AtoB"
    if all(kb == "grey" and ka == "picture" for ka, kb in kinds):
        return "BtoA"
    return None


class PairedTask(img2img.Task):
    """Plain A -> B translation on aligned pairs; subclass it to make a named task for one dataset."""

    name = "paired"
    description = "Your own aligned pairs (A|B files or A/ + B/ folders): learns B from A or A from B, as pix2pix."
    paired = True
    default_options: dict[str, Any] = {"direction": "auto", "flip": True, "in_channels": 3, "out_channels": 3}
    option_help = {
        "direction": f"which side is the input: {', '.join(DIRECTIONS)} (auto reads it from the data when it can)",
        "flip": "true/false: random horizontal flips in training (false for text, maps, anything with a left and right)",
        "in_channels": "1 (grey) or 3 (RGB) input",
        "out_channels": "1 (grey) or 3 (RGB) output",
    }

    def validate_options(self) -> None:
        if self.options["direction"] not in DIRECTIONS:
            raise ConfigError(f"{self.name}: task_options.direction must be one of {', '.join(DIRECTIONS)}")
        if not isinstance(self.options["flip"], bool):
            raise ConfigError(f"{self.name}: task_options.flip must be true or false")
        for key in ("in_channels", "out_channels"):
            value = self.options[key]
            if isinstance(value, bool) or value not in CHANNELS:
                raise ConfigError(f"{self.name}: task_options.{key} must be 1 (grey) or 3 (RGB), got {value!r}")
        # The channel counts are per configured copy: the trainer and the Translator read them after configure().
        self.in_channels = int(self.options["in_channels"])
        self.out_channels = int(self.options["out_channels"])

    def configure(self, **options: Any) -> "PairedTask":
        clone = super().configure(**options)
        clone._detected = False  # a configured copy (a run's task) records what the data decides, see direction_for
        return clone

    def direction_for(self, data_dir: Path) -> str:
        """The direction option, or the one the data makes unambiguous; ConfigError asking for it otherwise.

        In a configured copy (the task of a run), a detected direction replaces "auto" in the options, so
        config.json and the weights say which way the model translates; every further folder of the run is still
        checked and must agree. The registered task itself is never changed."""
        direction = self.options["direction"]
        if direction != "auto" and not getattr(self, "_detected", False):
            return direction
        detected = detect_paired_direction(Path(data_dir))
        if detected is None:
            raise ConfigError(
                f"{self.name}: cannot tell from {data_dir} which side is the input; "
                "add --set task_options.direction=AtoB (A -> B) or --set task_options.direction=BtoA (B -> A)"
            )
        if direction not in ("auto", detected):
            raise ConfigError(f"{self.name}: {data_dir} holds its pairs the other way round ({detected}) from the "
                              f"run's other folders ({direction}); set task_options.direction")
        if hasattr(self, "_detected"):
            self._detected = True
            self.options = {**self.options, "direction": detected}
        return detected

    def build_dataset(self, data_dir: Path | None, split: str, size: int, val_fraction: float = 0.1) -> Dataset:
        if data_dir is None:
            raise DataError(f"task '{self.name}' trains on your own pairs: give --data DIR "
                            "(A|B side-by-side images, or A/ and B/ folders with the same file names)")
        direction = self.direction_for(Path(data_dir))
        base = paired_dataset(data_dir, split, size, val_fraction, split == "train", direction,
                              flip=self.options["flip"])
        if self.in_channels == 3 and self.out_channels == 3:
            return base
        return ChannelSelect(base, self.out_channels, self.in_channels)


@img2img.hookimpl
def register_tasks(register):
    register(PairedTask())
