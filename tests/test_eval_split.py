"""Which images `img2img eval` uses: the validation split of the folder the weights were trained on, every
image of any other folder (a user's held-out photos), never a split carved inside the training folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import tiny_config
from img2img.cli import main
from img2img.data.folders import list_images, split_files
from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError
from img2img.evaluate import evaluate, resolve_split
from img2img.weights import read_info


def _photos(folder: Path, count: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, host):
    """Two 2-step uncrop models trained on a folder of 30 noise photos (val_fraction 0.2)."""
    root = tmp_path_factory.mktemp("split")
    train_dir = _photos(root / "data" / "mine", 30, seed=0)
    weights = {}
    for model in ("cgan", "regression"):
        cfg = tiny_config(model=model, steps=2, checkpoint_every=2, data=str(train_dir), val_fraction=0.2)
        weights[model] = Trainer(cfg, host.get("uncrop"), root / model, progress=False).fit()
    held_out = _photos(root / "held_out", 7, seed=1)
    return {"train": train_dir, "held_out": held_out, **weights}


def _eval(trained, data, **kwargs):
    return evaluate("uncrop", data, cgan=trained["cgan"], regression=trained["regression"], samples=2,
                    device="cpu", **kwargs)


def test_training_writes_its_data_folder_into_the_weights(trained):
    extra = read_info(trained["cgan"]).extra
    assert extra["data"] == str(trained["train"].resolve()) and extra["val_fraction"] == "0.2"


def test_the_training_folder_gives_its_validation_split(trained):
    report = _eval(trained, trained["train"])
    expected = split_files(list_images(trained["train"]), trained["train"], "val", 0.2)  # the weights' fraction
    assert report.split == "val" and report.images == len(expected) > 0
    assert "trained on" in report.source and "validation split" in report.table()


def test_any_other_folder_is_used_whole(trained):
    report = _eval(trained, trained["held_out"])
    assert report.split == "all" and report.images == 7
    assert f"7 images from all images of {trained['held_out']}" in report.table()


def test_forced_split_wins(trained):
    assert _eval(trained, trained["held_out"], split="val").split == "val"
    assert _eval(trained, trained["train"], split="all", limit=5).images == 5


def test_a_folder_overlapping_the_training_folder_is_one_line(trained, capsys):
    argv = ["eval", "--task", "uncrop", "--cgan", str(trained["cgan"]), "--regression", str(trained["regression"]),
            "--data", str(trained["train"].parent), "--device", "cpu", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "overlaps" in err and "Traceback" not in err


def test_limit_spreads_over_the_folder(trained, tmp_path):
    # Ten "shoes" then ten "bags" by name: a limit of 4 must see both kinds, not the first four shoes.
    folder = tmp_path / "sorted"
    folder.mkdir()
    for i in range(20):
        Image.new("RGB", (40, 40), (250, 0, 0) if i < 10 else (0, 0, 250)).save(folder / f"{i:02d}.png")
    report = _eval(trained, folder, limit=4, grid=tmp_path / "g.png", grid_rows=4)
    grid = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"), dtype=np.int32)
    targets = grid[:, -34:-2]  # the last column: the real images
    rows = [targets[2 + r * 34 : 2 + r * 34 + 32] for r in range(4)]
    reds = sum(int(row[..., 0].mean() > row[..., 2].mean()) for row in rows)
    assert report.images == 4 and reds == 2


def test_resolve_split_without_metadata_stays_on_the_safe_side(tmp_path):
    split, source = resolve_split("auto", tmp_path, [tmp_path / "w.safetensors"], [{}])
    assert split == "val" and "--split all" in source
    assert resolve_split("auto", None, [], [])[0] == "val"
    with pytest.raises(ConfigError, match="split must be one of"):
        resolve_split("test", tmp_path, [], [])


def test_several_training_folders_each_give_their_validation_split(tmp_path, host):
    first, second = _photos(tmp_path / "first", 20, seed=2), _photos(tmp_path / "second", 20, seed=3)
    weights = {}
    for model in ("cgan", "regression"):
        cfg = tiny_config(model=model, steps=2, checkpoint_every=2, data=[str(first), str(second)], val_fraction=0.2)
        weights[model] = Trainer(cfg, host.get("uncrop"), tmp_path / model, progress=False).fit()
    recorded = read_info(weights["cgan"]).extra["data"]
    assert json.loads(recorded) == [str(first.resolve()), str(second.resolve())]
    for folder in (first, second):
        report = _eval(weights, folder)
        assert report.split == "val" and report.images == len(split_files(list_images(folder), folder, "val", 0.2))
    other = _photos(tmp_path / "other", 3, seed=4)
    assert _eval(weights, other).split == "all"


def test_old_weights_with_one_plain_folder_still_resolve(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    extra = {"data": str(folder)}
    assert resolve_split("auto", folder, [tmp_path / "w.safetensors"], [extra])[0] == "val"
    assert resolve_split("auto", tmp_path / "elsewhere", [tmp_path / "w.safetensors"], [extra])[0] == "all"
