"""The generator's loss, term by term: :func:`generator_terms` builds every term a run trains with from its settled
config, its task and its discriminator; the trainer evaluates them with :func:`evaluate` and sums them.

Each :class:`Term` is named (its ``loss/NAME`` in the log), weighted (a weight of 0 leaves the term out: it is
not even computed) and described in one line for the run's summary. Which samples a term sees:

- the adversarial, mode-seeking and spectral terms see every sample (the spectral term compares power, not
  pixels, so it does not pull the samples together);
- the reconstruction side (L1, L2, LPIPS, feature matching and the task's terms) sees, with
  ``loss.reconstruction=best_of_pair``, only the sample closer to the target of each mode-seeking pair.

:data:`ENGINE_TERMS` names every term the engine logs itself, generator and discriminator side: a task term of
one of these names would replace the engine's (or be replaced by it), so it is a :class:`PluginError`, raised
here at the start of training and reported by the conformance kit (:func:`img2img.testing.check_task`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import TrainConfig
from ..errors import ConfigError, PluginError
from ..task import LossTerm, Task
from .adversarial import AdversarialLoss
from .diversity import best_of_pairs, mode_seeking_loss, pair_distance
from .feature_matching import feature_matching_term
from .perceptual import perceptual_term
from .reconstruction import l1_loss, l2_loss
from .spectral import spectral_loss

# Every term the engine computes itself, with what it is: the one list of reserved names.
ENGINE_TERMS: dict[str, str] = {
    "adversarial": "the generator's adversarial loss",
    "mode_seeking": "the mode-seeking (MSGAN) diversity term",
    "spectral": "the spectral (ring-by-ring power) term",
    "l1": "the L1 reconstruction term",
    "l2": "the L2 reconstruction term",
    "mse": "the regression baseline's MSE",
    "perceptual": "the LPIPS term (loss.perceptual_weight)",
    "feature_matching": "pix2pixHD's discriminator feature matching (loss.feature_matching_weight)",
    "d_adversarial": "the discriminator's adversarial loss",
    "d_gradient_penalty": "the discriminator's WGAN-GP gradient penalty",
    "d_r1": "the discriminator's R1 penalty",
}


@dataclass(frozen=True)
class Outputs:
    """What a generator step hands its terms: the composed output (float32), its target and condition, the
    latents (None for the regression baseline) and the discriminator's logits on (y, fake) (cGAN only)."""

    fake: Tensor
    x: Tensor
    y: Tensor
    z: Tensor | None = None
    logits: list[Tensor] | None = None


@dataclass(frozen=True)
class Term:
    """One weighted generator loss term: ``weight * fn(outputs)``, logged as ``loss/NAME``."""

    name: str
    weight: float
    fn: Callable[[Outputs], Tensor]
    description: str  # one line for the run's summary, e.g. "L1 x 100 on the best of each pair"
    best_of_pair: bool = False  # sees only the closer sample of each mode-seeking pair


def check_term_names(task: Task, terms: list[LossTerm] | None = None) -> None:
    """Raise :class:`PluginError` naming the task's term and the engine's when one of ``terms`` (default: all
    of the task's) has the name of an engine term (:data:`ENGINE_TERMS`)."""
    for term in task.loss_terms() if terms is None else terms:
        if term.name in ENGINE_TERMS:
            raise PluginError(clash_message(task.name, term.name))


def clash_message(task_name: str, term_name: str) -> str:
    return (f"task '{task_name}': loss term '{term_name}' has the name of the engine's own term '{term_name}' "
            f"({ENGINE_TERMS[term_name]}); rename it (reserved names: {', '.join(ENGINE_TERMS)})")


