"""Networks: the U-Net generator with latent injection and the (multi-scale) PatchGAN discriminator."""

from torch import nn

from .init import init_weights
from .patchgan import MultiScaleDiscriminator, PatchDiscriminator, build_discriminator, receptive_field
from .unet import UNetGenerator, sample_latent


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (spectral-norm layers count their original weight once)."""
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "UNetGenerator",
    "build_discriminator",
    "count_parameters",
    "init_weights",
    "receptive_field",
    "sample_latent",
]
