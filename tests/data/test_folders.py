"""Photo folders: deterministic splits, clear errors, and unreadable files skipped instead of crashing."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from img2img.data.folders import ImageFolderDataset, split_files
from img2img.data.io import list_images
from img2img.errors import ConfigError, DataError


def _write(path: Path, seed: int = 0, size: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _folder(root: Path, count: int) -> list[Path]:
    return [_write(root / f"sub{i % 3}" / f"img{i:03d}.png", seed=i) for i in range(count)]


def test_split_disjoint_complete_deterministic(tmp_path: Path) -> None:
    files = sorted(_folder(tmp_path, 60))
    train = split_files(files, tmp_path, "train", 0.25)
    val = split_files(files, tmp_path, "val", 0.25)
    assert set(train).isdisjoint(val) and sorted(train + val) == files
    assert 0 < len(val) < len(train)
    assert val == split_files(list(files), tmp_path, "val", 0.25)
    assert split_files(files, tmp_path, "all", 0.25) == files
    assert split_files(files, tmp_path, "val", 0.0) == []


def test_split_stable_when_files_are_added(tmp_path: Path) -> None:
    before = _folder(tmp_path, 30)
    val_before = set(split_files(before, tmp_path, "val", 0.3))
    after = list_images(tmp_path) + [_write(tmp_path / "new" / f"extra{i}.png") for i in range(10)]
    val_after = set(split_files(after, tmp_path, "val", 0.3))
    assert val_after & set(before) == val_before


def test_split_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        split_files([], tmp_path, "test", 0.1)
    with pytest.raises(ConfigError):
        split_files([], tmp_path, "val", 1.5)


def test_dataset_items(tmp_path: Path) -> None:
    _folder(tmp_path, 8)
    ds = ImageFolderDataset(tmp_path, split="train", size=8, val_fraction=0.0)
    assert len(ds) == 8
    item = ds[0]
    assert set(item) == {"x", "key"} and item["key"] == "sub0/img000.png"
    assert item["x"].shape == (3, 8, 8) and item["x"].min() >= -1 and item["x"].max() <= 1
    assert torch.equal(ds[(3, 99)]["x"], ds[(3, 99)]["x"])
    assert len({ds[(3, s)]["x"].numpy().tobytes() for s in range(6)}) > 1
    with pytest.raises(IndexError):
        ds[8]
    assert ds[-1]["key"] == ds[7]["key"]


def test_train_and_val_datasets_partition_the_folder(tmp_path: Path) -> None:
    _folder(tmp_path, 30)
    train = ImageFolderDataset(tmp_path, "train", 8, val_fraction=0.3)
    val = ImageFolderDataset(tmp_path, "val", 8, val_fraction=0.3, train=False)
    assert set(train.keys).isdisjoint(val.keys) and len(train) + len(val) == 30


def test_empty_folder_and_empty_split(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found in .*empty"):
        ImageFolderDataset(tmp_path / "empty")
    _write(tmp_path / "one" / "a.png")
    with pytest.raises(DataError, match="validation split of .*one is empty"):
        ImageFolderDataset(tmp_path / "one", split="val", val_fraction=0.0)
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing")


def test_unreadable_file_warned_once_and_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "a_good.png")
    (tmp_path / "b_bad.png").write_bytes(b"garbage")
    ds = ImageFolderDataset(tmp_path, size=8, val_fraction=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [ds[1], ds[1], ds[(1, 5)]]
    assert [w for w in caught if "b_bad.png" in str(w.message)] == caught and len(caught) == 1
    assert all(item["key"] == "a_good.png" for item in items)  # wrapped around to the next readable one


def test_every_file_unreadable(tmp_path: Path) -> None:
    for name in ("a.png", "b.jpg"):
        (tmp_path / name).write_bytes(b"")
    ds = ImageFolderDataset(tmp_path, size=8, val_fraction=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="could be read"):
            ds[0]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_in_data_folder(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "deep" / "a.png")
    (tmp_path / "data" / "deep" / "up").symlink_to(tmp_path / "data", target_is_directory=True)
    ds = ImageFolderDataset(tmp_path / "data", size=8, val_fraction=0.0)
    assert ds.keys == ["deep/a.png"]


def test_unicode_paths_with_spaces(tmp_path: Path) -> None:
    _write(tmp_path / "mes photos" / "été à la plage.png")
    ds = ImageFolderDataset(tmp_path / "mes photos", size=8, val_fraction=0.0)
    assert ds[0]["key"] == "été à la plage.png"


def test_concat_items_passes_seeds_through_and_keeps_each_folders_split(tmp_path: Path) -> None:
    from img2img.data.folders import ConcatItems

    _folder(tmp_path / "a", 12)
    _folder(tmp_path / "b", 9)
    parts = [ImageFolderDataset(tmp_path / d, split="train", size=8, val_fraction=0.3, train=True) for d in "ab"]
    both = ConcatItems(parts, ["a", "b"])
    assert len(both) == len(parts[0]) + len(parts[1])
    last = len(both) - 1
    assert both[last]["key"] == parts[1][len(parts[1]) - 1]["key"]
    assert torch.equal(both[(last, 5)]["x"], parts[1][(len(parts[1]) - 1, 5)]["x"])  # same seed, same crop
    assert both[-1]["key"] == both[last]["key"]
    with pytest.raises(IndexError):
        both[len(both)]


def test_reweighted_draws_a_folder_weight_times_per_pass(tmp_path: Path) -> None:
    from collections import Counter

    from img2img.data.folders import Reweighted
    from img2img.engine.stream import ResumableSampler

    _folder(tmp_path / "a", 10)
    base = ImageFolderDataset(tmp_path / "a", split="all", size=8, train=True)
    keys = base.keys
    three = Reweighted(base, 3)  # = the folder listed three times
    assert len(three) == 30
    assert [three[i]["key"] for i in range(30)] == keys * 3
    assert torch.equal(three[(17, 4)]["x"], base[(7, 4)]["x"])  # a whole pass: same file, same seed, same crop
    half = Reweighted(base, 2.5)
    assert len(half) == 25
    # the fractional part: files chosen by each position's seed, deterministic, spread over the folder
    stream = ResumableSampler(len(half), seed=0)
    items = [next(it) for it in [iter(stream)] for _ in range(25 * 40)]
    counts = Counter(half[item]["key"] for item in items)
    assert set(counts) == set(keys)
    assert all(80 <= c <= 120 for c in counts.values()), counts  # 2.5 draws per file per pass, 40 passes
    assert all(half[item]["key"] == half[item]["key"] for item in items[:20])
    assert len(Reweighted(base, 0.04)) == 1  # never empty
    with pytest.raises(IndexError):
        half[25]
    with pytest.raises(ValueError):
        Reweighted(base, 0)


def test_weighted_data_entries_reach_the_training_split_only(tmp_path: Path) -> None:
    from img2img.errors import ConfigError as Err
    from img2img.config import data_entries, data_folders
    from img2img_plugins.uncrop import UncropTask

    _folder(tmp_path / "a", 12)
    _folder(tmp_path / "b", 9)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    data = [{"path": a, "weight": 3}, b]
    assert data_entries(data) == [(a, 3.0), (b, 1.0)] and data_folders(data) == [a, b]
    assert data_entries(a) == [(a, 1.0)] and data_entries(None) == []
    with pytest.raises(Err, match="weight must be a number > 0"):
        data_entries([{"path": a, "weight": True}])
    task = UncropTask()
    folders = [Path(a), Path(b)]
    plain = task.build_datasets(folders, "train", 8, 0.25)
    weighted = task.build_datasets(folders, "train", 8, 0.25, weights=[3, 1])
    n_a = len(task.build_dataset(Path(a), "train", 8, 0.25))
    assert len(weighted) == len(plain) + 2 * n_a
    assert len(task.build_datasets(folders, "val", 8, 0.25, weights=[3, 1])) == len(task.build_datasets(folders, "val", 8, 0.25))


def test_concat_items_refuses_folders_of_different_kinds(tmp_path: Path) -> None:
    from img2img.data.folders import ConcatItems

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 1

        def __getitem__(self, item):
            return {"x": torch.zeros(3, 8, 8), "y": torch.zeros(3, 8, 8), "key": "p"}

    _folder(tmp_path / "a", 4)
    photos = ImageFolderDataset(tmp_path / "a", split="all", size=8, train=False)
    with pytest.raises(ConfigError, match="cannot be mixed"):
        ConcatItems([photos, Pairs()], ["photos", "pairs"])
