"""Per-pixel noise inputs (generator.noise): the hashed fields are white, deterministic and size-free, the
injection starts as the identity and is a function of z, and a run may add it to weights that lack it."""

from __future__ import annotations

import pytest
import torch

from img2img.config import GeneratorConfig
from img2img.errors import ConfigError
from img2img.models import UNetGenerator
from img2img.models.noise import INITIAL_STRENGTH, hashed_field


def _cfg(noise: bool, nz: int = 8) -> GeneratorConfig:
    return GeneratorConfig(in_channels=4, ngf=8, max_mult=4, nz=nz, upsample="resize", noise=noise)


def test_hashed_field_is_unit_white_noise() -> None:
    field = hashed_field(8, 0, 128, 128, torch.zeros(1))
    assert abs(float(field.mean())) < 0.02 and abs(float(field.std()) - 1.0) < 0.02
    for dy, dx in ((0, 1), (1, 0), (1, 1), (0, 8), (16, 0), (16, 16)):
        a, b = field[:, : 128 - dy, : 128 - dx].flatten(), field[:, dy:, dx:].flatten()
        assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 0.03, (dy, dx)
    # No frequency stands out: the averaged periodogram of 8 white fields peaks near 3x its mean (a lattice of
    # period 16 would put most of the power in one bin).
    power = torch.fft.fft2(field).abs().pow(2).mean(0)
    power[0, 0] = power.mean()
    assert float(power.max() / power.mean()) < 5.0
    components = torch.corrcoef(field.flatten(1))
    assert float((components - torch.eye(8)).abs().max()) < 0.05


def test_hashed_field_is_a_pure_function_of_position_component_and_level() -> None:
    big = hashed_field(4, 2, 96, 80, torch.zeros(1))
    assert torch.equal(hashed_field(4, 2, 96, 80, torch.zeros(1)), big)
    assert torch.equal(hashed_field(4, 2, 33, 17, torch.zeros(1)), big[:, :33, :17])  # any size, same pixels
    assert torch.equal(hashed_field(2, 2, 96, 80, torch.zeros(1)), big[:2])
    other = hashed_field(4, 3, 96, 80, torch.zeros(1))
    assert abs(float(torch.corrcoef(torch.stack([big.flatten(), other.flatten()]))[0, 1])) < 0.05


def test_noise_leaves_the_mean_sample_alone_and_varies_other_samples_per_pixel() -> None:
    torch.manual_seed(0)
    plain = UNetGenerator(_cfg(False), size=32).eval()
    noisy = UNetGenerator(_cfg(True), size=32).eval()
    missing, unexpected = noisy.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(key.startswith("noise.") for key in missing)
    assert len(noisy.noise) == noisy.depth - 1  # after every decoder block but the RGB one
    assert all(torch.all(n.strength == INITIAL_STRENGTH) for n in noisy.noise)
    y, z = torch.rand(2, 4, 32, 32) * 2 - 1, torch.randn(2, 8)
    with torch.no_grad():
        # z = 0 (the mean) has no noise: weights that gain noise inputs keep their mean sample exactly.
        assert torch.equal(noisy(y, None), noisy(y, torch.zeros(2, 8)))
        assert torch.allclose(noisy(y, None), plain(y, None), atol=1e-6)
        out = noisy(y, z)
        assert not torch.allclose(out, plain(y, z), atol=1e-3)
        assert torch.equal(noisy(y, z), out)  # a function of z: the same z is the same sample
        for injection in noisy.noise:
            injection.strength.zero_()
        assert torch.allclose(noisy(y, z), plain(y, z), atol=1e-6)  # zero strengths: the plain network
        # On a flat condition the noise makes the output differ between neighbouring pixels.
        for injection in noisy.noise:
            injection.strength.fill_(INITIAL_STRENGTH)
        flat = torch.zeros(1, 4, 32, 32)
        zf = torch.randn(1, 8)
        difference = noisy(flat, zf) - plain(flat, zf)
        assert float(difference[..., 8:24, 8:24].std()) > 1e-3


def test_noise_needs_a_latent() -> None:
    with pytest.raises(ConfigError, match="generator.noise needs a latent"):
        _cfg(True, nz=0).validate()


@pytest.mark.parametrize("option", ["noise", "film"])
def test_noise_and_film_train_under_auto_precision_on_both_cpu_kinds(cpu_bf16, tmp_path, option) -> None:
    # On a native-bf16 CPU "auto" trains under bf16 autocast: the hashed fields stay float32 and exact, the
    # injected noise and the FiLM scales take the features' dtype, and the added parameters still learn.
    from img2img.engine.trainer import Trainer
    from img2img.plugins import load_plugins
    from conftest import tiny_config

    cfg = tiny_config(steps=2, precision="auto")
    setattr(cfg.generator, option, True)
    trainer = Trainer(cfg, load_plugins().get("uncrop"), tmp_path, progress=False)
    assert trainer.precision == ("bf16" if cpu_bf16 else "fp32")
    added = {name: p for name, p in trainer.G.named_parameters() if name.startswith(f"{option}.")}
    before = {name: p.detach().clone() for name, p in added.items()}
    trainer.fit()
    assert any(not torch.equal(before[name], p) for name, p in added.items())
    assert all(torch.isfinite(p).all() for p in added.values())
