"""The inputs of ``img2img eval``: which images (the split, ``limit`` of them spread over it) and how they come,
from three builders: :func:`paired_inputs` (a folder's (x, y) pairs at one size), :func:`native_inputs` (the
same at each image's native size) and :func:`reference_inputs` (inputs without targets, plus a folder of real
photos). Each gives :class:`Inputs`: batches of one kind that :func:`img2img.evaluate.evaluate` scores.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from .data.io import list_images, load_image, warn_unreadable
from .data.transforms import PairedTransform
from .errors import ConfigError, DataError, Img2ImgError, UnreadableImageError
from .inference import Translator
from .metrics.report import NATIVE
from .metrics.scoring import capped, spread
from .seeding import stable_seed
from .task import Task, eval_inputs

SPLITS = ("auto", "val", "all")


def resolve_split(split: str, data_dir: str | Path | None, weights: list[Path],
                  extras: list[dict[str, str]]) -> tuple[str, str]:
    """Which images of ``data_dir`` to evaluate on, and a phrase saying so: (split, source).

    ``auto``: the folder the weights were trained on (their ``data`` metadata) -> its validation split, the
    only images of it the models never saw; any other folder -> all of its images (held-out photos are
    meant to be used whole); a folder inside or around the training folder is refused, since a validation
    split carved there would not be the one training left out. Weights that do not name their data ->
    the validation split, to be safe. ``val`` / ``all`` force the choice.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    if data_dir is None:
        return "val", "the validation split of the task's embedded dataset"
    named = f"{data_dir}"
    if split == "val":
        return "val", f"the validation split of {named}"
    if split == "all":
        return "all", f"all images of {named}"
    root = Path(data_dir).expanduser().resolve()
    trained = [folder for extra, path in zip(extras, weights) if extra.get("data")
               for folder in _training_folders(extra["data"], path)]
    for folder in trained:
        if folder == root:
            return "val", f"the validation split of {named} (the folder the models were trained on)"
        if folder in root.parents or root in folder.parents:
            raise ConfigError(f"{data_dir} overlaps {folder}, the folder the models were trained on: evaluate on "
                              f"{folder} itself (its validation split is used) or on images they never saw "
                              "(or force a choice with --split val|all)")
    if not trained:
        return "val", (f"the validation split of {named} (the weights do not say what they were trained on; "
                       "--split all uses every image)")
    return "all", f"all images of {named} (not the models' training folder)"


def _training_folders(data: str, weights: Path) -> list[Path]:
    """The training folders recorded in metadata: one path, or a JSON list of them (several folders)."""
    if data.startswith("["):
        try:
            names = json.loads(data)
        except ValueError:
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return [_training_folder(n, weights) for n in names]
    return [_training_folder(data, weights)]


def _training_folder(data: str, weights: Path) -> Path:
    """A training folder recorded in metadata; a relative one is taken from the directory training ran in,
    which for the shipped weights is the repository (``weights/..``), else the current one."""
    path = Path(data).expanduser()
    if path.is_absolute():
        return path.resolve()
    shipped = (Path(weights).resolve().parent.parent / path)
    return shipped.resolve() if shipped.exists() else path.resolve()


