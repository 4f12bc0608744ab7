"""Shared by the app tests: tiny weights for every built-in task, trained once per test process.

Not a conftest.py on purpose: other test modules do ``from conftest import tiny_config``, and a second
conftest module would shadow the root one in ``sys.modules``.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import tiny_config

TASKS = ("facades", "restore", "sketch2photo", "uncrop")
_WEIGHTS: dict[str, Path] = {}


def tiny_weights(tmp_path_factory, host) -> Path:
    """A folder of 2-step ``<task>-cgan`` / ``<task>-regression`` weights (32 px, ngf 8) for all tasks."""
    from img2img.engine.trainer import Trainer

    if "dir" not in _WEIGHTS:
        weights = tmp_path_factory.mktemp("weights")
        for name in TASKS:
            for model in ("cgan", "regression"):
                run = tmp_path_factory.mktemp(f"run-{name}-{model}")
                cfg = tiny_config(task=name, model=model, steps=2, checkpoint_every=1000, log_every=1000)
                if host.get(name).paired:  # no embedded data: a few code-made pairs
                    cfg.data = str(_tiny_pairs(tmp_path_factory))
                path = Trainer(cfg, host.get(name), run, progress=False).fit()
                shutil.copy(path, weights / f"{name}-{model}.safetensors")
        _WEIGHTS["dir"] = weights
    return _WEIGHTS["dir"]


def pair_weights(tmp_path_factory, host, task: str = "restore") -> Path:
    """:func:`tiny_weights` for every task, but ``task``'s cGAN fine-tuned (2 steps) from its regression
    baseline: a fine-tuned pair, so that tab shows the realism slider."""
    from img2img.engine.trainer import Trainer

    if "pair" not in _WEIGHTS:
        source = tiny_weights(tmp_path_factory, host)
        weights = tmp_path_factory.mktemp("pair-weights")
        for path in source.glob("*.safetensors"):
            shutil.copy(path, weights / path.name)
        baseline = weights / f"{task}-regression.safetensors"
        cfg = tiny_config(task=task, model="cgan", steps=2, checkpoint_every=1000, log_every=1000, init=str(baseline))
        tuned = Trainer(cfg, host.get(task), tmp_path_factory.mktemp(f"run-{task}-tuned"), progress=False).fit()
        shutil.copy(tuned, weights / f"{task}-cgan.safetensors")
        _WEIGHTS["pair"] = weights
    return _WEIGHTS["pair"]


def _tiny_pairs(tmp_path_factory) -> Path:
    from img2img_plugins.facades.palette import draw_facade
    from paired_data import picture, write_aligned

    maps = [draw_facade(i, 32) for i in range(8)]
    return write_aligned(tmp_path_factory.mktemp("pairs"), [picture(32, i) for i in range(8)], maps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pixel_std(image: Image.Image | str | Path) -> float:
    picture = image if isinstance(image, Image.Image) else Image.open(image)
    return float(np.asarray(picture.convert("RGB"), dtype=np.float32).std())


def start_app(weights_dir: Path, host, temp_dir: Path):
    """Build the app on ``host``'s tasks and serve it on 127.0.0.1 at a free port; returns (demo, url)."""
    import os

    # Gradio copies every image it serves into its cache: keep those files inside the test's tmp dir.
    os.environ["GRADIO_TEMP_DIR"] = str(temp_dir)
    from img2img.app.ui import build_app, launch

    demo = build_app(host, weights_dir, device="cpu")
    url = launch(demo, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    return demo, url
