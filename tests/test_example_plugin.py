"""The third-party story, end to end: examples/img2img-colorize is a separate package, installed editable into
the test environment by tests/conftest.py, found through its entry point and driven through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from img2img.cli import main
from img2img.plugins import load_plugins

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "img2img-colorize"
TINY = ["--size", "32", "--batch-size", "2", "--num-workers", "0", "--quiet",
        "--set", "generator.ngf=8", "--set", "generator.max_mult=2", "--set", "discriminator.ndf=8",
        "--set", "discriminator.n_layers=2"]


def subprocess_env() -> dict[str, str]:
    # One thread per child: the suite runs two workers on two cores.
    return {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    problem = os.environ.get("IMG2IMG_TEST_EXAMPLE_PLUGIN_PROBLEM")  # set by tests/conftest.py
    if problem and problem.startswith("skip:"):
        pytest.skip(problem.removeprefix("skip: "))
    if problem:
        pytest.fail(problem)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_discovered_through_its_entry_point():
    info = load_plugins().tasks["colorize"]
    assert info.plugin == "colorize" and info.version == "0.1.0"
    assert type(info.task).__module__ == "img2img_colorize"
    assert (info.task.in_channels, info.task.out_channels, info.task.paired) == (1, 3, False)


def test_allow_list_selects_it(monkeypatch):
    monkeypatch.setenv("IMG2IMG_PLUGINS", "colorize")
    assert load_plugins().names() == ["colorize"]


def test_listed_by_tasks(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and any(line.split()[:3] == ["colorize", "colorize", "0.1.0"] for line in out.splitlines())
    code, out, _ = run(capsys, "tasks", "--json")
    rows = {row["name"]: row for row in json.loads(out) if row["status"] == "ok"}
    assert rows["colorize"]["plugin"] == "colorize" and rows["colorize"]["input"] == "upload"
    assert not [row for row in json.loads(out) if row["status"] == "broken"]


def test_a_fresh_interpreter_finds_it():
    """What a user sees: the console script in a new process, where the editable install's .pth is read."""
    script = Path(sys.executable).with_name("img2img")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "img2img"]
    result = subprocess.run([*cmd, "tasks", "--json"], capture_output=True, text=True, timeout=180, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert "colorize" in {row["name"] for row in json.loads(result.stdout)}


def test_trains_and_predicts_through_the_cli(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", "--task", "colorize", "--steps", "2", "--out", str(out), *TINY)
    assert code == 0, err
    weights = out / "colorize-cgan.safetensors"
    assert weights.is_file() and "done: 2 steps" in stdout

    Image.new("RGB", (40, 24), (120, 120, 120)).save(tmp_path / "grey.png")
    code, stdout, err = run(capsys, "predict", "--task", "colorize", "--weights", str(weights),
                            "--input", str(tmp_path / "grey.png"), "--output", str(tmp_path / "coloured"),
                            "--samples", "2")
    assert code == 0 and "wrote 2 image(s)" in stdout, err
    for k in range(2):
        image = Image.open(tmp_path / f"coloured_{k}.png")
        assert image.size == (40, 24) and image.mode == "RGB"


def test_its_task_option_is_reachable_from_the_cli(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--task", "colorize", "--steps", "1", "--model", "regression",
                       "--out", str(tmp_path / "r"), "--set", "task_options.luma=rec709", *TINY)
    assert code == 0, err
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    from img2img.weights import read_info

    # The resolved options (the plugin's defaults with the user's value), exactly what the weights file holds.
    assert config["task_options"]["luma"] == "rec709"
    assert config["task_options"] == read_info(tmp_path / "r" / "colorize-regression.safetensors").task_options
    code, _, err = run(capsys, "train", "--task", "colorize", "--steps", "1", "--out", str(tmp_path / "bad"),
                       "--set", "task_options.luma=cmyk", *TINY)
    assert code != 0 and err.strip().splitlines() == ["img2img: error: colorize: task_options.luma must be one of rec601, rec709"]


def test_its_own_test_suite_passes():
    """The plugin's tests run as its author runs them: pytest in its own folder, img2img.testing as the kit."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            cwd=EXAMPLE_PLUGIN, capture_output=True, text=True, timeout=300,
                            env=subprocess_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
