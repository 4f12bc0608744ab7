"""Latent FiLM (generator.film): the identity at z = 0, a per-channel scale and shift of z after each decoder
block, and why it is there: a normalised encoder level can only rescale and shift whole channels with a
concatenated z. Its export is in tests/test_export.py, its training under both CPU precisions in
tests/models/test_noise.py."""

from __future__ import annotations

import pytest
import torch

from img2img.config import GeneratorConfig
from img2img.errors import ConfigError
from img2img.models import UNetGenerator
from img2img.models.film import INITIAL_SPREAD, LatentFiLM


def _cfg(film: bool, nz: int = 8, **more) -> GeneratorConfig:
    return GeneratorConfig(in_channels=4, ngf=8, max_mult=4, nz=nz, upsample="resize", film=film, **more)


def test_film_scales_and_shifts_each_channel_by_a_linear_map_of_z() -> None:
    torch.manual_seed(0)
    film = LatentFiLM(nz=8, channels=16)
    h, z = torch.randn(3, 16, 5, 7), torch.randn(3, 8)
    gamma, beta = (z @ film.weight.t()).chunk(2, dim=1)
    expected = h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
    assert torch.allclose(film(h, z), expected, atol=1e-6)
    assert torch.equal(film(h, torch.zeros(3, 8)), h)  # no bias: the identity at the mean latent
    # The start: a spread of about INITIAL_SPREAD per channel, small but not zero (models/film.py says why).
    wide = LatentFiLM(nz=8, channels=4096)
    spread = (torch.randn(4096, 8) @ wide.weight.detach().t()).std()
    assert 0.8 * INITIAL_SPREAD < float(spread) < 1.2 * INITIAL_SPREAD


def test_film_keeps_the_mean_sample_and_moves_whole_channels_with_z() -> None:
    torch.manual_seed(0)
    plain = UNetGenerator(_cfg(False), size=32).eval()
    styled = UNetGenerator(_cfg(True), size=32).eval()
    missing, unexpected = styled.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(key.startswith("film.") for key in missing)
    assert len(styled.film) == styled.depth - 1  # after every decoder block but the RGB one
    y, z = torch.rand(2, 4, 32, 32) * 2 - 1, torch.randn(2, 8)
    with torch.no_grad():
        assert torch.allclose(styled(y, None), plain(y, None), atol=1e-6)  # z = 0: the init's mean sample
        out = styled(y, z)
        assert torch.equal(styled(y, z), out)  # a function of z
        assert not torch.allclose(out, plain(y, z), atol=1e-3)
        for layer in styled.film:
            layer.weight.zero_()
        assert torch.allclose(styled(y, z), plain(y, z), atol=1e-6)  # zero maps: the plain network


def test_a_normalised_level_cannot_change_the_pattern_inside_the_picture_with_a_concatenated_z() -> None:
    # The reason for FiLM: after a conv, a z that is the same at every pixel is one constant per channel away
    # from the zero-padded border, and instance norm takes each channel's mean and spread. Inside the picture
    # two latents' outputs therefore differ by a per-channel scale and shift only, set by the borders.
    torch.manual_seed(0)
    generator = UNetGenerator(_cfg(False, depth=4), size=32).eval()
    block = generator.encoder[1]  # normalised (instance norm), z concatenated
    h = torch.randn(1, 8, 32, 32)
    with torch.no_grad():
        a, b = block(h, torch.randn(1, 8)), block(h, 3 * torch.randn(1, 8))
    a, b = a[0, :, 1:-1, 1:-1].flatten(1), b[0, :, 1:-1, 1:-1].flatten(1)
    assert float((a - b).abs().mean()) > 0.05  # the borders do move the statistics
    # Per channel, b = scale * a + shift fits the interior exactly.
    design = torch.stack([a, torch.ones_like(a)], dim=2)  # (C, P, 2)
    fit = torch.linalg.lstsq(design, b[..., None]).solution
    residual = (design @ fit)[..., 0] - b
    assert float(residual.abs().max()) < 1e-4
    # A FiLM'd output differs between latents in the same way, but by an amount z chooses: per channel
    # gamma and beta are linear in z, whatever the picture.
    film = LatentFiLM(nz=8, channels=a.shape[0])
    z = torch.randn(1, 8)
    with torch.no_grad():
        assert torch.allclose(film(a[None, :, :, None], 2 * z) - a[None, :, :, None],
                              2 * (film(a[None, :, :, None], z) - a[None, :, :, None]), atol=1e-5)


def test_film_needs_a_latent() -> None:
    with pytest.raises(ConfigError, match="generator.film needs a latent"):
        _cfg(True, nz=0).validate()
