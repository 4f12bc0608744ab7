"""The pix2pix U-Net generator with a latent code z injected into every encoder block (BicycleGAN "add to all").

pix2pix itself gets its randomness only from dropout, which in practice the generator learns to ignore; feeding
z to every encoder level gives the network a noise source it cannot easily route around.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import NORMS, UPSAMPLES, GeneratorConfig
from .film import LatentFiLM
from .fourier import FourierBlocks
from .init import init_weights
from .noise import NoiseInjection

# pix2pix puts dropout in the three innermost decoder blocks.
_DROPOUT_BLOCKS = 3


def make_norm(kind: str, channels: int) -> nn.Module | None:
    """The normalisation layer named by a config ``norm`` field, or None for ``"none"``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm '{kind}' (choose from {', '.join(NORMS)})")


def sample_latent(
    n: int,
    nz: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    scale: float = 1.0,
) -> Tensor:
    """Draw ``n`` latent codes from N(0, scale^2), shape (n, nz).

    The draw happens on the generator's own device (a CUDA generator cannot fill a CPU tensor and vice versa),
    so the same seeded generator gives the same codes whichever device they end up on.
    """
    draw_device = generator.device if generator is not None else device
    z = torch.randn((n, nz), generator=generator, device=draw_device)
    if device is not None:
        z = z.to(device)
    return z * scale


class _EncoderBlock(nn.Module):
    """LeakyReLU -> concat z -> 4x4 stride-2 conv -> norm (the outermost block starts at the conv)."""

    def __init__(self, in_channels: int, out_channels: int, nz: int, norm: str, outermost: bool, innermost: bool):
        super().__init__()
        self.nz = nz
        self.activation = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        # No norm on the raw-image conv (as pix2pix) nor on the 1x1 bottleneck, where instance norm would zero it.
        norm_layer = None if outermost or innermost else make_norm(norm, out_channels)
        self.conv = nn.Conv2d(in_channels + nz, out_channels, 4, stride=2, padding=1, bias=norm_layer is None)
        self.norm = norm_layer if norm_layer is not None else nn.Identity()

    def forward(self, x: Tensor, z: Tensor | None) -> Tensor:
        h = self.activation(x)
        if self.nz:
            h = torch.cat([h, z[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], dim=1)
        return self.norm(self.conv(h))


class _DecoderBlock(nn.Module):
    """ReLU -> x2 upsample -> norm -> dropout; the outermost block ends in tanh instead of norm (with a global
    residual in nothing: its output is added to the condition)."""

    def __init__(
        self, in_channels: int, out_channels: int, norm: str, upsample: str, dropout: float, outermost: bool,
        tanh: bool = True,
    ):
        super().__init__()
        norm_layer = None if outermost else make_norm(norm, out_channels)
        bias = norm_layer is None
        if upsample == "transposed":
            up: nn.Module = nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
        elif upsample == "resize":
            up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias),
            )
        else:
            raise ValueError(f"unknown upsample '{upsample}' (choose from {', '.join(UPSAMPLES)})")
        layers: list[nn.Module] = [nn.ReLU(), up]
        if outermost:
            layers += [nn.Tanh()] if tanh else []
        else:
            if norm_layer is not None:
                layers.append(norm_layer)
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class ContextBlocks(nn.Module):
    """Residual 3x3 conv pairs with growing dilation (1, 2, 4, 8, then again): at 1/8 of a 128 px input four
    blocks see 61x61 feature pixels, the whole 16x16 map, so a fill can draw on the far side of the picture."""

    def __init__(self, channels: int, blocks: int, norm: str):
        super().__init__()
        self.blocks = nn.ModuleList()
        for i in range(blocks):
            d = 2 ** (i % 4)
            layers: list[nn.Module] = []
            for _ in range(2):
                norm_layer = make_norm(norm, channels)
                layers += [nn.Conv2d(channels, channels, 3, padding=d, dilation=d, bias=norm_layer is None)]
                layers += [norm_layer] if norm_layer is not None else []
                layers.append(nn.ReLU())
            self.blocks.append(nn.Sequential(*layers[:-1]))  # no ReLU before the sum

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = torch.relu(x + block(x))
        return x


