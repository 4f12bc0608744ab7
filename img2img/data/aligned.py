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

    def __init__(self, root: str | os.PathLike[str], split: str, size: int, train: bool, direction: str,
                 flip: bool = True) -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"unknown direction '{direction}' (expected AtoB or BtoA)")
        super().__init__(root, split, size, train, flip)
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
        flip: bool = True,
    ) -> None:
        super().__init__(root, split, size, train, direction, flip)
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
        flip: bool = True,
    ) -> None:
        super().__init__(root, split, size, train, direction, flip)
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
    flip: bool = True,
) -> Dataset:
    """:class:`PairedFoldersDataset` if ``root`` has A/ and B/ subfolders, else :class:`AlignedDataset`.

    ``flip``: random horizontal flips when training (off for data where mirroring changes the meaning).
    """
    root = Path(root)
    if (root / "A").is_dir() and (root / "B").is_dir():
        return PairedFoldersDataset(root, split, size, val_fraction, train, direction, flip)
    return AlignedDataset(root, split, size, val_fraction, train, direction, flip)


def sample_pairs(root: str | os.PathLike[str], count: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``count`` (A, B) pairs as HWC uint8 RGB arrays, spread over the sorted files of either layout.

    For deciding things about a dataset cheaply (which side is the condition, whether a task fits it)
    without building it; unreadable files are skipped. DataError if the folder holds no pairs at all.
    """
    root = Path(root)
    pairs: list[tuple[Path, Path | None]]
    if (root / "A").is_dir() and (root / "B").is_dir():
        by_name_a = _index_by_stem(list_images(root / "A"), root / "A")
        by_name_b = _index_by_stem(list_images(root / "B"), root / "B")
        pairs = [(by_name_a[n], by_name_b[n]) for n in sorted(by_name_a.keys() & by_name_b.keys())]
    else:
        pairs = [(f, None) for f in list_images(root)]
    if not pairs:
        raise DataError(f"no image pairs found in {root}")
    stride = max(1, len(pairs) // count)
    sampled: list[tuple[np.ndarray, np.ndarray]] = []
    for path_a, path_b in pairs[::stride]:
        if len(sampled) == count:
            break
        try:
            if path_b is None:
                pixels = np.asarray(load_image(path_a))
                half = pixels.shape[1] // 2
                if half == 0:
                    continue
                sampled.append((pixels[:, :half], pixels[:, half : 2 * half]))
            else:
                sampled.append((np.asarray(load_image(path_a)), np.asarray(load_image(path_b))))
        except UnreadableImageError:
            continue
    if not sampled:
        raise DataError(f"none of the sampled image pairs in {root} could be read")
    return sampled
