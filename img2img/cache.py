"""The user's cache folder: derived files (ONNX exports, converted pretrained weights) made once and reused."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "IMG2IMG_CACHE_DIR"


def cache_dir() -> Path:
    """``$IMG2IMG_CACHE_DIR``, else ``$XDG_CACHE_HOME/img2img``, else ``~/.cache/img2img``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "img2img"
