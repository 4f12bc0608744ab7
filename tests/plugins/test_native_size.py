"""Every built-in task (and the example plugin, when installed) reads evaluation data at size 0, each image at
its own height and width, and makes its evaluation condition there: what ``img2img eval --size 0`` needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from paired_data import drawing, picture, write_aligned
from img2img_plugins.facades.palette import draw_facade

SHAPES = [(48, 36), (40, 56), (48, 36)]  # (width, height): two shapes, neither square


def _crop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.crop((0, 0, *size))


def _photos(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, size in enumerate(SHAPES):
        _crop(picture(64, i), size).save(folder / f"{i}.png")
    return folder


def _pairs(folder: Path, task: str) -> Path:
    photos = [_crop(picture(64, i), size) for i, size in enumerate(SHAPES)]
    if task == "facades":  # photo (A) | label map (B)
        return write_aligned(folder, photos, [_crop(draw_facade(i, 64), size) for i, size in enumerate(SHAPES)])
    drawings = [_crop(drawing(64, i), size) for i, size in enumerate(SHAPES)]
    return write_aligned(folder, drawings, photos)  # drawing (A) | photo (B): paired and sketch2photo find it


@pytest.mark.parametrize("name, layout", [("restore", "photos"), ("uncrop", "photos"), ("colorize", "photos"),
                                          ("sketch2photo", "photos"), ("sketch2photo", "pairs"),
                                          ("paired", "pairs"), ("facades", "pairs")])
def test_eval_items_keep_their_native_size(host, tmp_path, name, layout):
    if name not in host.names():
        pytest.skip(f"the {name} plugin is not installed")
    task = host.get(name)
    data = _photos(tmp_path / "data") if layout == "photos" else _pairs(tmp_path / "data", name)
    dataset = task.build_dataset(data, "all", 0)
    assert len(dataset) == len(SHAPES)
    for i, (width, height) in enumerate(SHAPES):
        item = dataset[(i, 0)]
        assert item["x"].shape == (task.out_channels, height, width)
        y = item["y"][None] if "y" in item else task.make_eval_condition(item["x"][None], [str(item["key"])])
        assert y.shape == (1, task.in_channels, height, width)
