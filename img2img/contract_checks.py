"""The Task contract's checks of a task's app hints, examples, inputs, loss terms and metrics, and the bookkeeping
every check shares: the conformance kit (:mod:`img2img.testing`) runs them."""

from __future__ import annotations

import contextlib
import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor

from .errors import Img2ImgError, PluginError
from .losses.terms import check_term_names
from .plugins import INPUT_KINDS
from .seeding import make_generator
from .task import CONTROL_KINDS, AppHints, Control, LossTerm, Task, wants_condition

MODELS = ("cgan", "regression")
TOLERANCE = 1e-4  # slack on the [-1, 1] range for float rounding (e.g. x * 2 - 1)


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``where`` is the part of the task (``make_condition``, ``loss term 'edge'`` ...)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Checks:
    """What every check needs (``task``, ``device``, ``size``, a batch ``x``/``y`` once the dataset works, a
    ``user_image``) and the checks of the parts that need no dataset of their own."""

    task: Task
    device: torch.device
    size: int
    problems: list[Problem]
    x: Tensor | None
    y: Tensor | None
    user_image: Tensor | None

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
        try:  # the message training start raises
            check_term_names(self.task, [term])
        except PluginError as exc:
            self.fail(where, str(exc))
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
