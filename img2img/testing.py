"""A conformance kit for task plugins: run it in your own tests.

One line in a pytest file checks a task against the whole Task contract, including a 2-step training run of
both models and a prediction through the saved weights::

    from img2img.testing import check_task
    from my_package import MyTask

    def test_my_task_conforms(tmp_path):
        check_task(MyTask(), tmp_path=tmp_path)

or, shorter still, ``test_my_task_conforms = conformance_test(MyTask())``.

Every rule is checked even after one fails; all violations are raised together in a
:class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a test failure) whose message names
the task and, for each problem, the rule in plain words. :func:`find_problems` returns them as a list instead.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor

from .config import TrainConfig, set_value
from .errors import Img2ImgError
from .plugins import INPUT_KINDS
from .seeding import make_generator
from .task import CONTROL_KINDS, AppHints, Control, LossTerm, Task, wants_condition

__all__ = ["ConformanceError", "Problem", "check_task", "find_problems", "conformance_test", "TINY_SETTINGS"]

# The engine's own generator loss terms: a task term with one of these names would silently replace it.
ENGINE_TERMS = ("adversarial", "l1", "l2", "mode_seeking", "mse")
MODELS = ("cgan", "regression")
TOLERANCE = 1e-4  # slack on the [-1, 1] range for float rounding (e.g. x * 2 - 1)
BATCH = 2

# The smallest real training run: 32 px, ngf 8, a 2-layer PatchGAN, no worker processes.
TINY_SETTINGS: dict[str, Any] = {
    "size": 32,
    "batch_size": BATCH,
    "steps": 2,
    "num_workers": 0,
    "log_every": 1,
    "sample_every": 1000,
    "checkpoint_every": 1000,
    "val_images": 4,  # validation runs once, at the last step: the task's conditions must suit it too
    "precision": "fp32",
    "generator.ngf": 8,
    "generator.max_mult": 2,
    "discriminator.ndf": 8,
    "discriminator.n_layers": 2,
}


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``where`` is the part of the task (``make_condition``, ``loss term 'edge'`` ...)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ConformanceError(AssertionError):
    """A task breaks the Task contract; ``problems`` lists every violation found."""

    def __init__(self, task_name: str, problems: Sequence[Problem]) -> None:
        self.task_name = task_name
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"task '{task_name}' breaks the img2img Task contract ({count} problem{'s' * (count != 1)}):"]
        lines += [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        lines.append("See docs/plugins.md (\"The Task contract\") for every rule.")
        super().__init__("\n".join(lines))


def check_task(task: Task | str, data_dir: str | Path | None = None, tmp_path: str | Path | None = None, *,
               train: bool = True, size: int = 32, device: str = "cpu") -> None:
    """Check ``task`` against the Task contract; raise :class:`ConformanceError` listing every violation.

    ``task`` is a Task instance or the name of an installed task. ``data_dir`` is a folder to build the
    datasets from (default: the task's embedded data). ``tmp_path`` receives the tiny training runs (default:
    a temporary folder, removed afterwards). ``train=False`` skips the two 2-step training runs and the
    prediction through their weights. ``size`` is the crop size of the checks and of the tiny runs. ``device``
is ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``: on a GPU the kit also catches tensors made on the wrong
device.
    """
    problems = find_problems(task, data_dir, tmp_path, train=train, size=size, device=device)
    if problems:
        name = task if isinstance(task, str) else getattr(task, "name", None) or type(task).__name__
        raise ConformanceError(str(name), problems)


def conformance_test(task: Task | str | Callable[[], Task], data_dir: str | Path | None = None, *,
                     train: bool = True) -> Callable[[Path], None]:
    """A ready-made pytest test: ``test_conforms = conformance_test(MyTask())`` in a test module.

    ``task`` may also be a zero-argument factory (e.g. the class), called when the test runs.
    """

    def test_task_conforms(tmp_path: Path) -> None:
        subject = task() if callable(task) and not isinstance(task, Task) else task
        check_task(subject, data_dir, tmp_path, train=train)

    return test_task_conforms


def find_problems(task: Task | str, data_dir: str | Path | None = None, tmp_path: str | Path | None = None, *,
                  train: bool = True, size: int = 32, device: str = "cpu") -> list[Problem]:
    """Every violation of the Task contract by ``task`` (empty when it conforms). See :func:`check_task`."""
    if isinstance(task, str):
        from .plugins import load_plugins

        try:
            task = load_plugins().get(task)
        except Img2ImgError as exc:
            return [Problem("registration", str(exc))]
    from .engine.precision import resolve_device

    checker = _Checker(task, Path(data_dir) if data_dir is not None else None, size, resolve_device(device))
    # The checks draw random numbers; the caller's global RNG state must come out untouched.
    with torch.random.fork_rng(devices=[]):
        checker.run_static()
        if train and not checker.fatal:
            if tmp_path is None:
                with tempfile.TemporaryDirectory(prefix="img2img-check-") as tmp:
                    checker.run_training(Path(tmp))
            else:
                checker.run_training(Path(tmp_path))
    return checker.problems


# -- the checks ------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, task: Task, data_dir: Path | None, size: int, device: torch.device) -> None:
        self.task = task
        self.data_dir = data_dir
        self.size = size
        self.device = device
        self.problems: list[Problem] = []
        self.fatal = False  # registration failed: nothing else can be trusted
        self.x: Tensor | None = None  # a batch of training targets, once the dataset works
        self.y: Tensor | None = None  # their condition
        self.keys: list[str] = []
        self.user_image: Tensor | None = None

    # -- bookkeeping -------------------------------------------------------------------------------
    def fail(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    @contextlib.contextmanager
    def part(self, where: str) -> Iterator[None]:
        """Run one group of checks; an exception becomes a problem instead of ending the run."""
        try:
            yield
        except Exception as exc:  # the point of the kit: report a plugin's crash as a broken rule
            self.fail(where, f"raised {type(exc).__name__}: {exc}")

    def tensor(self, where: str, value: Any, shape: Sequence[int | None], what: str,
               in_range: bool = True) -> bool:
        """Check a tensor's type, shape (None = any size), dtype, finiteness and [-1, 1] range."""
        if not isinstance(value, Tensor):
            self.fail(where, f"{what} must be a torch.Tensor, got {type(value).__name__}")
            return False
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        if value.dim() != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            self.fail(where, f"{what} must have shape {want}, got {tuple(value.shape)}")
            return False
        if not value.is_floating_point():
            self.fail(where, f"{what} must be a float tensor, got {value.dtype}")
            return False
        finite = torch.isfinite(value.detach())
        if not bool(finite.all()):
            self.fail(where, f"{what} contains NaN or infinite values")
            return False
        if in_range and value.numel():
            lo, hi = float(value.detach().min()), float(value.detach().max())
            if lo < -1 - TOLERANCE or hi > 1 + TOLERANCE:
                self.fail(where, f"{what} must lie in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]")
                return False
        return True

    def generator(self, seed: int) -> torch.Generator:
        return make_generator(seed, self.device)

    # -- static checks ------------------------------------------------------------------------------
    def run_static(self) -> None:
        self.check_registration()
        if self.fatal:
            return
        self.check_options_and_defaults()
        self.check_datasets()
        self.check_condition()
        self.check_compose_and_preview()
        self.check_app()
        self.check_examples()
        self.check_prepare_input()
        self.check_loss_terms()
        self.check_metrics()

    def check_registration(self) -> None:
        from .errors import PluginError
        from .plugins import validate_task

        try:
            validate_task(self.task, "<check_task>")
        except PluginError as exc:
            self.fatal = True
            self.fail("registration", str(exc).replace("plugin '<check_task>': ", "").replace("plugin '<check_task>' ", ""))

    def check_options_and_defaults(self) -> None:
        task = self.task
        with self.part("default_options"):
            task.configure(**task.default_options)  # the defaults must pass validate_options
        with self.part("defaults"):
            cfg = TrainConfig(task=task.name)
            for key, value in task.defaults.items():
                set_value(cfg, key, value)
            cfg.validate()

    def check_datasets(self) -> None:
        task, size = self.task, self.size
        for split in ("train", "val"):
            where = f"build_dataset(split='{split}')"
            try:
                dataset = task.build_dataset(self.data_dir, split, size, 0.1)
            except Exception as exc:
                # A tiny user folder may have no validation images; the trainer then previews training ones.
                if split == "val" and self.data_dir is not None and isinstance(exc, Img2ImgError):
                    continue
                self.fail(where, f"raised {type(exc).__name__}: {exc}")
                continue
            with self.part(where):
                length = len(dataset)
                if length < (BATCH if split == "train" else 1):
                    self.fail(where, f"the {split} dataset has {length} item(s); need at least "
                                     f"{BATCH if split == 'train' else 1} to check it")
                    continue
                items = []
                for index in sorted({0, length - 1}):
                    item = self.check_item(dataset, index, split)
                    if item is not None:
                        items.append(item)
                if split == "train" and len(items) == min(2, length) and len(items) >= 1:
                    if len(items) == 1:  # a one-item dataset: use it twice
                        items = items * BATCH
                    self.x = torch.stack([it["x"] for it in items[:BATCH]]).to(self.device)
                    self.keys = [it["key"] for it in items[:BATCH]]
                    if "y" in items[0] and all("y" in it for it in items):
                        self.y = torch.stack([it["y"] for it in items[:BATCH]]).to(self.device)

    def check_item(self, dataset: Any, index: int, split: str) -> dict[str, Any] | None:
        task, size = self.task, self.size
        where = f"{split} dataset item {index}"
        first = dataset[(index, 1234)]
        if not isinstance(first, dict):
            self.fail(where, f"must be a dict with 'x' and 'key', got {type(first).__name__}")
            return None
        ok = True
        missing = [k for k in ("x", "key") if k not in first]
        if task.paired and "y" not in first:
            missing.append("y")
        if missing:
            self.fail(where, f"is missing key(s) {', '.join(repr(m) for m in missing)}"
                             + (" (paired tasks must yield 'y')" if "y" in missing else ""))
            ok = False
        if "x" in first:
            ok &= self.tensor(where, first["x"], (task.out_channels, size, size),
                              "'x' (out_channels, size, size)")
        if "y" in first:
            ok &= self.tensor(where, first["y"], (task.in_channels, size, size), "'y' (in_channels, size, size)")
        if "key" in first and not isinstance(first["key"], str):
            self.fail(where, f"'key' must be a str (it names the image), got {type(first['key']).__name__}")
            ok = False
        again = dataset[(index, 1234)]
        if ok and isinstance(again, dict) and not _same_item(first, again):
            self.fail(where, "fetching (index, seed) twice must give the same item (augmentation must draw "
                             "from the seed, so that resumed training is exact)")
            ok = False
        return first if ok else None

    def check_condition(self) -> None:
        task, x = self.task, self.x
        if x is None:
            return
        n, _, h, w = x.shape
        shape = (n, task.in_channels, h, w)
        # validate_task already insists that self-supervised tasks override it; paired ones may too.
        if type(task).make_condition is not Task.make_condition:
            where = "make_condition"
            before = len(self.problems)
            with self.part(where):
                original = x.clone()
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(1)  # different global seeds: only the generator may decide
                    first = task.make_condition(x, self.generator(7))
                    torch.manual_seed(2)
                    second = task.make_condition(x, self.generator(7))
                if not torch.equal(x, original):
                    self.fail(where, "must not modify x in place (the batch is used as the target afterwards)")
                good = self.tensor(where, first, shape, "the condition (N, in_channels, H, W)")
                comparable = isinstance(first, Tensor) and isinstance(second, Tensor) and first.shape == second.shape
                if comparable and not torch.equal(first, second):
                    self.fail(where, "must return the same condition for the same generator seed; draw every "
                                     "random number from the `generator` argument (never torch.rand without it, "
                                     "random or numpy.random)")
                elif good and self.y is None:
                    self.y = first
            condition_broken = len(self.problems) > before
            # The default make_eval_condition calls make_condition: its faults are already reported.
            eval_overridden = type(task).make_eval_condition is not Task.make_eval_condition
            if self.keys and (eval_overridden or not condition_broken):
                where = "make_eval_condition"
                with self.part(where):
                    first = task.make_eval_condition(x, self.keys)
                    second = task.make_eval_condition(x, self.keys)
                    if self.tensor(where, first, shape, "the evaluation condition (N, in_channels, H, W)"):
                        if not (isinstance(second, Tensor) and torch.equal(first, second)):
                            self.fail(where, "must return the same condition for the same keys every time")
        if self.y is None:
            # A stand-in of the right shape lets the later checks (compose, losses) still report their own faults.
            self.y = torch.zeros(shape, device=self.device)

    def check_compose_and_preview(self) -> None:
        task, x, y = self.task, self.x, self.y
        if x is None or y is None:
            return
        n, _, h, w = x.shape
        with self.part("compose"):
            raw = torch.tanh(torch.randn(n, task.out_channels, h, w, generator=self.generator(3), device=self.device))
            raw.requires_grad_(True)
            out = task.compose(raw, y)
            if self.tensor("compose", out, (n, task.out_channels, h, w), "the composed output (N, out_channels, H, W)"):
                if not out.requires_grad:
                    self.fail("compose", "must keep the gradient to the generator output (no .detach(), "
                                         "no torch.no_grad()); otherwise the generator cannot learn")
        with self.part("condition_preview"):
            preview = task.condition_preview(y)
            self.tensor("condition_preview", preview, (n, 3, h, w), "the preview (N, 3, H, W)")
        scale = getattr(task, "work_scale", None)
        if scale is not None and (not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0):
            self.fail("work_scale", f"must be None or a positive number (x the training size), got {scale!r}")
        with self.part("resize_condition"):
            size = (max(1, h // 2), max(1, w // 2))
            small = task.resize_condition(y, size)
            self.tensor("resize_condition", small, (n, task.in_channels, *size),
                        "the resized condition (N, in_channels, H', W')")

    def check_app(self) -> None:
        app = self.task.app
        where = "app"
        if not isinstance(app, AppHints):
            self.fail(where, f"must be an img2img.AppHints, got {type(app).__name__}")
            return
        if app.input_kind not in INPUT_KINDS:
            self.fail(where, f"input_kind must be one of {', '.join(INPUT_KINDS)}, got {app.input_kind!r}")
        if not isinstance(app.input_label, str) or not app.input_label.strip():
            self.fail(where, "input_label must be a non-empty string")
        names: set[str] = set()
        for i, control in enumerate(app.controls):
            if not isinstance(control, Control):
                self.fail(where, f"controls[{i}] must be an img2img.Control, got {type(control).__name__}")
                continue
            self.check_control(control, names)

    def check_control(self, control: Control, names: set[str]) -> None:
        where = f"app control '{control.name}'"
        if not isinstance(control.name, str) or not control.name.isidentifier():
            self.fail(where, "name must be a Python identifier (it is passed as prepare_input(..., name=value))")
        if control.name in names:
            self.fail(where, "name is used by two controls")
        names.add(control.name)
        if isinstance(control.name, str) and not _accepts(self.task.prepare_input, control.name):
            self.fail(where, f"prepare_input must accept the keyword argument {control.name!r} (or **controls)")
        if not isinstance(control.label, str) or not control.label.strip():
            self.fail(where, "label must be a non-empty string")
        if control.kind not in CONTROL_KINDS:
            self.fail(where, f"kind must be one of {', '.join(CONTROL_KINDS)}, got {control.kind!r}")
        elif control.kind == "choice":
            if not control.choices:
                self.fail(where, "a choice control needs choices")
            elif control.default not in control.choices:
                self.fail(where, f"default {control.default!r} is not one of its choices")
        elif control.kind == "checkbox":
            if not isinstance(control.default, bool):
                self.fail(where, f"a checkbox default must be True or False, got {control.default!r}")
        else:
            bounds = (control.minimum, control.maximum, control.step)
            if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds):
                self.fail(where, f"a slider needs finite numbers for minimum, maximum and step, got {bounds}")
            elif not control.minimum < control.maximum or not control.step > 0:
                self.fail(where, "a slider needs minimum < maximum and step > 0")
            elif not (isinstance(control.default, (int, float)) and control.minimum <= control.default <= control.maximum):
                self.fail(where, f"default {control.default!r} must lie between minimum and maximum")

    def check_examples(self) -> None:
        where = "examples"
        with self.part(where):
            examples = self.task.examples()
            if not isinstance(examples, (list, tuple)):
                self.fail(where, f"must return a list of tensors, got {type(examples).__name__}")
                return
            good = [ex for i, ex in enumerate(examples)
                    if self.tensor(where, ex, (1, 3, None, None), f"example {i} (1, 3, H, W)")]
            if good and len(good) == len(examples):
                self.user_image = good[0]

    def check_prepare_input(self) -> None:
        task = self.task
        image = self.user_image
        if image is None:
            from .data.procedural import render_scene

            image = render_scene(5, self.size, self.size).unsqueeze(0) * 2 - 1
            self.user_image = image
        image = image.to(self.device)
        declared = [c for c in task.app.controls if isinstance(c, Control)]
        # What the host sends (resolve_controls): every control, converted. An invalid default is reported by
        # check_control and passed as it is, so prepare_input's own faults still show.
        controls = {c.name: _converted(c, c.default) for c in declared}
        attempts = [("default controls", controls)]
        reported = len(self.problems)
        for c in declared:
            if c.kind == "choice":
                others = [v for v in list(c.choices)[:8] if v != c.default]
            elif c.kind == "slider":
                others = [v for v in (c.minimum, c.maximum) if v != c.default]
            else:
                others = [not c.default] if isinstance(c.default, bool) else []
            attempts += [(f"{c.name}={v!r}", {**controls, c.name: _converted(c, v)}) for v in others]
        for i, (label, values) in enumerate(attempts):
            if i == 1 and len(self.problems) > reported:
                break  # the defaults already fail: the other values would repeat the same fault
            where = f"prepare_input ({label})"
            with self.part(where):
                before = image.clone()
                y = task.prepare_input(image, **values)
                if not torch.equal(image, before):
                    self.fail(where, "must not modify the user's image in place")
                self.tensor(where, y, (1, task.in_channels, None, None), "the condition (1, in_channels, H, W)")

    def check_loss_terms(self) -> None:
        task, x, y = self.task, self.x, self.y
        where = "loss_terms"
        with self.part(where):
            terms = task.loss_terms()
            if not isinstance(terms, (list, tuple)):
                self.fail(where, f"must return a list of img2img.LossTerm, got {type(terms).__name__}")
                return
            seen: set[str] = set()
            for i, term in enumerate(terms):
                if not isinstance(term, LossTerm):
                    self.fail(where, f"item {i} must be an img2img.LossTerm, got {type(term).__name__}")
                    continue
                self.check_term(term, seen, x, y)

    def check_term(self, term: LossTerm, seen: set[str], x: Tensor | None, y: Tensor | None) -> None:
        where = f"loss term '{term.name}'"
        if not isinstance(term.name, str) or not term.name.strip():
            self.fail("loss_terms", f"a term has the name {term.name!r}; names must be non-empty strings")
            return
        if term.name in seen:
            self.fail(where, "the name is used twice; term names must be unique")
        seen.add(term.name)
        if term.name in ENGINE_TERMS:
            self.fail(where, f"the name clashes with the engine's own term; avoid {', '.join(ENGINE_TERMS)}")
        if not isinstance(term.weight, (int, float)) or not math.isfinite(term.weight) or term.weight < 0:
            self.fail(where, f"weight must be a finite number >= 0, got {term.weight!r}")
        models = term.models if isinstance(term.models, (tuple, list)) else ()
        if not models or any(m not in MODELS for m in models):
            self.fail(where, f"models must be a non-empty tuple drawn from {MODELS}, got {term.models!r}")
        if not callable(term.fn):
            self.fail(where, "fn must be callable as fn(fake, real, y)")
            return
        if x is None or y is None:
            return
        with self.part(where):
            fake = torch.tanh(torch.randn(x.shape, generator=self.generator(5), device=self.device)).requires_grad_(True)
            value = term.fn(fake, x, y)
            if not isinstance(value, Tensor) or value.numel() != 1 or value.dim() != 0:
                shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
                self.fail(where, f"fn(fake, real, y) must return a scalar tensor (shape ()), got {shape}")
                return
            if not math.isfinite(float(value.detach())):
                self.fail(where, f"fn(fake, real, y) must be finite, got {float(value.detach())}")
                return
            if not value.requires_grad:
                self.fail(where, "fn(fake, real, y) must be differentiable with respect to fake (it has no gradient)")
                return
            (grad,) = torch.autograd.grad(value, fake, allow_unused=True)
            if grad is None:
                self.fail(where, "fn(fake, real, y) does not depend on fake, so it cannot train the generator")
            elif not bool(torch.isfinite(grad).all()):
                self.fail(where, "the gradient with respect to fake contains NaN or infinite values")

    def check_metrics(self) -> None:
        task, x = self.task, self.x
        where = "metrics"
        with self.part(where):
            metrics = task.metrics()
            if not isinstance(metrics, dict):
                self.fail(where, f"must return a dict of name -> fn(fake, real[, y]), got {type(metrics).__name__}")
                return
            for name, fn in metrics.items():
                label = f"metric '{name}'"
                if not isinstance(name, str) or not name.strip() or not callable(fn):
                    self.fail(where, f"entry {name!r} must map a non-empty name to a callable fn(fake, real[, y])")
                    continue
                if x is None:
                    continue
                with self.part(label):
                    fake = torch.tanh(torch.randn(x.shape, generator=self.generator(6), device=self.device))
                    wants_y = wants_condition(fn)
                    if wants_y and self.y is None:
                        continue  # make_condition already failed and was reported
                    with torch.no_grad():
                        value = fn(fake, x, self.y) if wants_y else fn(fake, x)
                    call = "fn(fake, real, y)" if wants_y else "fn(fake, real)"
                    self.tensor(label, value, (x.shape[0],), f"{call} (one value per image, shape (N,))",
                                in_range=False)

    # -- training and prediction ------------------------------------------------------------------
    def run_training(self, root: Path) -> None:
        image = self.user_image
        for model in MODELS:
            where = f"tiny training ({model})"
            try:
                cfg = self.tiny_config(model)
            except Exception as exc:
                self.fail(where, f"cannot build the config: {type(exc).__name__}: {exc}")
                return
            with self.part(where):
                from .engine.trainer import Trainer

                out = root / f"{self.task.name}-{model}"
                weights = Trainer(cfg, self.task, out, progress=False).fit()
                if not Path(weights).is_file():
                    self.fail(where, f"training finished but wrote no weights at {weights}")
                    continue
            if image is None or not Path(out / f"{self.task.name}-{model}.safetensors").is_file():
                continue
            where = f"predict ({model})"
            with self.part(where):
                from .inference import Translator

                translator = Translator(self.task, out / f"{self.task.name}-{model}.safetensors", device=self.device)
                y = translator.condition(image)  # every control at its default, as predict without --option
                result = translator.translate(image, samples=2, seed=0)
                k = 2 if translator.stochastic else 1
                self.tensor(where, result, (k, self.task.out_channels, y.shape[2], y.shape[3]),
                            "the prediction (K, out_channels, H, W)")

    def tiny_config(self, model: str) -> TrainConfig:
        cfg = TrainConfig(task=self.task.name, model=model, seed=0, device=str(self.device))
        for key, value in self.task.defaults.items():
            set_value(cfg, key, value)
        for key, value in {**TINY_SETTINGS, "size": self.size}.items():
            set_value(cfg, key, value)
        cfg.data = str(self.data_dir) if self.data_dir is not None else None
        cfg.epochs = None
        # A task default may ask for more PatchGAN scales than 32 px allows; the kit checks the task, not that.
        cfg.discriminator.num_scales = min(cfg.discriminator.num_scales, 2)
        return cfg


def _same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, Tensor):
            if not (isinstance(other, Tensor) and value.shape == other.shape and torch.equal(value, other)):
                return False
        elif value != other:
            return False
    return True


def _converted(control: Control, value: Any) -> Any:
    try:
        return control.convert(value)
    except Img2ImgError:
        return value


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes a keyword argument ``name`` (by name or through ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature (a C function): give it the benefit of the doubt
        return True
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
