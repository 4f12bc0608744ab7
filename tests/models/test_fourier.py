"""LaMa's fast Fourier convolution context (generator.context_kind=fourier): the DFT it is built on, its reach,
and that a generator using it works at any size, under bf16 autocast, and rebuilds from its saved config."""

from __future__ import annotations

import pytest
import torch

from img2img.config import GeneratorConfig
from img2img.errors import ConfigError
from img2img.models import UNetGenerator, count_parameters, sample_latent
from img2img.models.fourier import FourierBlocks, FourierUnit, dft2, idft2_real
from img2img.models.unet import ContextBlocks, make_norm


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 2, 7, 10), (1, 1, 1, 5)])
def test_dft2_is_the_orthonormal_fft_and_inverts(shape) -> None:
    x = torch.randn(*shape)
    fr, fi = dft2(x)
    spectrum = torch.fft.fft2(x, norm="ortho")
    assert torch.allclose(fr, spectrum.real, atol=1e-5) and torch.allclose(fi, spectrum.imag, atol=1e-5)
    assert torch.allclose(idft2_real(fr, fi), x, atol=1e-5)
    # Any spectrum, not only a real image's: the layer's output is the real part of the inverse transform.
    gr, gi = torch.randn(*shape), torch.randn(*shape)
    assert torch.allclose(idft2_real(gr, gi), torch.fft.ifft2(torch.complex(gr, gi), norm="ortho").real, atol=1e-5)


def test_one_fourier_block_sees_the_whole_map_where_a_dilated_one_does_not() -> None:
    def reach(net) -> float:
        x = torch.rand(1, 8, 16, 16)
        poked = x.clone()
        poked[..., 0, 0] += 5.0
        with torch.no_grad():
            return float((net.eval()(poked) - net(x))[..., 8:, 8:].abs().amax())

    torch.manual_seed(0)
    assert reach(FourierBlocks(8, 1, lambda c: None)) > 1e-4
    assert reach(ContextBlocks(8, 1, "none")) == 0


def test_fourier_unit_runs_in_float32_under_bf16_autocast() -> None:
    unit = FourierUnit(4)
    x = torch.randn(1, 4, 12, 12)
    with torch.no_grad():
        exact = unit(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            under = unit(x)
    assert under.dtype == x.dtype and torch.allclose(under, exact, atol=1e-5)


@pytest.mark.parametrize("height,width", [(128, 128), (37, 53), (3, 50)])
def test_fourier_context_generator_works_at_any_size(height: int, width: int) -> None:
    cfg = GeneratorConfig(in_channels=4, ngf=8, max_mult=4, nz=8, context_blocks=2, context_kind="fourier")
    net = UNetGenerator(cfg, size=128)
    assert isinstance(net.context, FourierBlocks) and net.context_level == 2
    y = torch.randn(2, 4, height, width)
    out = net(y, sample_latent(2, 8))
    assert out.shape == (2, 3, height, width) and torch.isfinite(out).all()
    out.mean().backward()
    assert all(p.grad is not None for p in net.context.parameters())
    assert count_parameters(UNetGenerator(net.config)) == count_parameters(net)  # the saved config rebuilds it
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(net.eval()(y, sample_latent(2, 8)).float()).all()


def test_context_kind_is_checked() -> None:
    with pytest.raises(ConfigError, match="generator.context_kind must be one of dilated, fourier"):
        GeneratorConfig(context_kind="wavelet").validate()
    assert make_norm("none", 4) is None  # FourierBlocks then normalises nothing
