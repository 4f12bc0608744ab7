"""Paired datasets ``{"x", "y", "key"}``: pix2pix "aligned" files (A | B side by side) or A/ and B/ folders.

Direction "AtoB" makes A the condition y and B the target x (the model learns B from A); "BtoA" swaps them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError, UnreadableImageError
from .folders import FileDataset, empty_split_error, list_split, relative_key, split_files
from .io import list_images, load_image

DIRECTIONS = ("AtoB", "BtoA")
T = TypeVar("T")

_REPORTED_UNMATCHED: set[str] = set()


class _PairedDataset(FileDataset):
    """FileDataset of (A, B) pairs; ``direction`` decides which side is the condition y."""

    def __init__(self, root: str | os.PathLike[str], split: str, size: int, train: bool, direction: str) -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"unknown direction '{direction}' (expected AtoB or BtoA)")
        super().__init__(root, split, size, train)
        self.direction = direction

    def _orient(self, a: T, b: T) -> tuple[T, T]:
        """(condition, target) from the A and B sides."""
        return (a, b) if self.direction == "AtoB" else (b, a)


class AlignedDataset(_PairedDataset):
    """Files that hold A and B side by side; split at ``width // 2`` (an odd last column is dropped)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        size: int = 128,
        val_fraction: float = 0.1,
        train: bool = True,
        direction: str = "AtoB",
    ) -> None:
        super().__init__(root, split, size, train, direction)
        self.files = list_split(self.root, split, val_fraction)
        self.keys = [relative_key(f, self.root) for f in self.files]

    def _load(self, i: int, seed: int | None) -> dict[str, object]:
        path = self.files[i]
        pixels = np.asarray(load_image(path))
        half = pixels.shape[1] // 2
        if half == 0:
            raise UnreadableImageError(path, "too narrow to hold A | B side by side")
        a, b = pixels[:, :half], pixels[:, half : 2 * half]
        cond, target = self._orient(a, b)
        x, y = self.transform(target, cond, seed=seed)
        return {"x": x, "y": y, "key": self.keys[i]}


class PairedFoldersDataset(_PairedDataset):
    """``root/A/<name>.*`` paired with ``root/B/<name>.*``: same relative name, extension may differ.

    Files without a partner are skipped with one warning giving their count. When the partners differ in
    size, the condition is resized to the target's size so that one crop fits both.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        size: int = 128,
        val_fraction: float = 0.1,
        train: bool = True,
        direction: str = "AtoB",
    ) -> None:
        super().__init__(root, split, size, train, direction)
        dir_a, dir_b = self.root / "A", self.root / "B"
        by_name_a = _index_by_stem(list_images(dir_a), dir_a)
        by_name_b = _index_by_stem(list_images(dir_b), dir_b)
        names = sorted(by_name_a.keys() & by_name_b.keys())
        if not names:
            raise DataError(
                f"no matching pairs in {dir_a} and {dir_b} ({len(by_name_a)} and {len(by_name_b)} images): "
                "files are paired by the same name under A/ and B/ (the extension may differ)"
            )
        unmatched = sorted(by_name_a.keys() ^ by_name_b.keys())
        if unmatched and str(self.root) not in _REPORTED_UNMATCHED:
            _REPORTED_UNMATCHED.add(str(self.root))
            warnings.warn(
                f"{len(unmatched)} images in {dir_a} / {dir_b} have no partner and are skipped "
                f"(e.g. '{unmatched[0]}')",
                UserWarning,
                stacklevel=2,
            )
        # Split on A's relative path so the decision is the one ImageFolderDataset(root/A) would make.
        files_a = split_files([by_name_a[n] for n in names], dir_a, split, val_fraction)
        if not files_a:
            raise empty_split_error(self.root, split)
        self.pairs = [(fa, by_name_b[_stem_key(fa, dir_a)]) for fa in files_a]
        self.keys = [relative_key(fa, dir_a) for fa in files_a]

    def _load(self, i: int, seed: int | None) -> dict[str, object]:
        path_a, path_b = self.pairs[i]
        a, b = load_image(path_a), load_image(path_b)
        cond, target = self._orient(a, b)
        if cond.size != target.size:
            cond = cond.resize(target.size, Image.Resampling.BICUBIC)
        x, y = self.transform(np.asarray(target), np.asarray(cond), seed=seed)
        return {"x": x, "y": y, "key": self.keys[i]}


def _stem_key(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def _index_by_stem(files: list[Path], root: Path) -> dict[str, Path]:
    """Relative name without extension -> file; with duplicates (a.png, a.jpg) the first sorted one wins."""
    index: dict[str, Path] = {}
    for path in files:
        index.setdefault(_stem_key(path, root), path)
    return index


def paired_dataset(
    root: str | os.PathLike[str],
    split: str = "train",
    size: int = 128,
    val_fraction: float = 0.1,
    train: bool = True,
    direction: str = "AtoB",
) -> Dataset:
    """:class:`PairedFoldersDataset` if ``root`` has A/ and B/ subfolders, else :class:`AlignedDataset`."""
    root = Path(root)
    if (root / "A").is_dir() and (root / "B").is_dir():
        return PairedFoldersDataset(root, split, size, val_fraction, train, direction)
    return AlignedDataset(root, split, size, val_fraction, train, direction)
