"""A folder of photos as a dataset of targets ``{"x", "key"}``, split into train/val by file name."""

from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError, UnreadableImageError
from ..seeding import stable_seed, unit_interval
from .io import list_images, load_image, warn_unreadable
from .transforms import PairedTransform

SPLITS = ("train", "val", "all")

T = TypeVar("T")


def relative_key(path: Path, root: Path) -> str:
    """The path of ``path`` under ``root`` with forward slashes: the file's identity on every OS."""
    return path.relative_to(root).as_posix()


def split_files(files: list[Path], root: Path, split: str, val_fraction: float) -> list[Path]:
    """The files of ``split`` ("train", "val" or "all").

    A file is in val when ``unit_interval(its path relative to root) < val_fraction``: the decision depends
    on the file's own name only, so adding or removing other files never moves it between splits.
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}' (expected one of {', '.join(SPLITS)})")
    if not 0.0 <= val_fraction <= 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if split == "all":
        return list(files)
    want_val = split == "val"
    root = Path(root)
    return [f for f in files if (unit_interval(relative_key(Path(f), root)) < val_fraction) == want_val]


def empty_split_error(root: Path, split: str) -> DataError:
    """The message for a split that ended up empty, saying which knob fixes it."""
    if split == "val":
        return DataError(f"validation split of {root} is empty: add images or raise --val-fraction")
    return DataError(f"{split} split of {root} is empty: add images or lower --val-fraction")


def parse_item(item: int | tuple[int, int], length: int) -> tuple[int, int | None]:
    """Split a dataset item into (index, seed); a bare index means "any randomness will do".

    Out-of-range indices raise IndexError (plain ``for item in dataset`` iteration relies on it); negative
    ones count from the end like a list.
    """
    seed: int | None = None
    if isinstance(item, tuple):
        index, seed = int(item[0]), int(item[1])
    else:
        index = int(item)
    if not -length <= index < length:
        raise IndexError(f"index {index} out of range for a dataset of {length} items")
    return index % length, seed


def load_skipping_unreadable(index: int, count: int, unreadable: set[int], load: Callable[[int], T], where: str) -> T:
    """``load(i)`` for the first readable i from ``index`` on (wrapping around).

    Unreadable files are warned about once and remembered in ``unreadable`` so later epochs skip them
    without retrying: one bad download must not end a long run. :class:`DataError` if none can be read.
    """
    for step in range(count):
        candidate = (index + step) % count
        if candidate in unreadable:
            continue
        try:
            return load(candidate)
        except UnreadableImageError as err:
            warn_unreadable(err)
            unreadable.add(candidate)
    raise DataError(f"none of the {count} images in {where} could be read")


def list_split(root: Path, split: str, val_fraction: float) -> list[Path]:
    """The images of ``root`` (recursively) that fall in ``split``; DataError if there are none."""
    files = list_images(root)
    if not files:
        raise DataError(f"no images found in {root}")
    chosen = split_files(files, root, split, val_fraction)
    if not chosen:
        raise empty_split_error(root, split)
    return chosen


class FileDataset(Dataset):
    """Shared plumbing of the file-backed datasets: ``(index, seed)`` items, one key per item, paired
    augmentation, and unreadable files warned about once and replaced by the next readable one.
    Subclasses set ``self.keys`` and implement ``_load(i, seed)``."""

    keys: list[str]

    def __init__(self, root: str | os.PathLike[str], split: str, size: int, train: bool, flip: bool = True,
                 rescale: bool | str = True, zoom: float = 1.0) -> None:
        self.root = Path(root)
        self.split = split
        self.size = size
        self.transform = PairedTransform(size, train, flip, rescale, zoom)
        self._unreadable: set[int] = set()

    def __len__(self) -> int:
        return len(self.keys)

    def _load(self, i: int, seed: int | None) -> dict[str, object]:
        raise NotImplementedError

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, object]:
        index, seed = parse_item(item, len(self))
        where = f"the {self.split} split of {self.root}"
        return load_skipping_unreadable(index, len(self), self._unreadable, lambda i: self._load(i, seed), where)


class ImageFolderDataset(FileDataset):
    """Every image under ``root`` (recursively) as ``{"x": Tensor[3, size, size], "key": relative path}``.

    An unreadable file is warned about once and replaced by the next readable one, so one bad download
    does not end a long run; :class:`DataError` only if no file at all can be read.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        size: int = 128,
        val_fraction: float = 0.1,
        train: bool = True,
        rescale: bool | str = True,
        zoom: float = 1.0,
    ) -> None:
        super().__init__(root, split, size, train, rescale=rescale, zoom=zoom)
        self.files = list_split(self.root, split, val_fraction)
        self.keys = [relative_key(f, self.root) for f in self.files]

    def _load(self, i: int, seed: int | None) -> dict[str, object]:
        x, _ = self.transform(np.asarray(load_image(self.files[i])), seed=seed)
        return {"x": x, "key": self.keys[i]}


class ConcatItems(Dataset):
    """Several datasets end to end, passing ``(index, seed)`` items through (``torch``'s ConcatDataset
    takes bare indices only). Every part must yield the same keys ("x", "y", ...), or batches could not be
    collated: a mixed list raises ConfigError naming the folders."""

    def __init__(self, parts: list[Dataset], names: list[str]) -> None:
        kinds = {name: tuple(sorted(k for k in part[0] if k != "key")) for part, name in zip(parts, names) if len(part)}
        if len(set(kinds.values())) > 1:
            listed = "; ".join(f"{name}: {', '.join(k)}" for name, k in kinds.items())
            raise ConfigError(f"these data folders give different kinds of examples and cannot be mixed ({listed})")
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts]).tolist()

    def __len__(self) -> int:
        return self.offsets[-1]

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, object]:
        index, seed = parse_item(item, len(self))
        part = bisect.bisect_right(self.offsets, index) - 1
        local = index - self.offsets[part]
        return self.parts[part][local if seed is None else (local, seed)]


class Reweighted(Dataset):
    """A dataset drawn ``weight`` times as often per pass: ``round(weight * n)`` items, the first
    ``floor(weight) * n`` of them ``floor(weight)`` whole passes over it, the rest files picked by the item's seed
    (with replacement; by index without a seed). So weight 3 is the folder listed three times, 0.5 about half of
    its files per epoch, and every item is still a pure function of ``(index, seed)`` (exact ``--resume``)."""

    def __init__(self, base: Dataset, weight: float) -> None:
        if not weight > 0:
            raise ValueError(f"weight must be > 0, got {weight}")
        self.base = base
        self.n = len(base)
        self.whole = int(weight) * self.n
        self.length = max(1, round(weight * self.n)) if self.n else 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, object]:
        index, seed = parse_item(item, len(self))
        if index < self.whole or seed is None:
            local = index % self.n
        else:
            local = stable_seed(seed, "reweighted") % self.n
        return self.base[local if seed is None else (local, seed)]


class MappedItems(Dataset):
    """Another dataset's items, each changed by :meth:`map` (given the item as fetched, ``index`` or
    ``(index, seed)``, for seeded changes); every other attribute (keys, files, root ...) is the wrapped one's,
    which eval and the trainer read. Subclasses implement ``map``."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, item: Any) -> dict[str, Any]:
        return self.map(dict(self.base[item]), item)

    def map(self, sample: dict[str, Any], item: Any) -> dict[str, Any]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name == "base":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)
