"""Networks: the generators (the U-Net, or a U-Net around the ImageNet Lite0 encoder) with latent injection, and
the (multi-scale) PatchGAN discriminator."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..config import GeneratorConfig
from .init import init_weights
from .patchgan import MultiScaleDiscriminator, PatchDiscriminator, build_discriminator, receptive_field
from .pretrained_unet import Lite0UNetGenerator
from .unet import UNetGenerator, sample_latent


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (spectral-norm layers count their original weight once)."""
    return sum(p.numel() for p in module.parameters())


def build_generator(cfg: GeneratorConfig, size: int | None = None, pretrained: bool = False) -> nn.Module:
    """The generator ``cfg.encoder`` names. ``pretrained``: start the lite0 encoder from the ImageNet weights
    (a from-scratch training run; needs the weight package). Everything that loads a weights file builds with
    ``pretrained=False`` and then loads the file, which holds the fine-tuned encoder."""
    if cfg.encoder == "lite0":
        return Lite0UNetGenerator(cfg, size=size, pretrained=pretrained)
    if cfg.encoder == "unet":
        return UNetGenerator(cfg, size=size)
    raise ValueError(f"unknown generator encoder '{cfg.encoder}'")


def param_groups(generator: nn.Module, lr: float, encoder_lr_mult: float = 1.0) -> list[dict[str, Any]]:
    """Optimizer parameter groups: the pretrained encoder's parameters (if the generator has one) at
    ``lr * encoder_lr_mult``, everything else at ``lr``. Each group carries its ``lr_mult``.

    ``encoder_lr_mult=0`` freezes the encoder (``requires_grad`` off, no group for it): then no backward pass runs
    through it at all, which makes the step cheaper than the U-Net's (benchmarks/run_all.py, part 4)."""
    encoder = generator.encoder if isinstance(generator, Lite0UNetGenerator) else None
    if encoder is None:
        return [{"params": list(generator.parameters()), "lr": lr, "lr_mult": 1.0}]
    inside = {id(p) for p in encoder.parameters()}
    rest = [p for p in generator.parameters() if id(p) not in inside]
    if encoder_lr_mult == 0:
        encoder.requires_grad_(False)
        return [{"params": rest, "lr": lr, "lr_mult": 1.0}]
    encoder.requires_grad_(True)
    return [{"params": rest, "lr": lr, "lr_mult": 1.0},
            {"params": list(encoder.parameters()), "lr": lr * encoder_lr_mult, "lr_mult": encoder_lr_mult}]


__all__ = [
    "Lite0UNetGenerator",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "UNetGenerator",
    "build_discriminator",
    "build_generator",
    "count_parameters",
    "init_weights",
    "param_groups",
    "receptive_field",
    "sample_latent",
]
