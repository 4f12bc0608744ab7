"""Validation quality during training, and the choice of the run's ``best`` weights.

At each validation step the EMA generator (the weights a run ships) translates a fixed set of validation
images: up to ``val_images`` of the validation split, spread over it, each with the condition
``make_eval_condition`` gives it (fixed per image) and one latent drawn from a fixed seed. The scores go into
``log.jsonl`` under eval's JSON names with a ``val/`` prefix:

- always: ``val/l1`` and ``val/psnr`` (to the target), and ``val/sharpness`` (eval's sharpness ratio: the
  samples' Laplacian energy over the targets', 1 = as sharp; a Laplacian, no network: milliseconds);
- with the ``perceptual`` extra: ``val/lpips`` (AlexNet LPIPS to the target) and ``val/fd_lite0`` /
  ``val/kid_lite0`` (Frechet distance and unbiased KID on EfficientNet-Lite0 pooled features, generated
  images against the same images' targets); for a generator with a latent input also ``val/lpips_diversity``
  (LPIPS between each sample and a second one of the same input, from a second fixed latent);
- without it: ``val/swd`` instead (realism without pretrained networks: the Laplacian-pyramid sliced
  Wasserstein distance x1e3 to the targets), and one warning saying why the others are missing;
- with ``val_native`` = N > 0: ``val/native_psnr``, ``val/native_sharpness`` and (with the extra)
  ``val/native_lpips`` on N whole validation images at their own size (longest side capped at eval's 1024),
  one at a time, each with its fixed condition and latent: eval's ``--size 0`` in small. A 128 px crop
  cannot show a restorer's halo along a 481 px edge (on restore, the crops once preferred the run the
  native-size eval rejected).

The ``best`` weights file follows one measure (:func:`best_measure`), by default (``val_best: auto``)
``val/kid_lite0`` for the cGAN, because KID is unbiased at the small sample sizes a training-time validation
can afford (the Frechet distance is biased upwards there, by an amount that depends on the sample count);
``val/swd`` for the cGAN without the extra; ``val/psnr`` for the regression baseline, whose objective is the
conditional mean (MSE), not realism. ``val_best`` names another score where realism is the wrong judge: a
restorer's KID rewards invented texture (restore's fine-tunes had their best KID at step 250 and their best
LPIPS at 750-1500), so a restorer's run may follow ``lpips``. ``psnr`` counts higher as better, the rest lower.
A score that needs the perceptual extra falls back to the default without it (one warning). The best score
and its step are part of the training checkpoint, so a resumed run keeps them; a resumed run that names
another measure starts its best afresh.

Nothing here touches the global RNG the training draws from (the feature networks are built under
``fork_rng``, latents come from their own seeded generator): exact resume stays exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..config import TrainConfig
from ..metrics.fid import KID_SUBSET, KID_SUBSETS
from ..metrics.perceptual import fd_kid, lite0_features, lpips_diversity, lpips_to_target
from ..metrics.psnr_ssim import psnr
from ..metrics.scoring import NATIVE_MAX_SIDE, capped, perceptual_networks, spread
from ..metrics.sharpness import sharpness, sharpness_ratio, sharpness_ratio_from_energy
from ..metrics.swd import sliced_wasserstein
from ..models import sample_latent
from ..seeding import make_generator, stable_seed
from ..task import Task, eval_inputs

BATCH = 16  # generator/feature batch: bounds the memory a validation needs at large sizes


@dataclass(frozen=True)
class Measure:
    """The log key a run's ``best`` weights follow, and whether lower values are better."""

    key: str
    lower_is_better: bool

    def improves(self, value: float, best: float | None) -> bool:
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        return value < best if self.lower_is_better else value > best


PERCEPTUAL_SCORES = ("lpips", "fd_lite0", "kid_lite0")  # the val_best choices that need the perceptual extra


def best_measure(model: str, perceptual: bool, choice: str = "auto") -> Measure:
    """The measure that picks the ``best`` weights: ``choice`` (a ``val_best`` name) when it can be scored,
    else the model's default (see the module docstring for why)."""
    if choice != "auto" and (perceptual or choice not in PERCEPTUAL_SCORES):
        return Measure(f"val/{choice}", lower_is_better=choice != "psnr")
    if model == "regression":
        return Measure("val/psnr", lower_is_better=False)
    return Measure("val/kid_lite0", True) if perceptual else Measure("val/swd", True)


