"""The conditional PatchGAN discriminator of pix2pix, and its multi-scale stack from pix2pixHD.

The discriminator sees y and x concatenated on channels and outputs one logit per overlapping patch, so it
judges local texture and leaves the global structure to the L1 term.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import DiscriminatorConfig
from .init import init_weights
from .unet import make_norm

_KERNEL = 4
# pix2pix caps the discriminator width at 8 * ndf.
_MAX_MULT = 8


def _layer_specs(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of every conv, input to output: n_layers stride-2 convs, then two stride-1 convs."""
    return [(_KERNEL, 2)] * n_layers + [(_KERNEL, 1), (_KERNEL, 1)]


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch that one output logit sees (70 for the default n_layers=3)."""
    field = 1
    # Walk from the output back to the input: each layer widens the field by (kernel - 1) input-side steps.
    for kernel, stride in reversed(_layer_specs(n_layers)):
        field = (field - 1) * stride + kernel
    return field


class PatchDiscriminator(nn.Module):
    """pix2pix NLayerDiscriminator: (y, x) concatenated on channels -> (N, 1, h, w) patch logits, no sigmoid."""

    def __init__(self, in_channels: int, cfg: DiscriminatorConfig):
        super().__init__()
        specs = _layer_specs(cfg.n_layers)
        widths = [cfg.ndf * min(2**i, _MAX_MULT) for i in range(len(specs) - 1)] + [1]
        layers: list[nn.Module] = []
        channels = in_channels
        for index, ((kernel, stride), width) in enumerate(zip(specs, widths)):
            first, last = index == 0, index == len(specs) - 1
            # Spectral norm already bounds each layer, and norm layers would undo its Lipschitz control.
            norm = None if first or last or cfg.spectral_norm else make_norm(cfg.norm, width)
            conv: nn.Module = nn.Conv2d(channels, width, kernel, stride=stride, padding=1, bias=norm is None)
            if cfg.spectral_norm:
                conv = spectral_norm(conv)
            layers.append(conv)
            if norm is not None:
                layers.append(norm)
            if not last:
                layers.append(nn.LeakyReLU(0.2))
            channels = width
        self.model = nn.Sequential(*layers)
        self.receptive_field = receptive_field(cfg.n_layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def features(self, x: Tensor) -> list[Tensor]:
        """The activations after each LeakyReLU (for pix2pixHD's feature matching)."""
        out = []
        for layer in self.model:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchDiscriminators, each on a 2x average-pooled copy of the previous scale's input.

    Coarser scales see the same patch size over a larger share of the image, catching structure that a single
    70-pixel patch cannot.
    """

    def __init__(self, in_channels: int, cfg: DiscriminatorConfig):
        super().__init__()
        self.discriminators = nn.ModuleList(PatchDiscriminator(in_channels, cfg) for _ in range(cfg.num_scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.num_scales = cfg.num_scales

    def forward(self, x: Tensor) -> list[Tensor]:
        logits = []
        for scale, discriminator in enumerate(self.discriminators):
            if scale:
                x = self.downsample(x)
            logits.append(discriminator(x))
        return logits


    def describe(self) -> str:
        rf = self.discriminators[0].receptive_field
        return f"{self.num_scales} scale(s), receptive field {rf}x{rf} px"

    def features(self, x: Tensor) -> list[list[Tensor]]:
        """Per scale, the intermediate activations of that scale's discriminator."""
        out = []
        for scale, discriminator in enumerate(self.discriminators):
            if scale:
                x = self.downsample(x)
            out.append(discriminator.features(x))
        return out


def build_discriminator(in_channels: int, cfg: DiscriminatorConfig, out_channels: int | None = None) -> nn.Module:
    """The discriminator ``cfg.kind`` names: ``patch`` (the multi-scale PatchGAN wrapper, possibly of one
    scale), ``projected`` (frozen Lite0 features + small heads, :mod:`.projected`; needs ``out_channels``, the
    image's share of the ``in_channels``) or ``both``. Every kind returns a list of logit maps."""
    if cfg.kind == "auto":
        raise ValueError("discriminator.kind 'auto' is resolved per run (img2img.engine.settle.settle_config) before a "
                         "discriminator is built")
    if cfg.kind == "patch":
        return MultiScaleDiscriminator(in_channels, cfg)
    from .projected import DiscriminatorSet, ProjectedDiscriminator

    if out_channels is None:
        raise ValueError("a projected discriminator needs out_channels (how many input channels are the image)")
    projected = ProjectedDiscriminator(in_channels, out_channels, cfg)
    return projected if cfg.kind == "projected" else DiscriminatorSet(MultiScaleDiscriminator(in_channels, cfg), projected)
