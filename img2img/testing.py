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

import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from .config import TrainConfig, set_value
from .contract_checks import MODELS, Checks, Problem
from .errors import Img2ImgError
from .task import Task

__all__ = ["ConformanceError", "Problem", "check_task", "find_problems", "conformance_test", "TINY_SETTINGS"]

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
class _Checker(Checks):
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
        with self.part("legacy_options"):
            task.configure(**task.legacy_options)  # so must the values files without them run with
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
        if getattr(task, "work_side", "longest") not in ("longest", "shortest"):
            self.fail("work_side", f"must be 'longest' or 'shortest', got {task.work_side!r}")
        if not isinstance(getattr(task, "work_detail", False), bool):
            self.fail("work_detail", f"must be True or False, got {task.work_detail!r}")
        with self.part("generator_input"):
            self.tensor("generator_input", task.generator_input(y), (n, task.in_channels, h, w),
                        "the generator's input (N, in_channels, H, W)")
        with self.part("resize_condition"):
            size = (max(1, h // 2), max(1, w // 2))
            small = task.resize_condition(y, size)
            self.tensor("resize_condition", small, (n, task.in_channels, *size),
                        "the resized condition (N, in_channels, H', W')")

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


