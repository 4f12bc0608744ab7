"""The Translator: loads a generator once and turns user images into outputs. Used by ``predict``, ``eval``
and the app. Any input size works (the generator pads to a multiple of 2**depth and crops back)."""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from .data.io import pil_to_tensor, tensor_to_pil
from .engine.precision import autocast, resolve_device
from .errors import ConfigError, Img2ImgError, WeightsError
from .filters import gaussian_blur, gaussian_size
from .models import sample_latent
from .models.unet import fold_resize_upsampling
from .seeding import make_generator
from .task import Task, resolve_controls
from .weights import WeightsInfo, load_generator

WEIGHTS_ENV = "IMG2IMG_WEIGHTS_DIR"
BACKEND_ENV = "IMG2IMG_BACKEND"  # torch | onnx | auto: overrides what "auto" means for every Translator
BACKENDS = ("auto", "torch", "onnx")


def choose_backend(requested: str, device: torch.device) -> str:
    """'torch' or 'onnx' for a ``.safetensors`` model.

    ``auto`` picks ONNX Runtime on the CPU when onnxruntime is installed, torch otherwise (CUDA, or no
    onnxruntime). The rule is a documented default, not a per-call measurement: benchmarks/run_all.py measured
    ONNX Runtime 1.5-1.8x faster than torch eager fp32 for these generators at 128-512 px on the project's
    CPU (docs/performance.md), and timing both at load would cost more than it saves for one ``predict``.
    ``$IMG2IMG_BACKEND`` replaces ``auto`` (e.g. ``torch`` to rule ONNX Runtime out).
    """
    if requested == "auto":
        requested = os.environ.get(BACKEND_ENV, "auto")
        if requested not in BACKENDS:
            raise ConfigError(f"${BACKEND_ENV} must be one of {', '.join(BACKENDS)}; got '{requested}'")
    if requested != "auto":
        return requested
    from .export import onnxruntime_available

    return "onnx" if device.type == "cpu" and onnxruntime_available() else "torch"


def default_weights_dir() -> Path:
    """``$IMG2IMG_WEIGHTS_DIR`` or the ``weights/`` folder of the source checkout."""
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV])
    return Path(__file__).resolve().parent.parent / "weights"


def default_weights_path(task: str, model: str = "cgan", weights_dir: Path | None = None) -> Path:
    return Path(weights_dir or default_weights_dir()) / f"{task}-{model}.safetensors"


def shipped_weights(task: str, model: str = "cgan", weights_dir: Path | None = None,
                    pass_it: str = "--weights FILE") -> Path:
    """The default weights file of ``task``/``model``, or a WeightsError that says how to make and pass one.

    A third-party task has no weights in img2img's ``weights/``: the user needs to hear that and the train
    command, not the path of a file inside the host's checkout. ``pass_it`` names how the caller's user gives
    a file (``--weights FILE`` on the command line, ``weights=...`` in Python).
    """
    path = default_weights_path(task, model, weights_dir)
    if path.is_file():
        return path
    where = (f"in {path.parent}" if weights_dir is not None or os.environ.get(WEIGHTS_ENV)
             else "shipped with img2img")
    run = f"runs/{task}-{model}"
    raise WeightsError(f"no {model} weights for task '{task}' {where}; train them with `img2img train --task {task} "
                       f"--model {model} --out {run}` and pass {pass_it} ({run}/{task}-{model}.safetensors)")


