"""Each built-in task trains on its real dataset and on the embedded default. Needs ../shared/data for
the real half (CI has it; a user's clone does not, and then those cases skip)."""

from __future__ import annotations

import pytest

from img2img.cli import main

TINY = ["--size", "32", "--batch-size", "2", "--steps", "2", "--num-workers", "0", "--quiet",
        "--set", "generator.ngf=8", "--set", "generator.max_mult=2", "--set", "discriminator.ndf=8",
        "--set", "discriminator.n_layers=2"]
REAL = {"sketch2photo": "edges2shoes_handbags/train", "restore": "bsds500/images", "uncrop": "bsds500/images"}


@pytest.mark.parametrize("task", sorted(REAL))
def test_trains_on_the_embedded_default(task, tmp_path):
    assert main(["train", "--task", task, "--out", str(tmp_path / "r"), *TINY]) == 0
    assert (tmp_path / "r" / f"{task}-cgan.safetensors").is_file()


@pytest.mark.shared_data
@pytest.mark.parametrize("task", sorted(REAL))
@pytest.mark.parametrize("model", ["cgan", "regression"])
def test_trains_on_its_real_dataset(task, model, tmp_path, shared_data):
    data = shared_data / REAL[task]
    assert main(["train", "--task", task, "--model", model, "--data", str(data), "--out", str(tmp_path / "r"), *TINY]) == 0
    assert (tmp_path / "r" / f"{task}-{model}.safetensors").is_file()


PAIRED = {"facades": [], "paired": ["--set", "task_options.direction=BtoA"]}


@pytest.mark.shared_data
@pytest.mark.parametrize("task", sorted(PAIRED))
def test_paired_tasks_train_on_facades(task, tmp_path, shared_data):
    data = shared_data / "facades" / "train"
    args = ["train", "--task", task, "--data", str(data), "--out", str(tmp_path / "r"), *PAIRED[task], *TINY]
    assert main(args) == 0
    assert (tmp_path / "r" / f"{task}-cgan.safetensors").is_file()


@pytest.mark.shared_data
def test_sketch2photo_on_facades_stops_with_one_line(tmp_path, shared_data, capsys):
    data = shared_data / "facades" / "train"
    assert main(["train", "--task", "sketch2photo", "--data", str(data), "--out", str(tmp_path / "r"), *TINY]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--task paired" in err
    assert not (tmp_path / "r" / "sketch2photo-cgan.safetensors").exists()
