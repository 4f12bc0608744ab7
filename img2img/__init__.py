"""img2img: image-to-image translation with a conditional GAN (samples from p(x|y)) beside an MSE-regression
baseline (the conditional mean E[x|y]), with tasks as pluggy plugins.

Public API: :class:`Task` (and its helpers), :data:`hookimpl`, :func:`load_model`, :func:`translate`.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations calls PyPI on import otherwise
# OpenMP threads that spin while waiting made a 2-thread training step 6-15x slower whenever anything else
# ran on this 2-core machine; sleeping waiters were 7x faster under the same load. Only effective when
# img2img is imported before torch (as in the CLI and the app); a user's explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from .hookspecs import hookimpl  # noqa: E402
from .task import AppHints, Control, LossTerm, Task  # noqa: E402

if TYPE_CHECKING:
    from PIL import Image

    from .inference import Translator

__version__ = "0.1.0"
__all__ = ["Task", "LossTerm", "Control", "AppHints", "hookimpl", "load_model", "translate", "__version__"]


def load_model(task: str, model: str = "cgan", weights: str | Path | None = None, device: str = "auto",
               realism: float | None = None, baseline: str | Path | None = None) -> "Translator":
    """Load a trained model for ``task``: the shipped weights for ``model`` unless ``weights`` is given.

    ``realism`` (0..1, a cGAN fine-tuned from its MSE baseline only): the generator between the baseline (0) and
    the cGAN (1); the baseline is ``baseline`` or ``TASK-regression.safetensors`` beside the cGAN's file."""
    from .inference import Translator, shipped_weights
    from .plugins import load_plugins

    task_obj = load_plugins().get(task)
    path = Path(weights) if weights else shipped_weights(task, model, pass_it="weights=PATH")
    return Translator(task_obj, path, device=device, realism=realism, baseline=baseline)


def translate(image: "str | Path | Image.Image", task: str, model: str = "cgan", samples: int = 1, seed: int = 0,
              weights: str | Path | None = None, realism: float | None = None, **controls: Any) -> "list[Image.Image]":
    """One-shot helper: translate a PIL image (or an image path) and return K PIL images."""
    from .data.io import load_image

    pil = image if not isinstance(image, (str, Path)) else load_image(image)
    return load_model(task, model, weights, realism=realism).translate_pil(pil, samples=samples, seed=seed, **controls)
