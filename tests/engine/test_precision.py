"""Precision "auto" on both CPU kinds: the /proc/cpuinfo reading, its IMG2IMG_CPU_BF16 override, and training
under each choice (the ``cpu_bf16`` fixture runs a test as an AVX2-only CPU and as one with native bf16)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_config

from img2img.engine.precision import CPU_BF16_ENV, autocast, cpu_has_native_bf16, resolve_precision
from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError

AVX2_ONLY = "fpu vme sse sse2 avx avx2 fma bmi2"


def _cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    return path


@pytest.mark.parametrize("flags, native", [
    (AVX2_ONLY, False),
    (AVX2_ONLY + " avx512f avx512_bf16", True),   # Cooper Lake, Zen 4
    (AVX2_ONLY + " amx_tile amx_bf16", True),     # Sapphire Rapids
    (AVX2_ONLY + " avx512f avx512bw", False),     # AVX-512 alone does not do bf16 arithmetic
])
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, monkeypatch, flags, native):
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)
    assert cpu_has_native_bf16(_cpuinfo(tmp_path, flags)) is native


def test_unreadable_cpuinfo_means_fp32(tmp_path, monkeypatch):
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)
    assert cpu_has_native_bf16(tmp_path / "missing") is False


@pytest.mark.parametrize("value, native", [("1", True), ("yes", True), ("0", False), ("off", False)])
def test_the_environment_overrides_the_cpu_flags(tmp_path, monkeypatch, value, native):
    monkeypatch.setenv(CPU_BF16_ENV, value)
    flags = AVX2_ONLY if native else AVX2_ONLY + " avx512_bf16"  # the opposite of what the override says
    assert cpu_has_native_bf16(_cpuinfo(tmp_path, flags)) is native


def test_a_bad_override_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(CPU_BF16_ENV, "maybe")
    with pytest.raises(ConfigError, match=f"{CPU_BF16_ENV}='maybe'.*use 1"):
        cpu_has_native_bf16()


def test_auto_follows_the_cpu_kind(cpu_bf16):
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_bf16 else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ConfigError, match="fp16 autocast needs a CUDA device"):
        resolve_precision("fp16", cpu)


def test_auto_trains_on_either_cpu_kind(cached_uncrop, tmp_path, cpu_bf16):
    trainer = Trainer(tiny_config(precision="auto", steps=2), cached_uncrop, tmp_path, progress=False)
    assert trainer.precision == ("bf16" if cpu_bf16 else "fp32")
    assert f"{trainer.precision} on cpu" in trainer.summary()
    trainer.fit()
    logged = (tmp_path / "log.jsonl").read_text()
    assert '"loss/' in logged and "NaN" not in logged and trainer.step == 2


def test_bf16_autocast_computes_convolutions_in_bf16_and_close_to_fp32():
    torch.manual_seed(0)
    conv, x = torch.nn.Conv2d(3, 8, 3, padding=1), torch.randn(2, 3, 16, 16)
    with autocast(torch.device("cpu"), "bf16"):
        low = conv(x)
    assert low.dtype == torch.bfloat16
    full = conv(x)
    # bf16 keeps 8 bits of mantissa: relative error ~2^-8 per product, far less after summing 27 of them.
    assert (low.float() - full).abs().max() <= 0.02 * full.abs().max()
    with autocast(torch.device("cpu"), "fp32"):
        assert conv(x).dtype == torch.float32


def test_bf16_losses_track_fp32_losses(cached_uncrop, tmp_path):
    """The bf16 path trains the same model as fp32, within bf16's rounding: the first logged losses of the same
    seeded run agree (measured on an AVX2 CPU: at most 3.4e-4 apart, relative), and none is NaN."""
    runs = {}
    for precision in ("fp32", "bf16"):
        Trainer(tiny_config(precision=precision, steps=2, log_every=1), cached_uncrop, tmp_path / precision,
                progress=False).fit()
        runs[precision] = (tmp_path / precision / "log.jsonl").read_text().splitlines()[0]
    fp32, bf16 = (json.loads(runs[p]) for p in ("fp32", "bf16"))
    losses = [k for k in fp32 if k.startswith("loss/")]
    assert losses
    for key in losses:
        assert math.isfinite(bf16[key]), key
        assert bf16[key] == pytest.approx(fp32[key], rel=5e-3, abs=1e-3), key