def _float_or(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default



# -- three builders, one kind of batch --------------------------------------------------------------------
@dataclass
class Batch:
    """Inputs scored together: their keys, targets x (None: no targets) and conditions y; ``scaled``: how many
    were scaled down to the native-size cap, ``skipped``: how many could not be made into a condition."""

    keys: list[str]
    x: Tensor | None
    y: Tensor | None
    scaled: int = 0
    skipped: int = 0


@dataclass
class Inputs:
    """What one builder gives the scoring loop: its batches (generated lazily, as the loop asks) and words."""

    batches: Iterator[Batch]
    count: int  # inputs to score (for the progress bar)
    split: str
    source: str  # which images, in words
    photos: Tensor | None = None  # the real set when the inputs have no targets


def paired_inputs(gan: Translator, reg: Translator, paths: dict[str, Path], data_dir: str | Path | None, split: str,
                  size: int, val_fraction: float | None, limit: int | None, batch_size: int,
                  native: bool = False, cap: int | None = None) -> Inputs:
    """The task's own (x, y) pairs of a folder's validation split or of all of it, ``limit`` of them spread."""
    if val_fraction is None:
        val_fraction = _float_or(gan.info.extra.get("val_fraction"), 0.1)
    split, source = resolve_split(split, data_dir, [paths["cgan"], paths["regression"]],
                                  [gan.info.extra, reg.info.extra])
    try:
        dataset = gan.task.build_dataset(Path(data_dir) if data_dir else None, split, size, val_fraction)
    except ValueError as exc:
        if native:
            raise _native_refused(gan.task, exc) from None
        raise
    if len(dataset) == 0:
        raise DataError(f"{source} has no images")
    chosen = spread(len(dataset), limit)

    def batches() -> Iterator[Batch]:
        for batch, scaled in _batches(dataset, chosen, batch_size, gan.task, native, cap):
            x, y = eval_inputs(gan.task, batch, gan.device)
            yield Batch([str(item["key"]) for item in batch], x, y, scaled)

    return Inputs(batches(), len(chosen), split, source)


def native_inputs(gan: Translator, reg: Translator, paths: dict[str, Path], data_dir: str | Path | None,
                  split: str, val_fraction: float | None, limit: int | None, batch_size: int,
                  cap: int | None) -> Inputs:
    """The pairs at their native size (size 0), those over ``cap`` scaled down to it; a task whose data cannot
    come whole is refused in one line."""
    return paired_inputs(gan, reg, paths, data_dir, split, NATIVE, val_fraction, limit, batch_size, True, cap)


def reference_inputs(gan: Translator, data_dir: str | Path, reference: str | Path, size: int, limit: int | None,
                     batch_size: int) -> Inputs:
    """Inputs without targets (e.g. sketches), each made into a condition by the task's ``prepare_input`` as
    ``predict`` does, and the real photos of ``reference`` to compare the outputs with."""
    inputs = _load_square(_image_files(data_dir, "--data", limit), size)
    photos = _reference_photos(gan.task, reference, size, limit)
    if len(inputs) < 1 or len(photos) < 2:
        raise DataError(f"need readable inputs in {data_dir} and at least 2 photos in {reference}")

    def batches() -> Iterator[Batch]:
        for first in range(0, len(inputs), batch_size):
            keys, conditions = [], []
            for name, image in inputs[first : first + batch_size]:
                try:
                    conditions.append(_at_scale(gan.task, gan.task.prepare_input(image[None].to(gan.device)), size))
                    keys.append(name)
                except Img2ImgError as exc:  # e.g. a blank sketch: skip it, as predict would refuse it
                    warnings.warn(f"skipping {name}: {exc}", stacklevel=2)
            skipped = len(inputs[first : first + batch_size]) - len(keys)
            yield Batch(keys, None, torch.cat(conditions) if conditions else None, skipped=skipped)

    source = f"all images of {data_dir} (inputs without targets); real set: {len(photos)} photos of {reference}"
    return Inputs(batches(), len(inputs), "all", source, photos)


def _image_files(folder: str | Path, flag: str, limit: int | None) -> list[Path]:
    """The images of a folder, ``limit`` of them spread over the sorted list."""
    if not Path(folder).is_dir():
        raise DataError(f"{flag} folder not found: {folder}")
    files = list_images(folder)
    if not files:
        raise DataError(f"{flag} {folder} has no images")
    return [files[i] for i in spread(len(files), limit)]


def _at_scale(task: Task, y: Tensor, size: int) -> Tensor:
    """The condition brought back to the photos' scale when ``prepare_input`` enlarged it (sketch2photo brings a
    drawing to the app's 256 px canvas): outputs at twice the photos' scale would halve their measured sharpness
    and skew SWD, which compare pixel statistics at one scale. A condition that only grew on some sides (uncrop
    adds a band) keeps its scale: its shorter side is still ``size``."""
    height, width = y.shape[-2:]
    if min(height, width) <= size:
        return y
    scale = size / min(height, width)
    return task.resize_condition(y, (max(1, round(height * scale)), max(1, round(width * scale))))


def _reference_photos(task: Task, reference: str | Path, size: int, limit: int | None) -> Tensor:
    """The real images of ``reference`` as the task reads its targets x, so that a folder of A|B pairs gives its
    photo side (read as plain images, the edge half would count as "real"); a folder the task cannot read as
    training data is taken as plain photos."""
    _image_files(reference, "--reference", limit)  # one clear line for a missing or empty folder
    try:
        dataset = task.build_dataset(Path(reference), "all", size, 0.1)
        return torch.stack([dataset[i]["x"] for i in spread(len(dataset), limit)])
    except (ConfigError, DataError):
        return torch.stack([image for _, image in _load_square(_image_files(reference, "--reference", limit), size)])


def _load_square(files: list[Path], size: int) -> list[tuple[str, Tensor]]:
    """(name, image) pairs, each scaled and centre-cropped to size x size as eval's datasets do; unreadable
    files are skipped with a warning."""
    transform = PairedTransform(size, train=False)
    loaded = []
    for path in files:
        try:
            image = load_image(path)
        except UnreadableImageError as err:
            warn_unreadable(err)
            continue
        loaded.append((path.name, transform(np.asarray(image))[0]))
    return loaded


def _shape_key(item: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(item[name].shape) for name in ("x", "y") if name in item)


def _native_refused(task: Task, exc: Exception) -> ConfigError:
    """A task whose data cannot come at size 0 (a plugin dataset that needs a crop size) in one line."""
    return ConfigError(f"task '{task.name}' cannot read its data at native size (--size 0): {exc}; evaluate it at "
                       "one size (--size N)")


def _batches(dataset: Any, chosen: list[int], batch_size: int, task: Task, native: bool,
             max_side: int | None) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """Items in dataset order, as batches of at most ``batch_size`` items of one shape (at native size a new
    shape starts a new batch), each with how many of its items were scaled down to ``max_side``."""
    batch: list[dict[str, Any]] = []
    scaled = 0
    for i in chosen:
        try:
            loaded = dataset[(i, stable_seed("eval", i))]
        except ValueError as exc:  # e.g. a plugin's PairedTransform(0, train=True) or a renderer given 0 px
            if native:
                raise _native_refused(task, exc) from None
            raise
        item, shrunk = capped(loaded, task, max_side)
        if batch and (len(batch) == batch_size or _shape_key(item) != _shape_key(batch[0])):
            yield batch, scaled
            batch, scaled = [], 0
        batch.append(item)
        scaled += shrunk
    if batch:
        yield batch, scaled
