"""A cGAN started from its MSE baseline (``--init`` a regression file): the latent paths it gains start small, so
its first samples are the baseline's to within a few grey levels and yet differ from z to z (at exactly zero
nothing would ever move them apart: the mode-seeking term's gradient vanishes at equal samples)."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config
from img2img.engine.trainer import Trainer
from img2img.models import build_generator
from img2img.weights import adopt_init, load_generator, load_init


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, host):
    runs = tmp_path_factory.mktemp("runs")
    return Trainer(tiny_config(model="regression", steps=2), host.get("uncrop"), runs / "regression",
                   progress=False).fit()


@pytest.mark.parametrize("latent", [{}, {"generator__noise": True}, {"generator__film": True}],
                         ids=["z-input", "noise", "film"])
def test_a_cgan_from_its_baseline_starts_near_it_with_samples_that_differ(baseline, latent):
    torch.manual_seed(0)
    cfg = tiny_config(model="cgan", init=str(baseline), **latent)
    adopt_init(cfg)
    assert cfg.generator.nz == 8
    generator = build_generator(cfg.generator, size=cfg.size).eval()
    load_init(generator, baseline)
    source, _ = load_generator(baseline)
    source.eval()
    y = torch.rand(2, 4, 32, 32) * 2 - 1
    z = torch.randn(2, 2, 8)
    with torch.no_grad():
        mean = source(y)
        first, second = generator(y, z[0]), generator(y, z[1])
    # Near the baseline: a few grey levels (of 255 over [-1, 1]) ...
    assert (first - mean).abs().mean() < 4 / 127.5
    # ... but not identical, and apart from each other.
    assert (first - second).abs().mean() > 1e-4
