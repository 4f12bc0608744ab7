"""Inference weights: a generator's tensors in ``.safetensors`` with everything needed to rebuild it in the
metadata (architecture config, task, model kind, training size and step). Loading never unpickles."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import generator_config_from_dict
from .errors import ConfigError, WeightsError
from .models import UNetGenerator

FORMAT = "img2img.generator/1"


@dataclass
class WeightsInfo:
    task: str
    model: str  # cgan | regression
    train_size: int
    step: int
    generator: dict[str, Any]
    task_options: dict[str, Any]
    extra: dict[str, str]


def save_generator(
    path: Path,
    generator: UNetGenerator,
    *,
    task: str,
    model: str,
    train_size: int,
    step: int,
    task_options: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write the generator atomically. ``dtype=torch.float16`` halves the file for shipping."""
    tensors = {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in generator.state_dict().items()
               if v.is_floating_point()}
    tensors.update({k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items() if not v.is_floating_point()})
    metadata = {
        "format": FORMAT,
        "task": task,
        "model": model,
        "train_size": str(train_size),
        "step": str(step),
        "generator_config": json.dumps(asdict(generator.config)),
        "task_options": json.dumps(task_options or {}),
        **(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_info(path: Path) -> WeightsInfo:
    """Read only the metadata (fast: no tensors are loaded)."""
    from safetensors import safe_open

    path = _check_path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a valid .safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an img2img generator (format {meta.get('format')!r})")
    try:
        known = {"format", "task", "model", "train_size", "step", "generator_config", "task_options"}
        return WeightsInfo(
            task=meta["task"],
            model=meta["model"],
            train_size=int(meta["train_size"]),
            step=int(meta["step"]),
            generator=json.loads(meta["generator_config"]),
            task_options=json.loads(meta.get("task_options", "{}")),
            extra={k: v for k, v in meta.items() if k not in known},
        )
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{path} has broken img2img metadata ({exc})") from exc


def load_generator(
    path: Path, expected_task: str | None = None, device: str | torch.device = "cpu"
) -> tuple[UNetGenerator, WeightsInfo]:
    """Rebuild the generator from the metadata and load its tensors (as float32), in eval mode."""
    info = read_info(path)
    if expected_task is not None and info.task != expected_task:
        raise WeightsError(f"{path} holds a '{info.task}' model, not '{expected_task}'")
    try:
        cfg = generator_config_from_dict(info.generator)
        cfg.validate()
    except ConfigError as exc:
        raise WeightsError(f"{path} has an invalid generator config: {exc}") from exc
    generator = UNetGenerator(cfg, size=info.train_size)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} is truncated or corrupt ({exc})") from exc
    expected = generator.state_dict()
    problems = [k for k in expected if k not in tensors] + [k for k in tensors if k not in expected]
    problems += [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if problems:
        raise WeightsError(
            f"{path} does not match its own architecture config ({len(problems)} mismatched tensors, e.g. {problems[0]})"
        )
    generator.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return generator.to(device).eval(), info


def _check_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if path.is_dir():
        raise WeightsError(f"{path} is a directory, not a weights file")
    if path.suffix in (".pt", ".pth", ".ckpt", ".bin", ".pkl"):
        raise WeightsError(
            f"{path}: pickled weights are not loaded (they can run code); use a .safetensors file exported by img2img"
        )
    return path
