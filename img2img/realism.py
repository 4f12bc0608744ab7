"""Realism as a number a = 0..1: the generator between a cGAN and the MSE baseline it was fine-tuned from.

ESRGAN's network interpolation (Wang et al. 2018): theta(a) = (1 - a) * theta_baseline + a * theta_cGAN. It
walks the perception-distortion trade-off (Blau & Michaeli 2018) with no retraining: at a = 0 the conditional
mean E[x|y], at a = 1 the cGAN's samples. It is meaningful only for a cGAN that started from that very
baseline (``img2img train --model cgan --init BASELINE``): two networks trained apart share no coordinates, and
their average is neither. Weights files carry an ``id`` and a fine-tune records its start's as ``init_id``
(:mod:`img2img.weights`), so a pair is recognised from the metadata alone, before any tensor is read.

The baseline has no latent paths. In the cGAN's architecture they count as zero, which is what they contribute
at the mean latent: noise strengths 0, FiLM maps 0 (the identity). The baseline is put into that architecture
by the fine-tuning code itself (:func:`img2img.weights.load_init`, into a zeroed copy of the cGAN), so the
two can never disagree about which parameter is which.

ONNX: the interpolated generator runs with torch. An ONNX export takes seconds for each value of a, the
interpolation milliseconds; a slider wants the latter. a = 1 is the cGAN as loaded
(today's output, ONNX Runtime included) and a = 0 holds exactly the baseline's weights.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .errors import ConfigError, WeightsError
from .models.unet import fold_resize_upsampling
from .weights import INIT_ID_KEY, WeightsInfo, load_generator, load_init, read_info, weights_id

# The options only a cGAN has; they may differ between the pair (the baseline's paths count as zero).
LATENT_OPTIONS = ("nz", "noise", "film")
CACHED_VALUES = 8  # views kept per pair (a light object each; the weights are written in place)


def check_realism(a: object) -> float:
    """``a`` as a float in [0, 1], or a ConfigError naming the value."""
    try:
        value = float(a)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"realism must be a number from 0 (the MSE baseline) to 1 (the cGAN); got {a!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ConfigError(f"realism must be from 0 (the MSE baseline) to 1 (the cGAN); got {a!r}")
    return value


def baseline_beside(cgan: Path, task: str) -> Path:
    """Where the baseline of a cGAN file is looked for: ``TASK-regression.safetensors`` in its folder."""
    return Path(cgan).with_name(f"{task}-regression.safetensors")


def check_pair(cgan: Path, baseline: Path) -> tuple[WeightsInfo, WeightsInfo]:
    """Both files' metadata, or a WeightsError saying in one line why they are not a fine-tuned pair."""
    cgan, baseline = Path(cgan), Path(baseline)
    refuse = "realism needs a cGAN fine-tuned from its MSE baseline"
    info, base = read_info(cgan), read_info(baseline)
    if info.model != "cgan":
        raise WeightsError(f"{refuse}: {cgan.name} is a {info.model} model, not a cGAN")
    if base.model != "regression":
        raise WeightsError(f"{refuse}: {baseline.name} is a {base.model} model, not the MSE baseline")
    if info.task != base.task:
        raise WeightsError(f"{refuse}: {cgan.name} is a '{info.task}' model, {baseline.name} a '{base.task}' one")
    origin = info.extra.get(INIT_ID_KEY)
    if origin is None:
        raise WeightsError(f"{refuse}: {cgan.name} was not fine-tuned from a baseline (trained from scratch, "
                           f"no --init origin in its metadata)")
    if origin != weights_id(baseline):
        raise WeightsError(f"{refuse}: {cgan.name} was fine-tuned from other weights (id {origin}), not from "
                           f"{baseline.name}")
    mine = {k: v for k, v in info.generator.items() if k not in LATENT_OPTIONS}
    theirs = {k: v for k, v in base.generator.items() if k not in LATENT_OPTIONS}
    differ = [k for k in sorted(mine.keys() | theirs.keys()) if mine.get(k) != theirs.get(k)]
    if differ:
        key = differ[0]
        raise WeightsError(f"{refuse}: the two files differ in architecture (generator.{key} "
                           f"{mine.get(key)!r} in {cgan.name}, {theirs.get(key)!r} in {baseline.name})")
    return info, base