# Nearest x2 upsampling followed by a 3x3 convolution (padding 1) equals a stride-2 4x4 transposed convolution:
# output row 2i reads input rows i-1 (tap 0) and i (taps 1+2), row 2i+1 reads rows i (taps 0+1) and i+1 (tap 2).
# In ConvTranspose2d's indexing (out = 2*in - 1 + k) that is k = [tap 2, taps 1+2, taps 0+1, tap 0] per axis.
_FOLD = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def fold_resize_upsampling(module: nn.Module) -> int:
    """Replace every nearest-x2-upsample + 3x3-conv pair in ``module`` by the equal stride-2 transposed
    convolution, in place; returns how many were folded. The result is the same function (up to float rounding)
    at 4/9 of the multiply-adds per upsampling layer; for inference and export, not training."""
    folded = 0
    for block in module.modules():
        if not isinstance(block, _DecoderBlock):
            continue
        for index, layer in enumerate(block.body):
            if not (isinstance(layer, nn.Sequential) and len(layer) == 2 and isinstance(layer[0], nn.Upsample)
                    and layer[0].mode == "nearest" and layer[0].scale_factor in (2, 2.0, (2.0, 2.0))
                    and isinstance(layer[1], nn.Conv2d) and layer[1].kernel_size == (3, 3)
                    and layer[1].padding == (1, 1) and layer[1].stride == (1, 1) and layer[1].groups == 1
                    and layer[1].dilation == (1, 1)):
                continue
            conv = layer[1]
            up = nn.ConvTranspose2d(conv.in_channels, conv.out_channels, 4, stride=2, padding=1,
                                    bias=conv.bias is not None).to(conv.weight.device, conv.weight.dtype)
            fold = _FOLD.to(conv.weight.device, conv.weight.dtype)
            with torch.no_grad():
                # (out, in, 3, 3) -> (out, in, 4, 4) -> ConvTranspose2d's (in, out, 4, 4)
                up.weight.copy_(torch.einsum("rk,oikl,cl->iorc", fold, conv.weight, fold))
                if conv.bias is not None:
                    up.bias.copy_(conv.bias)
            block.body[index] = up
            folded += 1
    return folded


