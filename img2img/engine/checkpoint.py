"""Training checkpoints: the full training state, written atomically, last N kept, loaded without unpickling
arbitrary objects (``torch.load(weights_only=True)``).

Atomic write: temp file in the same folder -> flush + fsync -> ``os.replace`` -> fsync the folder. A crash at
any moment leaves either the old set of checkpoints or the old set plus one complete new file.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_write
from ..errors import Img2ImgError

_NAME = re.compile(r"^step_(\d{8})\.pt$")
# Test-only fault injection: seconds to sleep between the fsync of the temp file and its rename, so a test can
# SIGKILL a training process while a checkpoint is half-way to disk (tests/test_fault_injection.py).
FAULT_DELAY_ENV = "IMG2IMG_TEST_CHECKPOINT_WRITE_DELAY"


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints in ``directory``, oldest first (by step number, not mtime)."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict[str, Any], directory: Path, step: int, keep: int) -> Path:
    target = checkpoint_path(directory, step)
    try:
        atomic_write(target, lambda f: _save(state, f), before_rename=_fault_delay)
    except OSError as exc:
        raise Img2ImgError(
            f"cannot write checkpoint to {directory}: {exc.strerror or exc}; the previous checkpoint is intact"
        ) from exc
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return target


class _WriteErrorRecorder:
    """A file wrapper that remembers the OSError of a failed write.

    torch.save's zip writer reports a failing write (ENOSPC, EIO) as a RuntimeError about stream positions;
    the recorded OSError lets the user see "No space left on device" instead.
    """

    def __init__(self, f: Any) -> None:
        self._f = f
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._f.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._f.flush()


def _save(state: dict[str, Any], f: Any) -> None:
    recorder = _WriteErrorRecorder(f)
    try:
        torch.save(state, recorder)
    except RuntimeError:
        if recorder.error is not None:
            raise recorder.error from None
        raise


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
    """Temp files left by a process killed mid-write: checkpoints here, ``.safetensors`` of the run folder."""
    if directory.is_dir():
        for pattern in (".tmp-*.pt", ".tmp-*.safetensors"):
            for tmp in directory.glob(pattern):
                tmp.unlink(missing_ok=True)


def _fault_delay() -> None:
    delay = os.environ.get(FAULT_DELAY_ENV)
    if delay:
        import time

        time.sleep(float(delay))