class RealismPair:
    """A fine-tuned cGAN and its baseline, read once. :meth:`generator` gives the generator at a given a.

    One working generator per pair, whose parameters and buffers are rewritten in place when another a runs:
    ``torch._foreach_lerp_`` from the two ends' tensors (kept apart, never aliased by the working copy), about a
    millisecond for these generators, where a deepcopy per new a cost ~250 ms. :meth:`generator` returns a light
    :class:`InterpolatedGenerator` (kept for the last few values of a, so the same a gives the same object); its
    forward pass takes the pair's lock, writes a in if another a ran last, and runs, so two threads at two values
    of a never see each other's weights (a forward at one a and a switch to another are serialised)."""

    def __init__(self, cgan: Path, baseline: Path, device: str | torch.device = "cpu",
                 cached: int = CACHED_VALUES) -> None:
        self.cgan_path, self.baseline_path = Path(cgan), Path(baseline)
        self.info, self.baseline_info = check_pair(self.cgan_path, self.baseline_path)
        generator, _ = load_generator(self.cgan_path, device=device)
        # The baseline in the cGAN's architecture: every parameter zeroed, then the fine-tuning code copies the
        # baseline in; what it leaves untouched are the latent paths the baseline lacks, now zero.
        zero = copy.deepcopy(generator)
        with torch.no_grad():
            for tensor in zero.state_dict().values():
                tensor.zero_()
        try:
            load_init(zero, self.baseline_path)
        except WeightsError as exc:
            raise WeightsError(f"realism: {self.baseline_path.name} does not fit {self.cgan_path.name}'s generator "
                               f"({str(exc).split('(', 1)[-1].rstrip(')')})") from exc
        # Folding resize-convs into transposed convs is linear in the weights, so folding both ends once and
        # interpolating the folded tensors gives the folded interpolation: fast inference at every a.
        for module in (generator, zero):
            fold_resize_upsampling(module)
            module.eval()
        for tensor in generator.parameters():
            tensor.requires_grad_(False)  # written in place at every new a; inference only
        # The working generator is the loaded cGAN itself; the ends are copies (its own tensors change with a).
        # Only floating-point tensors interpolate (an integer buffer such as a BatchNorm's step count does not).
        state = generator.state_dict()
        self._names = [name for name, tensor in state.items() if tensor.is_floating_point()]
        start = zero.state_dict()
        self._work = [state[name] for name in self._names]
        self._start = [start[name].detach().clone() for name in self._names]
        self._end = [tensor.detach().clone() for tensor in self._work]
        self._module = generator
        self._a = 1.0  # what the working generator holds now
        self._views: OrderedDict[float, InterpolatedGenerator] = OrderedDict()
        self._size = max(1, cached)
        self._lock = threading.Lock()  # guards the working generator's weights and _a, and _views
        self.switches = 0  # how many times weights were rewritten (a new a, or back to one)

    @property
    def nz(self) -> int:
        return int(self._module.nz)

    def generator(self, a: float) -> "InterpolatedGenerator":
        """The generator at realism ``a`` (eval mode, folded): theta = (1 - a) * baseline + a * cGAN. Cheap: the
        weights are written only when it runs after another a did.

        ``torch.lerp`` is exact at both ends, and a = 0 or 1 copies the end itself, so a = 0 holds the baseline's
        weights and a = 1 the cGAN's, bit for bit."""
        a = check_realism(a)
        with self._lock:
            view = self._views.get(a)
            if view is None:
                view = self._views[a] = InterpolatedGenerator(self, a)
                while len(self._views) > self._size:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(a)
            return view

    def state_at(self, a: float) -> dict[str, torch.Tensor]:
        """A fresh copy of the floating-point tensors at realism ``a`` (by name), e.g. to save or compare."""
        a = check_realism(a)
        with self._lock:
            self._write(a)
            return {name: tensor.detach().clone() for name, tensor in zip(self._names, self._work)}

    def _write(self, a: float) -> None:
        """Put realism ``a`` into the working generator (the caller holds the lock)."""
        if a == self._a:
            return
        with torch.no_grad():
            if a == 0.0 or a == 1.0:
                torch._foreach_copy_(self._work, self._start if a == 0.0 else self._end)
            else:
                torch._foreach_copy_(self._work, self._start)
                torch._foreach_lerp_(self._work, self._end, a)  # lerp(start, end, a), in place
        self._a = a
        self.switches += 1

    def _run(self, a: float, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._write(a)
            return self._module(*args, **kwargs)

    def describe(self) -> str:
        return f"{self.cgan_path.name} fine-tuned from {self.baseline_path.name}"


class InterpolatedGenerator:
    """The generator of a :class:`RealismPair` at one value of a: called like the generator (``g(y, z)``), its
    other attributes (``nz``, ``config``...) are the generator's. Each call runs under the pair's lock at this a."""

    def __init__(self, pair: RealismPair, a: float) -> None:
        self.pair, self.realism = pair, a

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.pair._run(self.realism, *args, **kwargs)

    forward = __call__

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.pair.state_at(self.realism)

    def __getattr__(self, name: str) -> Any:  # only for names not set above: nz, config, training...
        return getattr(self.pair._module, name)

    def __repr__(self) -> str:
        return f"InterpolatedGenerator(a={self.realism:g}, {self.pair.describe()})"


@lru_cache(maxsize=2)
def _pair(cgan: str, baseline: str, stamps: tuple[float, float], device: str) -> RealismPair:
    return RealismPair(Path(cgan), Path(baseline), device)


def load_pair(cgan: str | Path, baseline: str | Path, device: str | torch.device = "cpu") -> RealismPair:
    """A :class:`RealismPair`, shared while the two files are unchanged (keyed by path and modification time)."""
    cgan, baseline = Path(cgan).resolve(), Path(baseline).resolve()
    for path in (cgan, baseline):
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
    return _pair(str(cgan), str(baseline), (cgan.stat().st_mtime, baseline.stat().st_mtime), str(device))


def realism_generator(cgan: str | Path, baseline: str | Path, a: float,
                      device: str | torch.device = "cpu") -> InterpolatedGenerator:
    """The generator at realism ``a`` for a fine-tuned pair of files; read once, the weights written in place
    whenever it runs after another a did."""
    return load_pair(cgan, baseline, device).generator(a)
