"""Device and precision choice. "auto" uses bf16 autocast on CUDA (fp16 where bf16 is missing) and on CPUs
with native bf16 instructions, where it trains 1.3-1.9x faster than fp32; elsewhere fp32.

Whether the CPU has native bf16 is read from /proc/cpuinfo; ``IMG2IMG_CPU_BF16=1`` or ``=0`` overrides that
reading, so either CPU kind's code path can be run (and tested) on the other kind."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import ContextManager

import torch

from ..errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device '{name}' (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{name}' requested but CUDA is not available; use --device cpu")
    return device


def resolve_precision(name: str, device: torch.device) -> str:
    """'bf16', 'fp16' or 'fp32' for this device."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 autocast needs a CUDA device; use bf16 or fp32 on the CPU")
    return name


def autocast(device: torch.device, precision: str) -> ContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


CPU_BF16_ENV = "IMG2IMG_CPU_BF16"
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True with native bf16 (AVX512-BF16 or AMX), or when ``IMG2IMG_CPU_BF16`` says so. Without native bf16 it is
    emulated: on this project's AVX2-only CI machine a conv forward+backward ran 15x slower under bf16 autocast
    than in fp32, so "auto" must not pick it there."""
    override = os.environ.get(CPU_BF16_ENV, "").strip().lower()
    if override in _YES:
        return True
    if override in _NO:
        return False
    if override:
        raise ConfigError(f"{CPU_BF16_ENV}={override!r} is not understood: use 1 (treat the CPU as having native "
                          "bf16) or 0 (treat it as not having it), or unset it to read /proc/cpuinfo")
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False  # unknown platform: fp32 is always correct
