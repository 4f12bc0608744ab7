"""A cGAN fine-tuned from its MSE baseline (ESRGAN's start from its PSNR model, DeOldify's NoGAN) gains a latent
input whose weights start small (5% of their initial scale): at step 0 its samples are the baseline's output to
within a few grey levels and yet differ from z to z (at exactly zero nothing would ever move them apart: the
mode-seeking term's gradient vanishes at equal samples), and the latent paths learn."""

from __future__ import annotations

import pytest
import torch

from img2img.engine.trainer import Trainer
from img2img.weights import load_generator

from conftest import tiny_config


@pytest.fixture
def uncrop(cached_uncrop):
    return cached_uncrop


@pytest.mark.parametrize("encoder", ["unet", "lite0"])
def test_cgan_from_baseline_gains_a_latent_that_starts_small(uncrop, tmp_path, encoder):
    base_cfg = tiny_config(model="regression", steps=2, generator__encoder=encoder)
    if encoder == "lite0":
        base_cfg.generator.depth = None
    baseline = Trainer(base_cfg, uncrop, tmp_path / "base", progress=False).fit()
    cfg = tiny_config(steps=2, init=str(baseline), generator__nz=4, generator__film=True, generator__noise=True)
    tuned = Trainer(cfg, uncrop, tmp_path / "tuned", progress=False)
    assert tuned.G.nz == 4 and tuned.G.film is not None and tuned.G.noise is not None
    start, _ = load_generator(baseline)
    y = torch.rand(2, 4, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = start.eval()(y)
        samples = [tuned.G.eval()(y, torch.randn(2, 4, generator=torch.Generator().manual_seed(seed)))
                   for seed in range(2)]
    for sample in samples:  # near the baseline: a few grey levels (of 255 over [-1, 1]) ...
        assert (sample - expected).abs().mean() < 4 / 127.5
    assert (samples[0] - samples[1]).abs().mean() > 1e-4  # ... but apart from each other
    before = {k: v.clone() for k, v in tuned.G.state_dict().items()}
    tuned.fit()
    after = tuned.G.state_dict()
    base = start.state_dict()
    grown = [k for k, v in after.items() if k in base and v.dim() == 4 and v.shape[1] > base[k].shape[1]]
    assert grown, "no layer took the latent as extra input channels"
    assert any(not torch.equal(before[k][:, -4:], after[k][:, -4:]) for k in grown)  # the z weights learn
    for part in ("film.", "noise."):  # and so do the FiLM maps and noise strengths
        assert any(k.startswith(part) and not torch.equal(before[k], after[k]) for k in after)


def test_a_deterministic_cgan_may_still_start_from_the_baseline(uncrop, tmp_path):
    baseline = Trainer(tiny_config(model="regression", steps=2), uncrop, tmp_path / "base", progress=False).fit()
    tuned = Trainer(tiny_config(steps=2, init=str(baseline), generator__nz=0), uncrop, tmp_path / "t", progress=False)
    assert tuned.G.nz == 0


@pytest.mark.parametrize("encoder", ["unet", "lite0"])
def test_a_cgan_config_trains_its_baseline_without_latent_paths(uncrop, tmp_path, encoder):
    cfg = tiny_config(model="regression", steps=1, generator__encoder=encoder, generator__noise=True,
                      generator__film=True)
    trainer = Trainer(cfg, uncrop, tmp_path / "base", progress=False)
    assert trainer.G.nz == 0 and trainer.G.noise is None and trainer.G.film is None
    trainer.fit()
