"""Training checkpoints: the full training state, written atomically, last N kept, loaded without unpickling
arbitrary objects (``torch.load(weights_only=True)``).

Atomic write: temp file in the same folder -> flush + fsync -> ``os.replace`` -> fsync the folder. A crash at
any moment leaves either the old set of checkpoints or the old set plus one complete new file.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import Img2ImgError

_NAME = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints in ``directory``, oldest first (by step number, not mtime)."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict[str, Any], directory: Path, step: int, keep: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = checkpoint_path(directory, step)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise Img2ImgError(
                f"cannot write checkpoint to {directory}: {exc.strerror or exc}; the previous checkpoint is intact"
            ) from exc
        raise
    _fsync_dir(directory)
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load one checkpoint; raises Img2ImgError if it is truncated or not a checkpoint."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise Img2ImgError(f"checkpoint {path} is unreadable ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or "step" not in state or "config" not in state:
        raise Img2ImgError(f"{path} is not an img2img training checkpoint")
    return state


def load_latest_checkpoint(directory: Path, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
    """The newest checkpoint that loads; broken newer ones are reported and skipped (never deleted)."""
    for path in reversed(list_checkpoints(directory)):
        try:
            return load_checkpoint(path, map_location)
        except Img2ImgError as exc:
            warnings.warn(f"skipping {exc}; trying the previous one", stacklevel=2)
    return None


def remove_stale_temporaries(directory: Path) -> None:
    """Temp files left by a process killed mid-write."""
    if directory.is_dir():
        for tmp in directory.glob(".tmp-*.pt"):
            tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported on this platform (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
