"""The Task contract: the one class a plugin author reads.

A task says what the condition ``y`` is and where the targets ``x`` come from; the engine learns p(x | y).

Tensors are NCHW float in [-1, 1]. A dataset item is a dict ``{"x": Tensor[C,H,W], "key": str}`` plus
``"y"`` for paired tasks (sketch -> photo). Self-supervised tasks (uncrop, restore) leave ``y`` out and
build it on the training device, batched, in :meth:`Task.make_condition`.

Minimal plugin::

    import img2img

    class Invert(img2img.Task):
        name = "invert"
        description = "Learns to invert colours (a toy)."

        def make_condition(self, x, generator):
            return -x

    @img2img.hookimpl
    def register_tasks(register):
        register(Invert())
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from .errors import ConfigError, PluginError
from .seeding import make_generator, stable_seed

def wants_condition(metric: Callable[..., Tensor]) -> bool:
    """Whether a task metric takes the condition too: ``fn(fake, real, y)`` rather than ``fn(fake, real)``."""
    try:
        parameters = list(inspect.signature(metric).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


LossFn = Callable[[Tensor, Tensor, Tensor], Tensor]
"""``fn(fake, real, y) -> scalar``: fake and real are the generator output (after :meth:`Task.compose`) and
the target, both in [-1, 1]; y is the condition."""

MetricFn = Callable[..., Tensor]
"""``fn(fake, real) -> Tensor[N]`` or ``fn(fake, real, y) -> Tensor[N]``: one value per image, higher or lower
is better as the metric says; the three-argument form also gets the condition (e.g. a mask it carries)."""


@dataclass
class LossTerm:
    """An extra, named, weighted loss term for the generator. Logged as ``loss/<name>``."""

    name: str
    fn: LossFn
    weight: float = 1.0
    models: tuple[str, ...] = ("cgan", "regression")  # which engines add it


CONTROL_KINDS = ("choice", "checkbox", "slider")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


@dataclass
class Control:
    """An extra input control: a widget in the app and an ``--option name=value`` in ``predict``.

    The host converts every value before ``prepare_input`` sees it (:meth:`convert`): a slider's value is a
    float in [minimum, maximum], a checkbox's a bool, a choice's one of ``choices``; a control the user left
    alone gets ``default``.
    """

    name: str
    label: str
    kind: str  # "choice" | "checkbox" | "slider"
    default: Any
    choices: Sequence[Any] = ()
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 0.05

    def convert(self, value: Any) -> Any:
        """``value`` (a string from ``--option``, a widget's value, a Python value) as this control's kind.

        Raises ConfigError, one line naming the control and what it accepts, for NaN, out-of-range,
        unparseable or unknown values.
        """
        if self.kind not in CONTROL_KINDS:
            raise ConfigError(f"control '{self.name}' has the kind {self.kind!r}; "
                              f"kinds are {', '.join(CONTROL_KINDS)}")
        if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars, 0-d tensors
            try:
                value = value.item()
            except (TypeError, ValueError, RuntimeError):
                pass
        if self.kind == "slider":
            return self._slider(value)
        if self.kind == "checkbox":
            if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
                return bool(value)
            raise ConfigError(f"control '{self.name}' is a checkbox: true or false (also 1/0, yes/no), "
                              f"got {_show(value)}")
        for choice in self.choices:  # the declared object itself, so its type is the one the task wrote
            if value == choice and isinstance(value, bool) == isinstance(choice, bool):
                return choice
        if isinstance(value, str):
            for choice in self.choices:  # "--option n=2" for a choice of numbers
                if str(choice) == value.strip():
                    return choice
        raise ConfigError(f"control '{self.name}' must be one of {', '.join(map(str, self.choices))}, "
                          f"got {_show(value)}")

    def _slider(self, value: Any) -> float:
        number: float | None = None
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        if number is None or not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            raise ConfigError(f"control '{self.name}' must be a number from {self.minimum:g} to {self.maximum:g}, "
                              f"got {_show(value)}")
        return number


def _show(value: Any) -> str:
    plain_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"{value:g}" if plain_number else repr(value)


@dataclass
class AppHints:
    """How the app presents the task.

    ``input_kind``: "sketch" (a black-on-white drawing canvas), "paint" (a canvas painted with the colours of
    ``palette``, e.g. a label map; the first colour fills the empty canvas) or "upload".
    ``palette``: ``(name, "#rrggbb")`` pairs for "paint"; the brush offers exactly these colours.
    """

    input_kind: str = "upload"
    input_label: str = "Input image"
    controls: list[Control] = field(default_factory=list)
    palette: list[tuple[str, str]] = field(default_factory=list)



# The network sizes the built-in tasks train at on a CPU: pix2pix's U-Net and PatchGAN at half their width (ngf and
# ndf 32, at most 4x that deeper down), resize-convolution upsampling (it cannot draw a checkerboard) and eight
# latent dimensions for the cGAN. A task's ``defaults`` (its recipe) may start from it: ``{**COMPACT, ...}``.
COMPACT: dict[str, Any] = {"generator.ngf": 32, "generator.max_mult": 4, "generator.nz": 8,
                           "generator.upsample": "resize", "discriminator.ndf": 32}


class Task:
    """Base class for tasks. Subclass it, set the class attributes, override what differs."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    in_channels: ClassVar[int] = 3  # channels of the condition y fed to the generator
    out_channels: ClassVar[int] = 3  # channels of the output x
    paired: ClassVar[bool] = False  # True: datasets yield y; False: make_condition builds y from x
    # Inference: the generator runs with the condition's longest side at most ``work_scale`` x the size it
    # was trained at; a larger condition is downscaled for it (``resize_condition``), the output is upscaled
    # back and ``compose`` uses the full-resolution condition. None: always at the input's own resolution
    # (right for pixel-level tasks such as restoration; wrong for fills that need context the receptive
    # field saw only at the training scale).
    work_scale: ClassVar[float | None] = None
    # Which side ``work_scale`` bounds: "longest" (a canvas the size of the training crops, e.g. a sketch) or
    # "shortest" (a photo whose training crops were cut after its shorter side was shrunk to about the training
    # size: uncrop's wide canvases are then painted at the scale its training photos had, not at a thumbnail).
    work_side: ClassVar[str] = "longest"
    # With ``work_scale``: True runs the generator a second time at the condition's full resolution and gives the
    # upscaled output that pass's high frequencies (a Gaussian split at the upscale factor): the layout comes from
    # the working scale, the grain from the photo's own, so an upscaled fill does not read as blocks.
    work_detail: ClassVar[bool] = False
    # Training data: False (pix2pix) shrinks each photo to about the training size, then crops; True cuts the
    # crops from the photo at its own scale (no resizing), so a pixel-level task learns detail and damage at
    # the scale it meets them in use and in ``eval --size 0`` (restoration, like BasicSR/Real-ESRGAN). Applies
    # to the default photo-folder dataset, validation included (a central crop at the photo's own scale).
    # "auto": native for photos more than twice the training size, rescaled for smaller ones (PairedTransform).
    native_crops: ClassVar[bool | str] = False
    # Training data: > 1 crops a random square of 1/train_zoom to all of each photo's shorter side and resizes it
    # to the training size (scale augmentation, data.transforms.PairedTransform's ``zoom``), for a task whose
    # photo set is small; 1 keeps pix2pix's jitter. The default photo-folder dataset's training split only.
    train_zoom: ClassVar[float] = 1.0
    default_options: ClassVar[dict[str, Any]] = {}  # task options (``--set task_options.NAME=...``)
    # One line per option for ``img2img tasks NAME``: what it does and the values it takes.
    option_help: ClassVar[dict[str, str]] = {}
    # What an option meant before a weights file could record it: a file trained before the option existed (or
    # before its default changed) runs with this value, not today's default, e.g. {"fill": "grey"}.
    legacy_options: ClassVar[dict[str, Any]] = {}
    defaults: ClassVar[dict[str, Any]] = {}  # TrainConfig overrides, dotted keys: {"generator.nz": 0}
    app: ClassVar[AppHints] = AppHints()

    def __init__(self) -> None:
        self.options: dict[str, Any] = dict(self.default_options)

    # -- options -------------------------------------------------------------------------------
    def configure(self, **options: Any) -> "Task":
        """A copy of this task with some options changed. Unknown names are a ConfigError."""
        unknown = set(options) - set(self.default_options)
        if unknown:
            known = ", ".join(sorted(self.default_options)) or "none"
            raise ConfigError(f"task '{self.name}' has no option {', '.join(sorted(unknown))} (options: {known})")
        clone = copy.copy(self)
        clone.options = {**self.options, **options}
        clone.validate_options()
        return clone

    def validate_options(self) -> None:
        """Raise ConfigError for a bad option value. Called by :meth:`configure`."""

    # -- data ----------------------------------------------------------------------------------
    def build_dataset(self, data_dir: Path | None, split: str, size: int, val_fraction: float = 0.1) -> Dataset:
        """Training (``split="train"``) or validation (``"val"``) data.

        The default reads a folder of photos (recursively) or, with ``data_dir=None``, the embedded procedural
        scenes, and yields ``{"x", "key"}``: right for any self-supervised task. Items may be fetched with an
        ``(index, seed)`` tuple so that augmentation is reproducible (exact resume).
        """
        from .data.folders import ImageFolderDataset
        from .data.procedural import ProceduralScenes

        train = split == "train"
        if data_dir is None:
            return ProceduralScenes(split=split, size=size, train=train)
        return ImageFolderDataset(data_dir, split=split, size=size, val_fraction=val_fraction, train=train,
                                  rescale="auto" if self.native_crops == "auto" else not self.native_crops,
                                  zoom=self.train_zoom)

    def build_datasets(self, data_dirs: Sequence[Path], split: str, size: int, val_fraction: float = 0.1,
                       weights: Sequence[float] | None = None) -> Dataset:
        """The data of several folders as one dataset, for ``train --data A --data B``.

        Each folder is read by :meth:`build_dataset` with its own train/val split (by file name, the same
        ``val_fraction``), so evaluating one of them later finds the images training left out of it. The
        default concatenates them and refuses folders that yield different kinds of examples (pairs and
        photos); a task that can mix them overrides this. No folders: the embedded dataset. ``weights`` (one
        per folder, from ``{"path", "weight"}`` data entries; the trainer passes it only when one is not 1)
        makes the training split of a folder drawn that many times as often; validation splits ignore it.
        """
        from .data.folders import ConcatItems, Reweighted

        if not data_dirs:
            return self.build_dataset(None, split, size, val_fraction)
        parts = [self.build_dataset(Path(d), split, size, val_fraction) for d in data_dirs]
        if weights is not None and split == "train":
            parts = [part if w == 1 else Reweighted(part, w) for part, w in zip(parts, weights, strict=True)]
        if len(parts) == 1:
            return parts[0]
        return ConcatItems(parts, [str(d) for d in data_dirs])

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Self-supervised tasks: the condition y for a batch of targets x (N,C,H,W in [-1, 1]).

        Draw every random number from ``generator`` (it lives on ``x.device``) so that training is
        reproducible and evaluation is fixed per image.
        """
        raise NotImplementedError(f"task '{self.name}' is paired: its datasets must yield 'y'")

    def make_eval_condition(self, x: Tensor, keys: Sequence[str]) -> Tensor:
        """The condition for evaluation: the same for an image on every run (seeded by its key)."""
        ys = [
            self.make_condition(x[i : i + 1], make_generator(stable_seed("eval", self.name, key), x.device))
            for i, key in enumerate(keys)
        ]
        return torch.cat(ys)

    # -- inference -----------------------------------------------------------------------------
    def prepare_input(self, image: Tensor, **controls: Any) -> Tensor:
        """Turn a user's image (1,3,H,W in [-1, 1]) into the condition y for ``predict`` and the app.

        ``controls`` holds every control of ``app.controls`` by name, already converted by the host
        (:func:`resolve_controls`): a slider's value is a float within its range, a checkbox's a bool, a
        choice's one of its ``choices``, and ``Control.default`` where the user gave none. The default
        passes the image through (or averages it to one channel when ``in_channels == 1``).
        """
        if self.in_channels == 1:
            return image.mean(dim=1, keepdim=True)
        return image

    def compose(self, output: Tensor, y: Tensor) -> Tensor:
        """Final image from the raw generator output; e.g. uncrop pastes the known pixels back.

        Applied in training too, so the losses and the discriminator see what the user will see.
        """
        return output

    def resize_condition(self, y: Tensor, size: tuple[int, int]) -> Tensor:
        """y at another (H, W) for the generator (see ``work_scale``); tasks whose condition holds a mask
        override this to keep the mask binary."""
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False, antialias=True)

    def generator_input(self, y: Tensor) -> Tensor:
        """y as this configuration's generator takes it. A condition made by another configuration of the task
        (another model's options, as when ``eval`` or the app give the cGAN's condition to the baseline) is
        brought to this one's; uncrop re-fills the unknown region its own way. Default: y unchanged."""
        return y

    def condition_preview(self, y: Tensor) -> Tensor:
        """A 3-channel picture of the condition for sample grids and the app."""
        if y.shape[1] == 3:
            return y
        if y.shape[1] == 1:
            return y.expand(-1, 3, -1, -1)
        return y[:, :3]

    # -- losses and metrics --------------------------------------------------------------------
    def loss_terms(self) -> list[LossTerm]:
        """Extra generator loss terms, added to the engine's adversarial/L1/diversity terms."""
        return []

    def metrics(self) -> dict[str, MetricFn]:
        """Extra task metrics reported by ``img2img eval``."""
        return {}

    # -- app -----------------------------------------------------------------------------------
    def examples(self) -> list[Tensor]:
        """Example inputs (1,3,H,W in [-1, 1]) made by code, shown in the app. Never dataset files."""
        from .data.procedural import render_scene

        return [render_scene(seed, 256, 256).unsqueeze(0) * 2 - 1 for seed in (3, 11, 42)]

    def __repr__(self) -> str:
        return f"<Task {self.name!r}>"


def resolve_controls(task: Task, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every control ``task.app`` declares, by name, converted to its kind: what ``prepare_input`` receives.

    The one conversion used by ``predict --option``, the app and the Python API (through
    :meth:`img2img.inference.Translator.condition`). ``values`` maps control names to the user's values (strings
    are parsed); a control missing from it, or given as None, gets its ``Control.default``. Raises ConfigError
    for an unknown name or a bad value, PluginError when the task's own default is invalid.
    """
    controls = {c.name: c for c in task.app.controls}
    values = dict(values or {})
    unknown = sorted(set(values) - set(controls))
    if unknown:
        known = ", ".join(controls) or "none"
        raise ConfigError(f"task '{task.name}' has no control {', '.join(map(repr, unknown))} (controls: {known})")
    resolved: dict[str, Any] = {}
    for name, control in controls.items():
        given = values.get(name)
        try:
            resolved[name] = control.convert(control.default if given is None else given)
        except ConfigError as exc:
            if given is None:
                raise PluginError(f"task '{task.name}' declares an invalid default: {exc}") from None
            raise ConfigError(f"task '{task.name}': {exc}") from None
    return resolved


def eval_inputs(task: Task, items: list[dict[str, Any]], device: torch.device | str) -> tuple[Tensor, Tensor]:
    """(x, y) of dataset items on ``device``: their own y when they carry one (paired data), else the task's
    fixed ``make_eval_condition``; used wherever fixed inputs are scored or shown (eval, validation, previews)."""
    x = torch.stack([item["x"] for item in items]).to(device)
    if "y" in items[0]:
        return x, torch.stack([item["y"] for item in items]).to(device)
    return x, task.make_eval_condition(x, [item["key"] for item in items])