class Validation:
    """Scores the generator on fixed validation inputs and tracks the best score of the run.

    ``cfg.val_images`` = 0 (or an empty dataset) switches it off: :meth:`due` is then always False. It runs
    every ``cfg.val_every`` steps (default: at every checkpoint) and at the last step.
    """

    def __init__(self, task: Task, dataset: Dataset | None, cfg: TrainConfig, device: torch.device,
                 native: Dataset | None = None) -> None:
        self.task, self.dataset, self.model, self.device = task, dataset, cfg.model, device
        self.native = native  # the validation split at native size (val_native), or None
        self.native_count = min(cfg.val_native, len(native)) if native is not None else 0
        self._native_inputs: list[tuple[Tensor, Tensor]] | None = None
        self._native_target_energy: Tensor | None = None
        self.choice = cfg.val_best
        self.every = cfg.val_every or cfg.checkpoint_every
        self.count = min(cfg.val_images, len(dataset)) if dataset is not None else 0
        self.best: dict[str, Any] | None = None  # {"key", "value", "step"} of the best validation so far
        self._inputs: tuple[Tensor, Tensor] | None = None
        self._networks: tuple[nn.Module, nn.Module] | None | str = None  # (lpips, lite0), or why not
        self._real_lite0: Tensor | None = None

    def due(self, step: int, last: bool) -> bool:
        return self.count > 0 and (step % self.every == 0 or last)

    @torch.no_grad()
    def run(self, generator: nn.Module, step: int, save_best: Callable[[dict[str, str]], object]) -> dict[str, Any]:
        """Score ``generator`` (eval mode); when the run's measure improves, record it and call
        ``save_best(metadata)`` to write the ``best`` weights. Returns the scalars for ``log.jsonl``."""
        scores = self.measure(generator, swd=self.choice == "swd")
        measure = best_measure(self.model, "val/lpips" in scores, self.choice)
        value = scores.get(measure.key)
        if self.best is not None and self.best["key"] != measure.key:
            # The measure changed (the perceptual extra was installed or removed between runs, or a resume
            # named another val_best): the old score cannot be compared with the new one, so the best restarts.
            self.best = None
        if value is not None and measure.improves(value, self.best["value"] if self.best else None):
            self.best = {"key": measure.key, "value": value, "step": step}
            save_best({"best_measure": measure.key, "best_value": repr(value)})
        return scores | ({"best_step": self.best["step"]} if self.best else {})

    def measure(self, generator: nn.Module, swd: bool = False) -> dict[str, float]:
        """The ``val/*`` scores of ``generator`` on the fixed inputs; ``swd``: also ``val/swd`` when the
        pretrained networks are there (a realism check that owes nothing to them, for benchmarks)."""
        x, y = self._fixed_inputs()
        fake = self._samples(generator, y, "validation-z")
        scores = {"val/l1": float((fake - x).abs().mean()), "val/psnr": float(psnr(fake, x).mean()),
                  "val/sharpness": sharpness_ratio(fake, x)}
        networks = self._feature_networks()
        if isinstance(networks, tuple):
            scores |= self._perceptual(networks, fake, x)
            if getattr(generator, "nz", 0) > 0:
                scores["val/lpips_diversity"] = self._diversity(generator, networks[0], fake, y)
        if self.native_count:
            scores |= self._native_scores(generator, networks[0] if isinstance(networks, tuple) else None)
        if isinstance(networks, tuple) and not swd:
            # SWD costs more than Lite0 and LPIPS together (5.2 s vs 4.8 s for 64 images at 128 px, one
            # thread): it is the realism measure only where the pretrained ones are missing.
            return scores
        scores["val/swd"] = sliced_wasserstein(fake, x)["swd_mean"]
        return scores

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        self.best = (state or {}).get("best")  # checkpoints from before validation existed have none

    # -- pieces ------------------------------------------------------------------------------------
    def _fixed_inputs(self) -> tuple[Tensor, Tensor]:
        if self._inputs is None:
            self._inputs = eval_inputs(self.task, _fixed_items(self.dataset, self.count, "validation"), self.device)
        return self._inputs

    def _feature_networks(self) -> tuple[nn.Module, nn.Module] | str:
        """(LPIPS-AlexNet, Lite0), built on first use, or the one-line reason they are unavailable."""
        if self._networks is None:
            # Built under fork_rng (see perceptual_networks): the training's random stream is not drawn from.
            self._networks = perceptual_networks(self.device)
            if isinstance(self._networks, str):
                import warnings

                warnings.warn(f"validation: val/lpips, val/fd_lite0 and val/kid_lite0 skipped ({self._networks}); "
                              f"the best weights follow {best_measure(self.model, False, self.choice).key}",
                              stacklevel=2)
        return self._networks

    def _samples(self, generator: nn.Module, y: Tensor, seed: str) -> Tensor:
        """One sample per fixed input, from latents drawn with their own seeded generator (not the global RNG)."""
        z = sample_latent(y.shape[0], getattr(generator, "nz", 0), make_generator(stable_seed(seed), self.device), self.device)
        return torch.cat([self.task.compose(generator(y[i : i + BATCH], z[i : i + BATCH]), y[i : i + BATCH]).float()
                          for i in range(0, y.shape[0], BATCH)])

    def _diversity(self, generator: nn.Module, lpips_metric: nn.Module, fake: Tensor, y: Tensor) -> float:
        """Mean LPIPS between each validation sample and a second sample of the same input (a second fixed
        latent), over the whole image: eval's ``lpips_diversity`` with one pair per input. The realism scores cannot see a run that
        changes only how much its samples differ."""
        other = self._samples(generator, y, "validation-z2")
        return float(torch.cat([lpips_diversity(lpips_metric, torch.stack([fake[i : i + BATCH], other[i : i + BATCH]], 1))
                                for i in range(0, y.shape[0], BATCH)]).mean())

    def _native_scores(self, generator: nn.Module, lpips_metric: nn.Module | None) -> dict[str, float]:
        """``val/native_*`` on whole validation images at their own size, one at a time (their sizes differ)."""
        if self._native_inputs is None:  # the inputs and the targets' sharpness are fixed: once per run
            items = [capped(item, self.task, NATIVE_MAX_SIDE)[0]
                     for item in _fixed_items(self.native, self.native_count, "validation-native")]
            self._native_inputs = [eval_inputs(self.task, [item], self.device) for item in items]
            self._native_target_energy = torch.cat([sharpness(x) for x, _ in self._native_inputs])
        z = sample_latent(self.native_count, getattr(generator, "nz", 0),
                          make_generator(stable_seed("validation-native-z"), self.device), self.device)
        energy, psnrs, distances = [], [], []
        for k, (x, y) in enumerate(self._native_inputs):
            fake = self.task.compose(generator(y, z[k : k + 1]), y).float()
            energy.append(sharpness(fake))
            psnrs.append(psnr(fake, x))
            if lpips_metric is not None:
                distances.append(lpips_to_target(lpips_metric, fake[:, None], x))
        scores = {"val/native_psnr": float(torch.cat(psnrs).mean()),
                  "val/native_sharpness": sharpness_ratio_from_energy(torch.cat(energy), self._native_target_energy)}
        return scores | ({"val/native_lpips": float(torch.cat(distances).mean())} if distances else {})

    def _perceptual(self, networks: tuple[nn.Module, nn.Module], fake: Tensor, real: Tensor) -> dict[str, float]:
        lpips_metric, lite0 = networks
        distances = torch.cat([lpips_to_target(lpips_metric, fake[i : i + BATCH, None], real[i : i + BATCH])
                               for i in range(0, fake.shape[0], BATCH)])
        if self._real_lite0 is None:
            self._real_lite0 = lite0_features(lite0, real, BATCH)  # the targets are fixed: once per run
        fake_lite0 = lite0_features(lite0, fake, BATCH)
        scores = {"val/lpips": float(distances.mean())}
        if fake.shape[0] >= 2:
            # Below KID's subset size every subset is the whole set, so one estimate is all 100 would give.
            subsets = 1 if fake.shape[0] <= KID_SUBSET else KID_SUBSETS
            fd_and_kid = fd_kid(fake_lite0, self._real_lite0, subsets=subsets)  # {"fd_lite0", "kid_lite0"}
            scores |= {f"val/{key}": value for key, value in fd_and_kid.items()}
        return scores


def _fixed_items(dataset: Dataset, n: int, tag: str) -> list[Any]:
    """``n`` items spread over ``dataset`` (eval's ``--limit`` spreading: :func:`~img2img.metrics.scoring.spread`),
    each loaded with a fixed seed from ``tag`` and its index: the same items and conditions at every validation."""
    return [dataset[(i, stable_seed(tag, i))] for i in spread(len(dataset), n)]
