"""``eval --grid-crop``: the grid's tiles as a window of each image at its own scale, and ``eval --realism`` with
several values running the regression baseline once (tiny models: the numbers mean nothing, their equality does)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config
from img2img.cli import main
from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError
from img2img.evaluate import detail_window, evaluate, evaluate_realism

PADDING = 2  # make_grid's default
SAMPLES = 2  # grid columns: condition | regression | 2 samples | target


@pytest.fixture(scope="module")
def pair(tmp_path_factory, host) -> dict[str, Path]:
    """A tiny uncrop regression and a cGAN fine-tuned from it (so that --realism applies), as shipped side by side."""
    task = host.get("uncrop")
    runs = tmp_path_factory.mktemp("runs")
    baseline = Trainer(tiny_config(model="regression", steps=2), task, runs / "regression", progress=False).fit()
    tuned = Trainer(tiny_config(model="cgan", steps=2, init=str(baseline)), task, runs / "cgan", progress=False).fit()
    folder = tmp_path_factory.mktemp("weights")
    shutil.copy(baseline, folder / "uncrop-regression.safetensors")
    shutil.copy(tuned, folder / "uncrop-cgan.safetensors")
    return {"cgan": folder / "uncrop-cgan.safetensors", "regression": folder / "uncrop-regression.safetensors"}


def _textured(height: int, width: int, corner: str, side: int, seed: int = 0) -> torch.Tensor:
    """A flat grey picture (3, H, W) in [-1, 1] with fine noise in one ``side`` x ``side`` corner
    ("top-left", "bottom-right", ...)."""
    image = torch.full((3, height, width), 0.2)
    rows = slice(0, side) if corner.startswith("top") else slice(height - side, height)
    cols = slice(0, side) if corner.endswith("left") else slice(width - side, width)
    image[:, rows, cols] = torch.rand(3, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return image


def _save(image: torch.Tensor, path: Path) -> None:
    pixels = ((image.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("corner, expected", [("top-left", (0, 0)), ("top-right", (0, 96)),
                                              ("bottom-left", (64, 0)), ("bottom-right", (64, 96))])
def test_the_detail_window_is_the_textured_corner(corner, expected):
    assert detail_window(_textured(96, 128, corner, 32), 32, 32) == expected


def test_a_picture_without_detail_gives_its_centre():
    assert detail_window(torch.full((3, 96, 128), 0.3), 32, 40) == (32, 44)
    assert detail_window(_textured(30, 20, "top-left", 8), 30, 20) == (0, 0)  # the window is the whole picture


@pytest.fixture
def photos(tmp_path) -> Path:
    """Two 64 x 80 photos textured in their bottom-right 32 px corner, and one 24 x 28 photo (smaller than 32)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    _save(_textured(64, 80, "bottom-right", 32, seed=1), folder / "a.png")
    _save(_textured(64, 80, "bottom-right", 32, seed=2), folder / "b.png")
    _save(_textured(24, 28, "top-left", 8, seed=3), folder / "c.png")
    return folder


@pytest.mark.parametrize("at, window", [("detail", (32, 48)), ("center", (16, 24))])
def test_grid_crop_tiles_are_windows_at_native_scale(pair, photos, tmp_path, at, window):
    grid = tmp_path / "g.png"
    report = evaluate("uncrop", photos, cgan=pair["cgan"], regression=pair["regression"], samples=SAMPLES,
                      device="cpu", split="all", size=0, grid=grid, grid_crop=32, grid_crop_at=at)
    # Tiles of 32 px whatever each image's size; one row per image, five columns.
    assert Image.open(grid).size == (5 * (32 + PADDING) + PADDING, 3 * (32 + PADDING) + PADDING)
    crop = report.grid_crop
    assert crop["side"] == 32 and crop["at"] == at
    windows = {w["image"]: (w["top"], w["left"], w["height"], w["width"]) for w in crop["windows"]}
    assert len(windows) == 3
    big = [value for value in windows.values() if value[2:] == (32, 32)]
    assert big == [(*window, 32, 32)] * 2
    assert (0, 0, 24, 28) in windows.values()  # a smaller image is shown whole
    assert json.loads(report.to_json())["grid_crop"] == crop

    # The tile is the window's pixels, not resampled: the bottom-right target tile of a detail row is the texture.
    if at == "detail":
        tiles = torch.from_numpy(np.array(Image.open(grid).convert("RGB"))).float()
        left = PADDING + 4 * (32 + PADDING)
        first_target = tiles[PADDING : PADDING + 32, left : left + 32]
        source = torch.from_numpy(np.array(Image.open(photos / "a.png"))).float()
        assert (first_target - source[32:64, 48:80]).abs().max() <= 1  # uint8 -> [-1, 1] -> uint8 round-off


