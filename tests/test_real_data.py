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
