"""The `paired` task: any aligned pairs, direction from the option or from unambiguous data, flip and channel
options; and sketch2photo sending pairs that are not drawings beside pictures to it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError, DataError
from img2img_plugins.paired import detect_paired_direction
from paired_data import drawing, drawing_to_picture, picture, write_aligned, write_folders


def test_direction_is_read_from_drawings_and_grey_pictures(tmp_path):
    n = 6
    drawings, pictures = [drawing(32, i) for i in range(n)], [picture(32, i) for i in range(n)]
    greys = [picture(32, i, grey=True) for i in range(n)]
    assert detect_paired_direction(write_aligned(tmp_path / "d_p", drawings, pictures)) == "AtoB"
    assert detect_paired_direction(write_aligned(tmp_path / "p_d", pictures, drawings)) == "BtoA"
    assert detect_paired_direction(write_folders(tmp_path / "g_p", pictures, greys)) == "BtoA"
    # Picture beside picture (photo <-> label map, day <-> night): either way is a task, so no guess.
    assert detect_paired_direction(write_aligned(tmp_path / "p_p", pictures, pictures[::-1])) is None
    # One pair that breaks the habit makes the data ambiguous.
    assert detect_paired_direction(write_aligned(tmp_path / "mixed", drawings[:5] + pictures[5:],
                                                 pictures[:5] + drawings[5:])) is None


def test_a_detected_direction_is_what_the_run_and_its_weights_record(host, tmp_path):
    import json

    from conftest import tiny_config
    from img2img.weights import read_info

    n = 6
    drawings, pictures = [drawing(32, i) for i in range(n)], [picture(32, i) for i in range(n)]
    data = write_aligned(tmp_path / "p_d", pictures, drawings)  # drawings on the right: BtoA
    Trainer(tiny_config(task="paired", data=str(data), steps=1, val_fraction=0.0), host.get("paired"),
            tmp_path / "run", progress=False).fit()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["task_options"]["direction"] == "BtoA"
    assert read_info(tmp_path / "run" / "paired-cgan.safetensors").task_options["direction"] == "BtoA"
    # A second folder laid out the other way round is refused, not read backwards.
    other = write_aligned(tmp_path / "d_p", drawings, pictures)
    task = host.get("paired").configure()
    task.build_dataset(data, "train", 32, 0.0)
    with pytest.raises(ConfigError, match="other way round"):
        task.build_dataset(other, "train", 32, 0.0)


def test_ambiguous_data_asks_for_the_direction_in_one_line(host, tmp_path):
    pictures = [picture(32, i) for i in range(6)]
    data = write_aligned(tmp_path / "pairs", pictures, pictures[::-1])
    with pytest.raises(ConfigError, match="task_options.direction=AtoB") as info:
        host.get("paired").build_dataset(data, "train", 32, 0.0)
    assert "\n" not in str(info.value)
    ds = host.get("paired").configure(direction="BtoA").build_dataset(data, "train", 32, 0.0)
    assert len(ds) == 6


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_direction_chooses_condition_and_target(host, tmp_path, direction):
    red, blue = Image.new("RGB", (16, 16), (255, 0, 0)), Image.new("RGB", (16, 16), (0, 0, 255))
    data = write_folders(tmp_path / "pairs", [red] * 4, [blue] * 4)
    item = host.get("paired").configure(direction=direction).build_dataset(data, "train", 16, 0.0)[(0, 0)]
    condition, target = (item["y"], item["x"]) if direction == "AtoB" else (item["x"], item["y"])
    assert condition[0].mean() > 0.9 and target[2].mean() > 0.9  # the A side (red) is the input for AtoB


def test_flip_option_turns_mirroring_off(host, tmp_path):
    # Left half dark, right half bright on both sides: a flipped crop would have the bright half on the left.
    pixels = np.zeros((32, 32, 3), np.uint8)
    pixels[:, 16:] = 255
    side = Image.fromarray(pixels)
    data = write_folders(tmp_path / "pairs", [side] * 2, [side] * 2)
    task = host.get("paired").configure(direction="AtoB")

    def left_brighter(flip: bool) -> list[bool]:
        ds = task.configure(flip=flip).build_dataset(data, "train", 32, 0.0)
        return [bool(ds[(0, seed)]["x"][:, :, :8].mean() > 0) for seed in range(16)]

    assert any(left_brighter(True)) and not any(left_brighter(False))


def test_channel_options_give_grey_sides_and_a_matching_model(host, tmp_path):
    data = drawing_to_picture(tmp_path / "pairs", n=8)
    task = host.get("paired").configure(in_channels=1)
    item = task.build_dataset(data, "train", 32, 0.0)[(0, 0)]
    assert item["y"].shape == (1, 32, 32) and item["x"].shape == (3, 32, 32)
    assert (task.in_channels, task.out_channels) == (1, 3)
    assert host.get("paired").in_channels == 3  # the registered task is untouched
    with pytest.raises(ConfigError, match="in_channels must be 1"):
        host.get("paired").configure(in_channels=4)
    with pytest.raises(ConfigError, match="flip must be true or false"):
        host.get("paired").configure(flip="yes")


def test_trains_and_predicts_with_grey_input(host, tmp_path):
    from conftest import tiny_config
    from img2img.inference import Translator

    data = drawing_to_picture(tmp_path / "pairs", n=8)
    cfg = tiny_config(task="paired", data=str(data), steps=2, val_fraction=0.0)
    cfg.task_options = {"in_channels": 1}
    Trainer(cfg, host.get("paired"), tmp_path / "run", progress=False).fit()
    translator = Translator(host.get("paired"), tmp_path / "run" / "paired-cgan.safetensors", backend="torch")
    y = translator.task.prepare_input(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert y.shape == (1, 1, 32, 32) and translator.sample(y, 2, 0).shape == (2, 3, 32, 32)


def test_no_data_is_one_clear_line(host):
    with pytest.raises(DataError, match="give --data DIR"):
        host.get("paired").build_dataset(None, "train", 32)


def test_cli_trains_any_pix2pix_layout(tmp_path):
    from img2img.cli import main

    pictures = [picture(32, i) for i in range(8)]
    data = write_aligned(tmp_path / "pairs", pictures, pictures[::-1])
    args = ["train", "--task", "paired", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "1",
            "--size", "32", "--set", "task_options.direction=BtoA", "--set", "generator.ngf=8", "--quiet"]
    assert main(args) == 0
    assert (tmp_path / "run" / "paired-cgan.safetensors").is_file()


# -- sketch2photo refuses what is not a drawing beside a picture --------------------------------------------
def test_sketch2photo_refuses_picture_pairs_and_names_paired(host, tmp_path):
    pictures = [picture(32, i) for i in range(6)]
    data = write_aligned(tmp_path / "pairs", pictures, [picture(32, i + 50) for i in range(6)])
    with pytest.raises(DataError, match="--task paired") as info:
        host.get("sketch2photo").build_dataset(data, "train", 32, 0.0)
    assert "\n" not in str(info.value)
    ok = drawing_to_picture(tmp_path / "ok", n=6)
    assert len(host.get("sketch2photo").build_dataset(ok, "train", 32, 0.0)) == 6


@pytest.mark.shared_data
def test_sketch2photo_on_real_pairs(host, shared_data):
    task = host.get("sketch2photo")
    assert len(task.build_dataset(shared_data / "edges2shoes_handbags" / "train", "val", 64, 0.1)) > 0
    with pytest.raises(DataError, match="--task paired"):
        task.build_dataset(shared_data / "facades" / "train", "train", 64, 0.1)
    assert detect_paired_direction(shared_data / "facades" / "train") is None  # photo | label map: ask