def test_without_grid_crop_the_report_has_no_grid_crop_key(pair, photos, tmp_path):
    report = evaluate("uncrop", photos, cgan=pair["cgan"], regression=pair["regression"], samples=SAMPLES,
                      device="cpu", split="all", size=0, grid=tmp_path / "g.png")
    assert report.grid_crop is None and "grid_crop" not in json.loads(report.to_json())
    # The default native tiles: the central training-size (32 px) square of each image.
    assert Image.open(tmp_path / "g.png").size == (5 * (32 + PADDING) + PADDING, 3 * (32 + PADDING) + PADDING)


@pytest.mark.parametrize("extra, message", [
    (["--data", "PHOTOS", "--grid", "g.png", "--grid-crop", "32"], "use it with --size 0"),
    (["--data", "PHOTOS", "--size", "0", "--grid-crop", "32"], "add --grid OUT.png"),
    (["--data", "PHOTOS", "--size", "0", "--grid", "g.png", "--grid-crop", "8"], "at least 16 px"),
    (["--data", "PHOTOS", "--size", "0", "--grid", "g.png", "--grid-crop-at", "detail"], "give --grid-crop N too"),
    (["--data", "PHOTOS", "--size", "0", "--grid-crop", "32", "--realism", "0,1", "--json", "c.json"],
     "single --realism value"),
])
def test_grid_crop_refusals_are_one_line(pair, photos, tmp_path, capsys, extra, message):
    extra = [str(photos) if e == "PHOTOS" else str(tmp_path / e) if "." in e and not e[0].isdigit() else e
             for e in extra]
    code = main(["eval", "--task", "uncrop", "--cgan", str(pair["cgan"]), "--regression", str(pair["regression"]),
                 "--device", "cpu", "--quiet", *extra])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "g.png").exists()


def test_evaluate_refuses_a_grid_crop_at_a_fixed_size(pair, tmp_path):
    with pytest.raises(ConfigError, match="--size 0"):
        evaluate("uncrop", cgan=pair["cgan"], regression=pair["regression"], device="cpu", grid=tmp_path / "g.png",
                 grid_crop=32)
    with pytest.raises(ConfigError, match="--grid-crop-at must be one of center, detail"):
        evaluate("uncrop", cgan=pair["cgan"], regression=pair["regression"], device="cpu", grid_crop_at="corner")


def test_several_realism_values_run_the_regression_once(pair, monkeypatch):
    from img2img.inference import Translator

    calls: Counter[str] = Counter()
    real_sample = Translator.sample

    def counting(self, *args, **kwargs):
        calls[self.model] += 1
        return real_sample(self, *args, **kwargs)

    monkeypatch.setattr(Translator, "sample", counting)
    kwargs = dict(cgan=pair["cgan"], regression=pair["regression"], samples=SAMPLES, device="cpu", limit=4,
                  batch_size=2)
    values = [0.0, 0.5, 1.0]
    points, report = evaluate_realism("uncrop", values, **kwargs)
    # Two batches, two regression calls each (its diversity is measured): once, not once per a.
    assert calls == {"cgan": 2 * len(values), "regression": 4}

    # The same numbers as evaluating each a on its own, the regression's included.
    for a, point in zip(values, points):
        alone = evaluate("uncrop", realism=a, **kwargs)
        assert point == {"realism": a} | alone.models["cgan"]
    assert report.models["regression"] == alone.models["regression"]
    assert report.swd_levels == alone.swd_levels
    timeless = lambda r: {key: value for key, value in r.to_dict().items() if key != "seconds"}  # noqa: E731
    assert timeless(report) == timeless(alone)  # the whole report of the last a, but its wall times
