"""sketch2photo: a line drawing in, a photo out (the pix2pix "edges2shoes" demo).

Data, in order of preference:
- paired data: pix2pix "aligned" images (A | B side by side) or ``A/`` + ``B/`` folders. Which side holds
  the sketch is detected (the mostly-white, colourless half) unless ``task_options.direction`` says AtoB/BtoA;
  pairs that are not a line drawing beside a picture (checked on a sample) are refused with a pointer to the
  ``paired`` task;
- any folder of photos: sketches are extracted on the fly (:mod:`.edges`: Canny / XDoG, randomly thickened and
  broken);
- no ``--data``: the embedded procedural scenes, with extracted sketches.
Hand-drawn input is normalised (binarised, thinned, cropped to its strokes, padded square: :mod:`.user_drawings`)
in ``prepare_input``; the app's examples are drawn by code (:mod:`.examples`).

``task_options.sketch_style`` ("mixed" by default, "human", "machine") makes training conditions look drawn by
a person (:mod:`.sketch_style`): for photo folders in ``make_condition``, for paired data on the dataset's y.
Evaluation conditions stay clean and fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

import img2img
from img2img.data.aligned import paired_dataset, sample_pairs
from img2img.data.io import list_images, load_image, pil_to_tensor
from img2img.data.looks import looks_like_drawing
from img2img.errors import ConfigError, DataError, Img2ImgError
from img2img.data.folders import ConcatItems, MappedItems, parse_item
from img2img.seeding import make_generator, stable_seed
from img2img.task import COMPACT, AppHints

from .edges import extract_sketch
from .examples import draw_example_sketches
from .sketch_style import STYLES, apply_style
from .user_drawings import is_blank_sketch, normalize_user_sketch

LAYOUTS = ("auto", "aligned", "paired", "photos")
DIRECTIONS = ("auto", "AtoB", "BtoA")
METHODS = ("mixed", "canny", "xdog")
INK_THRESHOLD = 0.5
INPUT_SIZE = 256  # hand-drawn sketches are normalised to this size (the app's canvas)


class SketchCondition(MappedItems):
    """Wraps a paired dataset: its y (a line drawing, any colour) becomes a 1-channel binary sketch.

    With ``style`` other than "machine" (training only), y is also given the hand-drawn look, drawn from a
    generator seeded by the item's seed (the trainer's ``(index, seed)`` items), so resumes are exact.
    """

    def __init__(self, base: Dataset, style: str = "machine") -> None:
        super().__init__(base)
        self.style = style

    def map(self, sample: dict[str, Any], item: Any) -> dict[str, Any]:
        grey = sample["y"].mean(dim=0, keepdim=True)
        # Downscaling turns 1-px black edges grey (about -0.5 at 128 px, -0.25 at 64 px for edges2shoes);
        # anything clearly darker than the paper is ink. White paper = +1, ink = -1, as extracted sketches.
        sample["y"] = torch.where(grey > INK_THRESHOLD, 1.0, -1.0)
        if self.style != "machine":
            _, seed = parse_item(item, len(self))
            gen = make_generator(stable_seed("sketch-style", sample["key"] if seed is None else seed))
            sample["y"] = apply_style(sample["y"][None], gen, self.style)[0]
        return sample


class ExtractedSketches(MappedItems):
    """Wraps a photo folder's dataset so that its items carry a sketch y, extracted item by item: then photo
    folders batch together with paired folders (``train --data PAIRS --data PHOTOS``). Training items get
    ``make_condition`` (augmented, seeded by the item's seed), validation items the fixed evaluation sketch."""

    def __init__(self, base: Dataset, task: "Sketch2PhotoTask", train: bool) -> None:
        super().__init__(base)
        self.task, self.train = task, train

    def map(self, sample: dict[str, Any], item: Any) -> dict[str, Any]:
        x = sample["x"][None]
        if self.train:
            _, seed = parse_item(item, len(self))
            gen = make_generator(stable_seed("sketch-extract", sample["key"] if seed is None else seed))
            sample["y"] = self.task.make_condition(x, gen)[0]
        else:
            sample["y"] = self.task.make_eval_condition(x, [sample["key"]])[0]
        return sample


def whiteness(image: Tensor) -> float:
    """How sketch-like an image (3,H,W in [-1, 1]) is: the fraction of near-white, colourless pixels."""
    unit = (image + 1) / 2
    saturation = unit.max(dim=0).values - unit.min(dim=0).values
    return float(((unit.min(dim=0).values > 0.85) & (saturation < 0.1)).float().mean())


def detect_layout(root: Path) -> str:
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "paired"
    files = list_images(root)[:8]
    if not files:
        raise DataError(f"no images found in {root}")
    wide = sum(1 for f in files if _is_wide(f))
    return "aligned" if wide > len(files) // 2 else "photos"


def _is_wide(path: Path) -> bool:
    try:
        w, h = load_image(path).size
    except DataError:
        return False
    return w >= 1.9 * h


def detect_direction(root: Path, layout: str) -> str:
    """AtoB if the A side looks like the sketch, else BtoA (judged on up to 16 files)."""
    if layout == "paired":
        pairs = [(root / "A" / p.relative_to(root / "A"), None) for p in list_images(root / "A")[:16]]
        a_scores, b_scores = [], []
        for a_path, _ in pairs:
            b_candidates = list((root / "B" / a_path.relative_to(root / "A")).parent.glob(a_path.stem + ".*"))
            if b_candidates:
                a_scores.append(whiteness(pil_to_tensor(load_image(a_path))))
                b_scores.append(whiteness(pil_to_tensor(load_image(b_candidates[0]))))
    else:
        a_scores, b_scores = [], []
        for path in list_images(root)[:16]:
            image = pil_to_tensor(load_image(path))
            half = image.shape[2] // 2
            a_scores.append(whiteness(image[:, :, :half]))
            b_scores.append(whiteness(image[:, :, half : 2 * half]))
    if not a_scores:
        raise DataError(f"cannot tell which side of the pairs in {root} is the sketch; set task_options.direction")
    return "AtoB" if sum(a_scores) >= sum(b_scores) else "BtoA"


def check_sketch_pairs(root: Path, direction: str, count: int = 8) -> None:
    """DataError unless most of ``count`` sampled pairs hold a line drawing on the sketch side and a picture
    (not another drawing) on the other: pairs of anything else (label maps, photos, day/night) would train
    the wrong problem without a word, so they are sent to the ``paired`` task."""
    sampled = sample_pairs(root, count)
    fitting = 0
    for a, b in sampled:
        sketch, photo = (a, b) if direction == "AtoB" else (b, a)
        fitting += looks_like_drawing(sketch) and not looks_like_drawing(photo)
    if fitting * 2 <= len(sampled):
        raise DataError(
            f"sketch2photo: the pairs in {root} are not line drawings beside pictures ({fitting} of "
            f"{len(sampled)} sampled look so); train other pairs with --task paired "
            "--set task_options.direction=AtoB (or BtoA)"
        )


class Sketch2PhotoTask(img2img.Task):
    name = "sketch2photo"
    description = "Turn a line drawing into a photo (pix2pix edges2shoes); trains on pairs or on any photo folder."
    in_channels = 1
    out_channels = 3
    default_options = {"layout": "auto", "direction": "auto", "sketch": "mixed", "sketch_style": "mixed"}
    # The best recipe measured in one command (weights/configs/sketch2photo-*.json train it as a pair, adding only
    # data, length and bookkeeping; the shipped files still come from a chain of fine-tunes on the from-scratch
    # U-Net, weights/recipes, whose colours the pair does not match yet: docs/experiments.md), so that
    # ``img2img train --task sketch2photo --data DIR`` trains it: a U-Net around the ImageNet EfficientNet-Lite0
    # encoder (it knows what leather, soles and straps look like; in equal CPU time it led today's U-Net on LPIPS
    # and SWD and drew sharper, docs/performance.md) with latent FiLM and per-pixel noise inputs, as instance norm
    # erases a concatenated z. The cGAN's losses are those that made the from-scratch model sharp and varied
    # (docs/experiments.md): the reconstruction terms on the closer of each pair of samples (a sketch has many
    # photos; L1 on every sample pulls them all to the mean) with L1 x 30; a pixel PatchGAN beside the projected
    # discriminator (no dotted grid on flat surfaces); mode seeking measured with LPIPS on blurred samples (the
    # samples differ in colour and finish, not in pixel noise); DiffAugment without colour jitter (the
    # discriminator then sees that a sample's tone does not match its kind).
    defaults = {**COMPACT, "generator.encoder": "lite0", "generator.film": True, "generator.noise": True,
                "discriminator.kind": "both", "discriminator.augment": "translation,cutout",
                "loss.reconstruction": "best_of_pair", "loss.l1_weight": 30.0,
                "loss.mode_seeking_distance": "lpips", "loss.mode_seeking_blur": 3.0}
    option_help = {
        "layout": f"how --data is laid out: {', '.join(LAYOUTS)} (photos: any photo folder, sketches extracted)",
        "direction": f"for A|B pairs, which side is the sketch: {', '.join(DIRECTIONS)}",
        "sketch": f"sketch extraction from photos: {', '.join(METHODS)}",
        "sketch_style": f"training sketches made to look drawn by a person: {', '.join(STYLES)}",
    }
    app = AppHints(input_kind="sketch", input_label="Draw a shoe or a handbag (black on white)")
    # Paint at the training size and upscale: a 128 px model run on the app's 256 px canvas left the inside of
    # large hand-drawn outlines (bags, boots) white, since its receptive field covered only half the object.
    work_scale = 1.0

    def validate_options(self) -> None:
        for key, allowed in (("layout", LAYOUTS), ("direction", DIRECTIONS), ("sketch", METHODS),
                             ("sketch_style", STYLES)):
            if self.options[key] not in allowed:
                raise ConfigError(f"sketch2photo: task_options.{key} must be one of {', '.join(allowed)}")

    def build_dataset(self, data_dir: Path | None, split: str, size: int, val_fraction: float = 0.1) -> Dataset:
        if data_dir is None:
            return super().build_dataset(None, split, size, val_fraction)
        layout = self.options["layout"]
        if layout == "auto":
            layout = detect_layout(Path(data_dir))
        if layout == "photos":
            return super().build_dataset(data_dir, split, size, val_fraction)
        direction = self.options["direction"]
        if direction == "auto":
            direction = detect_direction(Path(data_dir), layout)
        check_sketch_pairs(Path(data_dir), direction)
        train = split == "train"
        return SketchCondition(paired_dataset(data_dir, split, size, val_fraction, train, direction),
                               style=self.options["sketch_style"] if train else "machine")

    def build_datasets(self, data_dirs: Sequence[Path], split: str, size: int, val_fraction: float = 0.1) -> Dataset:
        """Several folders; paired and photo folders mix, the photos' sketches then extracted item by item."""
        if len(data_dirs) < 2:
            return super().build_datasets(data_dirs, split, size, val_fraction)
        parts = [self.build_dataset(Path(d), split, size, val_fraction) for d in data_dirs]
        if any(isinstance(p, SketchCondition) for p in parts):
            parts = [p if isinstance(p, SketchCondition) else ExtractedSketches(p, self, split == "train")
                     for p in parts]
        return ConcatItems(parts, [str(d) for d in data_dirs])

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        sketch = extract_sketch(x, generator, method=self.options["sketch"], augment=True)
        return apply_style(sketch, generator, self.options["sketch_style"])

    def make_eval_condition(self, x: Tensor, keys: Sequence[str]) -> Tensor:
        # Evaluation sketches are clean (no stroke augmentation) and fixed per image.
        return torch.cat([
            extract_sketch(x[i : i + 1], make_generator(stable_seed("eval", self.name, k), x.device),
                           method=self.options["sketch"], augment=False)
            for i, k in enumerate(keys)
        ])

    def prepare_input(self, image: Tensor, **_: Any) -> Tensor:
        sketch = normalize_user_sketch(image, size=INPUT_SIZE)
        if is_blank_sketch(sketch):
            raise Img2ImgError("the sketch is empty: draw a few black strokes first")
        return sketch

    def resize_condition(self, y: Tensor, size: tuple[int, int]) -> Tensor:
        # Binary again after the resize, by the rule training conditions follow (SketchCondition).
        grey = super().resize_condition(y, size)
        return torch.where(grey > INK_THRESHOLD, 1.0, -1.0).to(y.dtype)

    def examples(self) -> list[Tensor]:
        return [s.expand(-1, 3, -1, -1) for s in draw_example_sketches(INPUT_SIZE)]


@img2img.hookimpl
def register_tasks(register):
    register(Sketch2PhotoTask())