class Translator:
    """A loaded model for one task. ``translate`` returns K samples (1 for a deterministic model)."""

    def __init__(self, task: Task, weights: Path, device: str | torch.device = "auto", backend: str = "auto",
                 max_side: int | str | None = "auto", task_options: dict[str, Any] | None = None,
                 realism: float | None = None, baseline: str | Path | None = None) -> None:
        """``weights``: a ``.safetensors`` file or an ``.onnx`` export. ``backend``: torch, onnx (ONNX Runtime on
        the CPU) or auto; see :func:`choose_backend`. A ``.onnx`` file always runs with ONNX Runtime.
        ``max_side``: the longest side the generator runs at (larger conditions are downscaled for it and
        the output upscaled back); "auto" = the task's ``work_scale`` x the training size, None or 0 = always
        the input's own resolution. ``task_options``: options of the task to override, on top of those the
        weights record (``eval --task-option``); the task is configured once, with both. ``realism``: a = 0..1 for
        a cGAN fine-tuned from its MSE baseline (see :mod:`img2img.realism`): 0 the baseline, 1 the cGAN (None:
        the cGAN, no baseline needed); the baseline is ``baseline`` or ``TASK-regression.safetensors`` beside
        ``weights``."""
        weights = Path(weights)
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got '{backend}'")
        self.realism: float | None = None
        self._pair: Any = None
        if realism is not None:
            from .realism import check_realism

            realism = check_realism(realism)
            if weights.suffix == ".onnx":
                raise ConfigError(f"realism interpolates .safetensors weights; {weights} is an ONNX export")
            if realism != 1.0 and backend == "onnx":
                raise ConfigError("realism below 1 runs with torch (an ONNX export per value of a costs seconds, "
                                  "the interpolation milliseconds); use the auto or torch backend")
            if realism != 1.0:
                backend = "torch"  # the interpolated generator runs with torch: no ONNX export to make and drop
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.generator: Any
        if weights.suffix == ".onnx":
            from .export import OnnxGenerator

            if backend == "torch":
                raise ConfigError(f"{weights} is an ONNX file: it runs with ONNX Runtime, not the torch backend")
            self.generator = OnnxGenerator(weights)
            self.info = self.generator.info
            if self.info.task != task.name:
                raise WeightsError(f"{weights} holds a '{self.info.task}' model, not '{task.name}'")
            self.device = torch.device("cpu")
            self.backend = "onnxruntime"
        else:
            self.generator, self.info = load_generator(weights, expected_task=task.name, device=self.device)
            fold_resize_upsampling(self.generator)  # resize-conv -> the equal transposed conv: 2x faster here
            self.backend = "torch"
        # The options the file was trained with; one it does not record keeps its value from before it existed.
        recorded = {**task.legacy_options, **self.info.task_options}
        options = {k: v for k, v in recorded.items() if k in task.default_options}
        # Configured once, before an ONNX export: a bad override fails in one line, not after the export.
        self.task = task.configure(**{**options, **(task_options or {})})
        if self.backend == "torch" and choose_backend(backend, self.device) == "onnx":
            self._use_onnxruntime(weights, strict=backend == "onnx")
        self._loaded = (self.generator, self.backend)  # what realism 1 (or none) runs
        # Checked on the configured task: an option may set the channel counts (the paired task's do).
        config, task = self.generator.config, self.task
        if config.in_channels != task.in_channels or config.out_channels != task.out_channels:
            raise WeightsError(f"{weights} maps {config.in_channels} to {config.out_channels} channels; "
                               f"task '{task.name}' maps {task.in_channels} to {task.out_channels}")
        self.weights = weights
        # The task's working size bounds its chosen side; a size the caller gives bounds the longest (--max-side).
        self.work_side = self.task.work_side if max_side == "auto" else "longest"
        if max_side == "auto":
            scale = self.task.work_scale
            max_side = round(scale * self.info.train_size) if scale else None
        if max_side is not None and (not isinstance(max_side, int) or max_side < 0):
            raise ConfigError(f"the largest working side must be a size in pixels >= 0 (0 = full resolution); "
                              f"got {max_side!r}")
        self.max_side: int | None = max_side or None
        # Half precision only where it is fast and exact enough: on CUDA. The CPU stays fp32.
        self.precision = "bf16" if self.device.type == "cuda" else "fp32"
        if realism is not None:
            self._set_realism(realism, baseline)

    def realism_pair(self, baseline: str | Path | None = None) -> Any:
        """The :class:`~img2img.realism.RealismPair` of this cGAN and its baseline, read once per Translator;
        a WeightsError says why when the two are not a fine-tuned pair."""
        from .realism import RealismPair, baseline_beside

        if self._pair is None:
            if self.weights.suffix == ".onnx":
                raise ConfigError(f"realism interpolates .safetensors weights; {self.weights} is an ONNX export")
            path = Path(baseline) if baseline else baseline_beside(self.weights, self.task.name)
            if not path.is_file():
                how = "pass --baseline FILE (baseline=PATH in Python)" if not baseline else "check the path"
                raise WeightsError(f"realism needs the MSE baseline the cGAN was fine-tuned from: {path} not found; "
                                   f"{how}")
            self._pair = RealismPair(self.weights, path, self.device)
        return self._pair

    def at_realism(self, a: float, baseline: str | Path | None = None) -> "Translator":
        """This Translator at realism ``a`` (a light copy sharing everything but the generator): a = 1 is
        this cGAN as loaded, other values its interpolation with the baseline: one working generator per pair,
        its weights written in place (about a millisecond) when it runs after another a did."""
        self.realism_pair(baseline)  # loaded here, so that every view of this Translator shares it
        view = copy.copy(self)
        view._set_realism(a, baseline)
        return view

    def _set_realism(self, a: float, baseline: str | Path | None) -> None:
        from .realism import check_realism

        a = check_realism(a)
        pair = self.realism_pair(baseline)  # checks the pair even at a = 1: a refused pair never half works
        self.generator, self.backend = (pair.generator(a), "torch") if a != 1.0 else self._loaded
        self.realism = a

    def _use_onnxruntime(self, weights: Path, strict: bool) -> None:
        """Swap the torch generator for its ONNX export (cached per weights file). Under ``auto`` a failed
        export keeps torch with a warning: the torch path is always correct, only slower."""
        from .export import OnnxGenerator, cached_export

        try:
            self.generator = OnnxGenerator(cached_export(weights, self.generator, self.info))
            self.backend = "onnxruntime"
        except Img2ImgError as exc:
            if strict:
                raise
            warnings.warn(f"ONNX Runtime not used for {weights.name} ({exc}); running with torch", stacklevel=3)

    @property
    def model(self) -> str:
        return self.info.model

    @property
    def stochastic(self) -> bool:
        return self.generator.nz > 0

    @torch.inference_mode()
    def sample(self, y: Tensor, samples: int = 1, seed: int = 0, noise_scale: float = 1.0,
               z: Tensor | None = None) -> Tensor:
        """Outputs for one condition y (1,C,H,W): (K, out_channels, H, W), all K latents in one batch."""
        y = y.to(self.device)
        if not self.stochastic:
            samples = 1
        if z is None:
            z = sample_latent(samples, self.generator.nz, make_generator(seed), self.device, scale=noise_scale)
        batch = self.task.generator_input(y).expand(z.shape[0], -1, -1, -1)  # once, not once per sample
        work = self.work_size(y.shape[2], y.shape[3])
        scaled = work != tuple(y.shape[2:])
        with autocast(self.device, self.precision):
            out = self.generator(self.task.resize_condition(batch, work) if scaled else batch, z).float()
        if scaled:
            out = F.interpolate(out, size=y.shape[2:], mode="bicubic", align_corners=False)
            if self.task.work_detail:
                with autocast(self.device, self.precision):
                    full = self.generator(batch, z).float()
                out = detail_blend(out, full, min(y.shape[2] / work[0], y.shape[3] / work[1]))
        return self.task.compose(out, batch.float()).clamp(-1, 1)

    def work_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) the generator runs at for a condition of this size: its ``work_side`` (longest or shortest)
        at most ``max_side``; never upscaled."""
        side = max(height, width) if self.work_side == "longest" else min(height, width)
        if self.max_side is None or side <= self.max_side:
            return height, width
        ratio = self.max_side / side
        return max(1, round(height * ratio)), max(1, round(width * ratio))

    def condition(self, image: Tensor, **controls: Any) -> Tensor:
        """The condition y for a user's image: ``prepare_input`` with every control, converted to its kind
        (:func:`~img2img.task.resolve_controls`; a bad value is a ConfigError naming the control)."""
        return self.task.prepare_input(image.to(self.device), **resolve_controls(self.task, controls))

    def translate(self, image: Tensor, samples: int = 1, seed: int = 0, noise_scale: float = 1.0,
                  **controls: Any) -> Tensor:
        """A user's image (1,3,H,W in [-1, 1]) -> K outputs."""
        return self.sample(self.condition(image, **controls), samples, seed, noise_scale)

    def translate_pil(self, image: Image.Image, samples: int = 1, seed: int = 0, noise_scale: float = 1.0,
                      **controls: Any) -> list[Image.Image]:
        out = self.translate(pil_to_tensor(image).unsqueeze(0), samples, seed, noise_scale, **controls)
        return [tensor_to_pil(t.cpu()) for t in out]


def detail_blend(upscaled: Tensor, full: Tensor, scale: float) -> Tensor:
    """The low frequencies of ``upscaled`` (an output painted at a working scale ``scale`` x smaller, upscaled)
    plus the high frequencies of ``full`` (the same latents painted at full resolution): a Gaussian split with
    sigma = the upscale factor, the finest detail the upscaled output lacks (``Task.work_detail``)."""
    sigma = max(0.5, float(scale))
    if gaussian_size(sigma, *full.shape[2:]) < 3:
        return upscaled
    return gaussian_blur(upscaled, sigma) + full - gaussian_blur(full, sigma)


def describe(info: WeightsInfo) -> str:
    return f"{info.task}/{info.model} (trained at {info.train_size}px for {info.step} steps)"
