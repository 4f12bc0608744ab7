"""Paired data: aligned A|B files, A/ and B/ folders, direction, and shared augmentation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from img2img.data.aligned import AlignedDataset, PairedFoldersDataset, paired_dataset
from img2img.errors import ConfigError, DataError


def _solid(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _aligned(path: Path, left: np.ndarray, right: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([left, right], axis=1)).save(path)


RED = np.full((8, 8, 3), (255, 0, 0), dtype=np.uint8)
BLUE = np.full((8, 8, 3), (0, 0, 255), dtype=np.uint8)


@pytest.mark.parametrize(("direction", "x_channel", "y_channel"), [("AtoB", 2, 0), ("BtoA", 0, 2)])
def test_aligned_direction(tmp_path: Path, direction: str, x_channel: int, y_channel: int) -> None:
    _aligned(tmp_path / "pair.png", RED, BLUE)  # A (left) red, B (right) blue
    ds = AlignedDataset(tmp_path, "all", 8, 0.1, train=False, direction=direction)
    item = ds[0]
    assert set(item) == {"x", "y", "key"} and item["key"] == "pair.png"
    assert item["x"][x_channel].eq(1).all() and item["y"][y_channel].eq(1).all()


def test_aligned_halves_share_the_augmentation(tmp_path: Path) -> None:
    half = np.random.default_rng(0).integers(0, 256, (20, 14, 3), dtype=np.uint8)
    _aligned(tmp_path / "same.png", half, half)
    ds = AlignedDataset(tmp_path, "all", 8, 0.1, train=True)
    for seed in range(5):
        item = ds[(0, seed)]
        assert torch.equal(item["x"], item["y"])
    assert torch.equal(ds[(0, 3)]["x"], ds[(0, 3)]["x"])


def test_aligned_bad_direction_and_narrow_file(tmp_path: Path) -> None:
    _solid(tmp_path / "thin.png", (0, 0, 0), size=(1, 8))
    with pytest.raises(ConfigError):
        AlignedDataset(tmp_path, direction="sideways")
    ds = AlignedDataset(tmp_path, "all", 8, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="could be read"):
            ds[0]


def test_paired_folders_match_by_name(tmp_path: Path) -> None:
    _solid(tmp_path / "A" / "one.png", (255, 0, 0))
    _solid(tmp_path / "B" / "one.jpg", (0, 0, 255))  # extension may differ
    _solid(tmp_path / "A" / "sub" / "two.png", (255, 0, 0))
    _solid(tmp_path / "B" / "sub" / "two.png", (0, 0, 255), size=(16, 16))  # partner of another size
    _solid(tmp_path / "A" / "lonely.png", (0, 0, 0))
    _solid(tmp_path / "B" / "orphan.png", (0, 0, 0))
    with pytest.warns(UserWarning, match="2 images"):
        ds = PairedFoldersDataset(tmp_path, "all", 8, 0.1, train=False)
    assert len(ds) == 2 and ds.keys == ["one.png", "sub/two.png"]
    for index in range(2):
        item = ds[index]
        assert item["x"].shape == item["y"].shape == (3, 8, 8)
        assert item["x"][2].mean() > 0.9 and item["y"][0].mean() > 0.9  # AtoB: x is B (blue), y is A (red)


def test_paired_folders_without_pairs(tmp_path: Path) -> None:
    _solid(tmp_path / "A" / "a.png", (0, 0, 0))
    _solid(tmp_path / "B" / "b.png", (0, 0, 0))
    with pytest.raises(DataError, match="no matching pairs"):
        PairedFoldersDataset(tmp_path)


def test_paired_folders_share_the_augmentation(tmp_path: Path) -> None:
    arr = np.random.default_rng(2).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    for side in "AB":
        (tmp_path / side).mkdir()
        Image.fromarray(arr).save(tmp_path / side / "p.png")
    ds = PairedFoldersDataset(tmp_path, "all", 8, 0.1, train=True)
    for seed in range(5):
        item = ds[(0, seed)]
        assert torch.equal(item["x"], item["y"])


def test_paired_dataset_detects_layout(tmp_path: Path) -> None:
    _solid(tmp_path / "folders" / "A" / "a.png", (0, 0, 0))
    _solid(tmp_path / "folders" / "B" / "a.png", (0, 0, 0))
    _aligned(tmp_path / "aligned" / "a.png", RED, BLUE)
    assert isinstance(paired_dataset(tmp_path / "folders", "all", 8, 0.1, False, "AtoB"), PairedFoldersDataset)
    assert isinstance(paired_dataset(tmp_path / "aligned", "all", 8, 0.1, False, "AtoB"), AlignedDataset)


def test_empty_val_split(tmp_path: Path) -> None:
    _aligned(tmp_path / "a.png", RED, BLUE)
    with pytest.raises(DataError, match="validation split"):
        AlignedDataset(tmp_path, "val", 8, val_fraction=0.0)