class UNetGenerator(nn.Module):
    """pix2pix U-Net mapping a condition y (and a latent z) to an image in [-1, 1] of the same H x W.

    ``depth`` stride-2 levels; with depth = log2(size) the bottleneck is 1x1 at the training size. Inputs of any
    H x W are padded up to a multiple of ``2**depth`` and the output is cropped back.
    """

    def __init__(self, cfg: GeneratorConfig, size: int | None = None):
        super().__init__()
        if cfg.depth is not None:
            depth = cfg.depth
        elif size is not None:
            if size < 2:
                raise ValueError(f"size must be >= 2 to derive the U-Net depth, got {size}")
            depth = int(math.log2(size))
        else:
            raise ValueError("UNetGenerator needs generator.depth or the training size to choose its depth")
        if depth < 1:
            raise ValueError(f"U-Net depth must be >= 1, got {depth}")
        self.depth = depth
        self.nz = cfg.nz
        self.multiple = 2**depth
        # Store the resolved depth so the config alone rebuilds this exact network (no size needed).
        self.config = dataclasses.replace(cfg, depth=depth)

        widths = [cfg.ngf * min(2**level, cfg.max_mult) for level in range(depth)]
        self.encoder = nn.ModuleList(
            _EncoderBlock(
                cfg.in_channels if level == 0 else widths[level - 1],
                widths[level],
                cfg.nz,
                cfg.norm,
                outermost=level == 0,
                innermost=level == depth - 1,
            )
            for level in range(depth)
        )
        # The encoder output of level L is at 1/2**(L+1) of the input; a context at the bottleneck would be 1x1.
        self.context_level = min(int(math.log2(cfg.context_stride)) - 1, depth - 2)
        self.context = None
        if cfg.context_blocks and self.context_level >= 0:
            width = widths[self.context_level]
            self.context = (FourierBlocks(width, cfg.context_blocks, lambda c: make_norm(cfg.norm, c))
                            if cfg.context_kind == "fourier" else ContextBlocks(width, cfg.context_blocks, cfg.norm))
        # Decoder blocks run innermost first; each one above the bottleneck also sees the matching skip.
        decoder = []
        for level in reversed(range(depth)):
            in_channels = widths[level] if level == depth - 1 else 2 * widths[level]
            outermost = level == 0
            out_channels = cfg.out_channels if outermost else widths[level - 1]
            with_dropout = level >= depth - _DROPOUT_BLOCKS and not outermost
            decoder.append(
                _DecoderBlock(
                    in_channels,
                    out_channels,
                    cfg.norm,
                    cfg.upsample,
                    cfg.dropout if with_dropout else 0.0,
                    outermost=outermost,
                    tanh=not cfg.residual and cfg.output == "tanh",
                )
            )
        self.decoder = nn.ModuleList(decoder)
        # One noise input after every decoder block but the last (which paints RGB), named by its level.
        self.noise = (nn.ModuleList(NoiseInjection(widths[level - 1], level) for level in reversed(range(1, depth)))
                      if cfg.noise else None)
        # Latent FiLM at the same places (after the block's norm), before the noise: z's path for global style.
        self.film = (nn.ModuleList(LatentFiLM(cfg.nz, widths[level - 1]) for level in reversed(range(1, depth)))
                     if cfg.film else None)
        init_weights(self)
        cfg.check_residual()
        if cfg.residual:
            last = [m for m in self.decoder[-1].modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
            nn.init.zeros_(last.weight)  # starts as the identity: the condition handed back
            if last.bias is not None:
                nn.init.zeros_(last.bias)
        self.residual = cfg.residual
        self.clip = not cfg.residual and cfg.output == "clip"
        self.out_channels = cfg.out_channels

    def forward(self, y: Tensor, z: Tensor | None = None) -> Tensor:
        height, width = y.shape[-2:]
        latent = latent_input(y, z, self.nz)
        h, (top, left) = _pad_to_multiple(y, self.multiple)
        return self.run_padded(h, latent)[:, :, top : top + height, left : left + width]

    def run_padded(self, h: Tensor, latent: Tensor | None) -> Tensor:
        """The network proper, on an input whose H and W are multiples of ``self.multiple`` (the ONNX export
        pads without Python branches and then calls this)."""
        condition, skips = h, []
        for level, block in enumerate(self.encoder):
            h = block(h, latent)
            if self.context is not None and level == self.context_level:
                h = self.context(h)
            skips.append(h)
        h = skips.pop()
        for index, block in enumerate(self.decoder):
            h = block(h)
            if self.film is not None and index < len(self.film):
                h = self.film[index](h, latent)
            if self.noise is not None and index < len(self.noise):
                h = self.noise[index](h, latent)
            if skips:
                h = torch.cat([h, skips.pop()], dim=1)
        if self.residual:
            return (condition[:, : self.out_channels] + h).clamp(-1.0, 1.0)
        if self.clip:
            return h.clamp(-1.0, 1.0)
        return h

def latent_input(y: Tensor, z: Tensor | None, nz: int) -> Tensor | None:
    """The latent a generator with latent size ``nz`` runs on for conditions ``y``: None without one, the mean of
    the prior (zeros: the deterministic "most typical" sample) when ``z`` is None, else ``z`` checked."""
    if nz == 0:
        return None
    if z is None:
        return y.new_zeros((y.shape[0], nz))
    if z.dim() != 2 or z.shape[0] != y.shape[0] or z.shape[1] != nz:
        raise ValueError(f"z must have shape ({y.shape[0]}, {nz}), got {tuple(z.shape)}")
    return z.to(device=y.device, dtype=y.dtype)


def _pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad H and W up to ``multiple``, centred; returns the padded tensor and the (top, left) offset."""
    height, width = x.shape[-2:]
    pad_h = -height % multiple
    pad_w = -width % multiple
    top, left = pad_h // 2, pad_w // 2
    # Each axis is padded on its own so a wide strip can still mirror along W when H is too short to reflect.
    x = _pad_axis(x, (0, 0, top, pad_h - top), height)
    x = _pad_axis(x, (left, pad_w - left, 0, 0), width)
    return x, (top, left)


def _pad_axis(x: Tensor, pad: tuple[int, int, int, int], length: int) -> Tensor:
    if not any(pad):
        return x
    # Reflection needs each side's padding to be shorter than the axis; tiny images fall back to edge copies.
    mode = "reflect" if max(pad) < length else "replicate"
    return F.pad(x, pad, mode=mode)
