"""generator_terms: every generator loss term of a run, named, weighted and described, in summation order."""

from __future__ import annotations

import pytest
import torch

import img2img
from conftest import tiny_config
from img2img.engine.settle import settle_config
from img2img.errors import ConfigError
from img2img.losses import Outputs, describe, evaluate, generator_terms, l1_loss

CPU = torch.device("cpu")


def _terms(task, **overrides):
    return generator_terms(settle_config(tiny_config(**overrides)), task, None, CPU)


def test_the_cgan_terms_in_order_with_their_descriptions(cached_uncrop):
    terms = _terms(cached_uncrop, loss__spectral_weight=2.0, loss__l2_weight=1.0, loss__reconstruction="best_of_pair")
    assert [t.name for t in terms] == ["adversarial", "mode_seeking", "spectral", "l1", "l2"]
    assert [t.best_of_pair for t in terms] == [False, False, False, True, True]
    assert describe(terms) == ("adversarial (nonsaturating) x 1, mode seeking x 20 in L1, spectral x 2 from 0.25 x "
                               "Nyquist, L1 x 100 on the best of each pair, L2 x 1 on the best of each pair")


def test_a_weight_of_zero_leaves_the_term_out(cached_uncrop):
    names = [t.name for t in _terms(cached_uncrop, loss__l1_weight=0.0, loss__mode_seeking_weight=0.0)]
    assert names == ["adversarial"]
    assert [t.name for t in _terms(cached_uncrop, generator__nz=0)] == ["adversarial", "l1"]  # no latent, no pairs


def test_the_baseline_is_mse_and_the_tasks_regression_terms(cached_uncrop):
    task = type("WithTerms", (type(cached_uncrop),), {"loss_terms": lambda self: [
        img2img.LossTerm("edges", lambda fake, real, y: (fake - real).abs().mean(), weight=2.0, models=("regression",)),
        img2img.LossTerm("gan_only", lambda fake, real, y: fake.mean(), models=("cgan",))]})()
    terms = _terms(task, model="regression", loss__spectral_weight=2.0)
    assert [(t.name, t.weight) for t in terms] == [("mse", 1.0), ("edges", 2.0)]
    assert describe(terms) == "MSE, edges x 2"
    assert [t.name for t in _terms(task, loss__task_weights={"gan_only": 0.5})][-1] == "gan_only"
    # One recipe serves both models: the baseline leaves a weight of the cGAN's term aside (a typo still fails)
    assert [t.name for t in _terms(task, model="regression", loss__task_weights={"gan_only": 0.5})] == ["mse", "edges"]
    with pytest.raises(ConfigError, match="unknown terms"):
        _terms(task, model="regression", loss__task_weights={"gan_olny": 0.5})


def test_evaluate_gives_the_reconstruction_side_the_best_of_each_pair(cached_uncrop):
    terms = [t for t in _terms(cached_uncrop, loss__reconstruction="best_of_pair") if t.best_of_pair]
    x = torch.zeros(4, 3, 8, 8)
    fake = torch.cat([torch.full((1, 3, 8, 8), v) for v in (0.1, 0.9, 0.5, 0.2)])  # pairs (0, 2) and (1, 3)
    values = evaluate(terms, Outputs(fake, x, x))
    assert values["l1"] == pytest.approx(100 * l1_loss(fake[[0, 3]], x[[0, 3]]).item())