def generator_terms(cfg: TrainConfig, task: Task, discriminator: nn.Module | None, device: torch.device) -> list[Term]:
    """Every generator loss term of a run with the settled config ``cfg`` (``img2img.engine.settle``), in the
    order they are summed: for the cGAN adversarial, mode seeking, spectral (every sample), then L1, L2, the
    task's cGAN terms, LPIPS and feature matching (the best of each pair with ``loss.reconstruction=
    best_of_pair``); for the regression baseline MSE and the task's regression terms."""
    loss, is_gan = cfg.loss, cfg.model == "cgan"
    if is_gan and loss.perceptual_weight is None:
        raise ValueError("loss.perceptual_weight 'auto' is resolved by img2img.engine.settle.settle_config first")
    check_term_names(task)  # every term of the task, whichever model it is for: the names are the engine's
    all_terms = task.loss_terms()
    task_terms = [t for t in all_terms if cfg.model in t.models]
    # A weight for the other model's term is not a typo: a task's recipe (its defaults) serves both models, as the
    # cGAN-only engine weights (l1_weight ...) do, and the regression baseline leaves it aside.
    unknown = set(loss.task_weights) - {t.name for t in all_terms}
    if unknown:
        raise ConfigError(f"loss.task_weights names unknown terms {sorted(unknown)} of task '{task.name}' (its {cfg.model} terms: {', '.join(t.name for t in task_terms) or 'none'})")
    if not is_gan:
        return [Term("mse", 1.0, lambda o: F.mse_loss(o.fake, o.x), "MSE"), *_task_terms(task_terms, loss.task_weights, False)]
    pair = loss.reconstruction == "best_of_pair"
    on = " on the best of each pair" if pair else ""
    adversarial = AdversarialLoss(loss.adversarial, loss.label_smoothing)
    terms = [Term("adversarial", loss.adversarial_weight, lambda o: adversarial.generator_loss([t.float() for t in o.logits]),
                  f"adversarial ({loss.adversarial}) x {loss.adversarial_weight:g}")]
    if cfg.generator.nz > 0 and loss.mode_seeking_weight > 0:
        # The distance between a pair's samples: None = pixel L1.
        apart = pair_distance(loss.mode_seeking_distance, loss.mode_seeking_blur, loss.perceptual_net, device)

        def mode_seeking(o: Outputs) -> Tensor:
            h = o.x.shape[0] // 2
            return mode_seeking_loss(o.fake[:h], o.fake[h:], o.z[:h], o.z[h:], tau=loss.mode_seeking_tau, distance=apart)

        blur = f" blurred by {loss.mode_seeking_blur:g} px" if loss.mode_seeking_blur else ""
        terms.append(Term("mode_seeking", loss.mode_seeking_weight, mode_seeking,
                          f"mode seeking x {loss.mode_seeking_weight:g} in {loss.mode_seeking_distance.upper()}{blur}"))
    if loss.spectral_weight:  # every sample: power, not pixels, so it does not pull the samples together
        terms.append(Term("spectral", loss.spectral_weight, lambda o: spectral_loss(o.fake, o.x, loss.spectral_min_frequency),
                          f"spectral x {loss.spectral_weight:g} from {loss.spectral_min_frequency:g} x Nyquist"))
    if loss.l1_weight:
        terms.append(Term("l1", loss.l1_weight, lambda o: l1_loss(o.fake, o.x), f"L1 x {loss.l1_weight:g}{on}", pair))
    if loss.l2_weight:
        terms.append(Term("l2", loss.l2_weight, lambda o: l2_loss(o.fake, o.x), f"L2 x {loss.l2_weight:g}{on}", pair))
    extras = []  # the engine's optional cGAN terms, summed like (and after) the task's own
    if loss.perceptual_weight > 0:
        extras.append(perceptual_term(loss.perceptual_weight, loss.perceptual_net, device))
    if loss.feature_matching_weight > 0 and discriminator is not None:
        extras.append(feature_matching_term(discriminator, loss.feature_matching_weight))
    return terms + _task_terms(task_terms, loss.task_weights, pair) + _task_terms(extras, {}, pair)


def _task_terms(terms: list[LossTerm], weights: dict[str, float], pair: bool) -> list[Term]:
    """Task-style terms ``fn(fake, real, y)``; ``weights`` (loss.task_weights) overrides theirs; 0: off."""
    labels = {"perceptual": "LPIPS", "feature_matching": "feature matching"}
    on = " on the best of each pair" if pair else ""
    out = []
    for t in terms:
        weight = weights.get(t.name, t.weight)
        if weight:
            out.append(Term(t.name, weight, lambda o, fn=t.fn: fn(o.fake, o.x, o.y),
                            f"{labels.get(t.name, t.name)} x {weight:g}{on}", pair))
    return out


def evaluate(terms: list[Term], outputs: Outputs) -> dict[str, Tensor]:
    """Each term's weighted value, in the order of ``terms`` (the order they are summed in). The terms marked
    ``best_of_pair`` see only the closer sample of each mode-seeking pair (a batch of one has no pair)."""
    values, narrowed = {}, outputs
    for term in terms:
        if term.best_of_pair and narrowed is outputs and outputs.x.shape[0] >= 2:  # reconstruct one of each pair
            fake, x, y = best_of_pairs(outputs.fake, outputs.x, outputs.y)
            narrowed = Outputs(fake, x, y)
        values[term.name] = term.weight * term.fn(narrowed if term.best_of_pair else outputs)
    return values


def describe(terms: list[Term]) -> str:
    """The terms' one-line descriptions, in summation order."""
    return ", ".join(t.description for t in terms)
