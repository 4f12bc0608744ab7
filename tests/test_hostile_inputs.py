"""Hostile and odd inputs through the three surfaces that read user images: ``img2img predict``, the folder
dataset used for training, and the app service. Every case is either handled (an output / a tensor) or refused
with one clear line; never a traceback, never a crash, and nothing written outside the output folder.

Cases are built by tests/hostile_cases.py; the outcome table is in docs/reliability.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from hostile_cases import CASES, Case
from PIL import Image

from img2img.app.service import AppService, InputError
from img2img.cli import main
from img2img.data.folders import ImageFolderDataset
from img2img.errors import DataError

SURFACES = ("predict", "dataset", "service")
UNREADABLE = {"truncated-jpeg", "truncated-png", "bad-crc-png", "zero-bytes", "text-as-png", "html-as-jpg",
              "random-bytes-webp", "decompression-bomb", "directory-named-png", "dangling-symlink", "link-outside",
              "fifo"}
# Readable everywhere except: the app needs 16 px per side; folders list no .gif (a single GIF file is fine).
REFUSED_ON = {"1x1": {"service"}, "3x10000": {"service"}, "animated-gif": {"dataset"}}


def expected(case: str, surface: str) -> str:
    if case in UNREADABLE or surface in REFUSED_ON.get(case, ()):
        return "refused"
    return "handled"


@pytest.fixture(scope="module")
def weights(tmp_path_factory, host) -> Path:
    """1-step tiny uncrop cgan + regression weights."""
    from img2img.engine.trainer import Trainer

    folder = tmp_path_factory.mktemp("weights")
    for model in ("cgan", "regression"):
        cfg = tiny_config(model=model, steps=1, checkpoint_every=1000, log_every=1000)
        path = Trainer(cfg, host.get("uncrop"), tmp_path_factory.mktemp(f"run-{model}"), progress=False).fit()
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def service(weights, host) -> AppService:
    return AppService(host, weights, device="cpu")


def _snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (links not followed: some cases are loops) with its kind, size and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path == skip:
                continue
            st = path.lstat()
            found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def _one_line(message: str) -> None:
    assert message.strip() and "\n" not in message.strip() and "Traceback" not in message, message


def _run_predict(case: Case, source: Path, out: Path, weights: Path, capsys) -> str:
    target = out if source.is_dir() else out / "result.png"
    code = main(["predict", "--task", "uncrop", "--weights", str(weights / "uncrop-cgan.safetensors"),
                 "--input", str(source), "--output", str(target)])
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stdout + stderr
    if code == 0:
        written = sorted(out.rglob("*.png"))
        assert written and all(Image.open(p).size[0] >= 1 for p in written)
        if case.name == "exif-rotation":
            assert Image.open(written[0]).height == 48  # upright: EXIF orientation was applied
        return "handled"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("img2img: "), stderr
    return "refused"


def _run_dataset(folder: Path) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the "skipping unreadable file" warning
            item = ImageFolderDataset(folder, "train", 32, val_fraction=0.0)[(0, 0)]
    except DataError as exc:
        _one_line(str(exc))
        return "refused"
    assert item["x"].shape == (3, 32, 32) and torch.isfinite(item["x"]).all()
    return "handled"


def _run_service(service: AppService, source: Path) -> str:
    try:
        result = service.generate("uncrop", str(source), k=2, interpolation_steps=2)
    except InputError as exc:
        _one_line(str(exc))
        return "refused"
    assert len(result.samples) == 2 and result.baseline is not None and len(result.interpolation) == 2
    return "handled"


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case, surface, tmp_path, weights, service, monkeypatch, capsys):
    inputs, out, scratch = tmp_path / "in", tmp_path / "out", tmp_path / "tmp"
    inputs.mkdir()
    scratch.mkdir()
    source = case.build(inputs)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # anything "temporary" lands where we can see it
    before = _snapshot(tmp_path, skip=out)

    if surface == "predict":
        outcome = _run_predict(case, source, out, weights, capsys)
    elif surface == "dataset":
        outcome = _run_dataset(source if source.is_dir() and case.name == "symlink-loop" else inputs)
    else:
        outcome = _run_service(service, source / "loop" / "loop" / "good.png" if case.name == "symlink-loop" else source)

    assert outcome == expected(case.name, surface)
    assert _snapshot(tmp_path, skip=out) == before, "something was written outside the output folder"
    assert not any(scratch.iterdir()), "temporary files were left behind"
    if out.exists():
        assert all(p.suffix == ".png" for p in out.rglob("*") if p.is_file())


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25 and len({c.name for c in CASES}) == len(CASES)
