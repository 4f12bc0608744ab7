"""A U-Net around the ImageNet EfficientNet-Lite0 (``generator.encoder=lite0``).

The from-scratch U-Net (:mod:`.unet`) learns what photos look like from a few thousand pictures. Here the
encoder is the ImageNet-trained Lite0 trunk (the network :mod:`img2img.features` uses to judge outputs, its
blocks reused), the decoder is new, as in fastai's DynamicUnet and segmentation_models_pytorch's U-Net:

- Skips from each resolution the encoder ends: strides 2, 4, 8, 16 (blocks 0, 2, 4, 10) and the stride-32
  bottleneck (block 15, 320 channels). The 1280-channel head and the classifier are not used.
- Each decoder level: nearest x2 upsample, concatenate the skip (and z), one 3x3 conv, norm, ReLU. The finest
  skip is at half resolution, so the input is concatenated again at full resolution before the last two
  convolutions (fastai's ``last_cross``): without it every output pixel is painted from features.
  Resize + conv rather than PixelShuffle with ICNR (Aitken et al. 2017): no checkerboard by construction, where
  ICNR is free of it only at the start. Measured, one thread at 128 px: a fastai-style PixelShuffle_ICNR level
  (1x1 conv to half the channels x4, shuffle) made the step 0.91x as long, by halving what the next conv
  reads, within the noise of a loaded machine; not worth a checkerboard risk untried by eye.
- The latent z is concatenated to the input of every decoder conv (the encoder is ImageNet's and takes no z:
  BicycleGAN's "add to all", on the decoder), and reaches the decoder's normalised levels through latent FiLM
  and noise inputs when ``generator.film`` / ``generator.noise`` are on, as in the U-Net.
- BatchNorm: the encoder's statistics stay the ImageNet ones (a batch of 4 would estimate them badly), so each
  BatchNorm is an affine map and is folded into its convolution at build time: no BatchNorm runs, in train()
  or eval(), and each conv then has a bias. The folded convolutions still train (at ``optim.encoder_lr_mult`` x
  the learning rate, :func:`param_groups`).
- Input: the Lite0 weights were converted from TensorFlow, whose models take (pixel - 127) / 128, i.e. the
  project's [-1, 1] images as they are: no ImageNet mean/std to apply. A 1-channel input (sketch2photo) uses the
  sum of the RGB filters (a grey image is three equal channels: the same features as
  :class:`~img2img.features.EfficientNetLite0` computes for it); channels beyond the image (uncrop's mask)
  start at zero, so at the start the encoder sees the image exactly as ImageNet's network does and learns
  what the mask means.
- Padding: inputs are padded to a multiple of 32 (``multiple``), so every stride-2 convolution sees an even
  size and TensorFlow's "same" padding is a constant (k - 2) // 2 before, the rest after: no shape arithmetic
  in the graph (ONNX export) and the same numbers as :class:`~img2img.features.efficientnet.SameConv2d`.
- channels_last inside the encoder: the depthwise convolutions run ~1.6x faster that way on the CPU. Under bf16
  autocast they run in fp32: the CPU's bf16 matrix units do not serve them, and on one thread their bf16
  backward was the slowest part of a training step.

The weights file holds the fine-tuned encoder like any other tensor: loading one needs no pretrained package;
only a from-scratch training run reads the ImageNet weights (``build_generator(..., pretrained=True)``).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import GeneratorConfig
from ..features.efficientnet import BN_EPS, STAGES, InvertedResidual, SameConv2d
from ..features.weights import lite0_state
from .film import LatentFiLM
from .init import init_weights
from .noise import NoiseInjection
from .unet import _pad_to_multiple, latent_input, make_norm

# Blocks whose outputs end a resolution: strides 2, 4, 8, 16, 32 (16, 24, 40, 112, 320 channels).
SKIP_BLOCKS = (0, 2, 4, 10, 15)
SKIP_CHANNELS = (16, 24, 40, 112, 320)
DEPTH = len(SKIP_BLOCKS)  # five stride-2 levels: inputs are padded to a multiple of 2**5
STEM_CHANNELS = 32
# Dropout (when generator.dropout > 0) in the innermost decoder levels, as pix2pix's U-Net.
_DROPOUT_LEVELS = 3


class _EvenSameConv2d(nn.Conv2d):
    """TensorFlow "same" padding for inputs whose size is a multiple of the stride: then the padding does not
    depend on the size (stride 1: (k - 1) / 2 each side; stride 2: (k - 2) // 2 before, the rest after)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pads = []
        for k, s in zip(self.kernel_size[::-1], self.stride[::-1]):
            total = max(k - s, 0)
            pads += [total // 2, total - total // 2]
        self.same_pads = tuple(pads)

    def forward(self, x: Tensor) -> Tensor:
        if self.groups > 1 and torch.is_autocast_enabled("cpu"):
            # A depthwise convolution gains nothing from the CPU's bf16 matrix units, and on one thread its bf16
            # backward took ~35 ms per call on the 4x4 x 1152-channel blocks. In fp32 (the next convolution casts
            # back) the lite0 generator's one-thread training step went from 2.37x to 1.56x the U-Net's on a CPU
            # with native bf16 (benchmarks/run_all.py --part generator-step); on two threads and in fp32 it is
            # unchanged.
            with torch.autocast("cpu", enabled=False):
                return self._conv(x.float())
        return self._conv(x)

    def _conv(self, x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, self.same_pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _lite0_trunk() -> nn.Module:
    """Lite0's stem and blocks with efficientnet_pytorch's names (so the ImageNet state dict loads), unfolded."""
    trunk = nn.Module()
    trunk._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2, bias=False)
    trunk._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
    blocks = []
    for repeats, kernel, stride, expand, cin, cout in STAGES:
        for r in range(repeats):
            blocks.append(InvertedResidual(kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout))
    trunk._blocks = nn.ModuleList(blocks)
    return trunk


@torch.no_grad()
def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> _EvenSameConv2d:
    """The conv followed by the frozen BatchNorm as one conv with a bias (the BN's affine map folded in)."""
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    folded = _EvenSameConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                             groups=conv.groups, bias=True).to(conv.weight.device, conv.weight.dtype)
    folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
    folded.bias.copy_(bn.bias - bn.running_mean * scale)
    return folded


def _folded_trunk(state: dict[str, Tensor] | None) -> nn.Module:
    """The trunk with every BatchNorm folded into its conv; ImageNet weights when ``state`` is given."""
    trunk = _lite0_trunk()
    if state is not None:
        keys = set(trunk.state_dict())
        missing = keys - set(state)
        if missing:
            raise ValueError(f"the Lite0 state dict lacks {len(missing)} trunk tensors, e.g. {sorted(missing)[0]}")
        trunk.load_state_dict({k: v for k, v in state.items() if k in keys}, strict=True)
    pairs = [(trunk, "_conv_stem", "_bn0")]
    for block in trunk._blocks:
        pairs += [(block, conv, bn) for conv, bn in (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"),
                                                     ("_project_conv", "_bn2")) if hasattr(block, conv)]
    for owner, conv_name, bn_name in pairs:
        setattr(owner, conv_name, _fold(getattr(owner, conv_name), getattr(owner, bn_name)))
        setattr(owner, bn_name, nn.Identity())
    return trunk


@torch.no_grad()
def _adapt_stem(stem: _EvenSameConv2d, in_channels: int) -> _EvenSameConv2d:
    """The RGB stem for ``in_channels`` inputs: 1 or 2 channels -> the first is grey (the sum of the RGB filters,
    what a grey image repeated to RGB gives); 3+ -> RGB as trained; every further channel starts at zero."""
    if in_channels == 3:
        return stem
    new = _EvenSameConv2d(in_channels, stem.out_channels, stem.kernel_size, stem.stride, bias=True)
    new = new.to(stem.weight.device, stem.weight.dtype)
    new.weight.zero_()
    if in_channels < 3:
        new.weight[:, :1].copy_(stem.weight.sum(dim=1, keepdim=True))
    else:
        new.weight[:, :3].copy_(stem.weight)
    new.bias.copy_(stem.bias)
    return new


class Lite0Encoder(nn.Module):
    """The folded Lite0 trunk: (N, in_channels, H, W) with H, W multiples of 32 -> the five skips."""

    def __init__(self, in_channels: int, pretrained: bool):
        super().__init__()
        trunk = _folded_trunk(lite0_state() if pretrained else None)
        if not pretrained:
            # Random but sane scales (the suite's tiny runs, and a skeleton a weights file is loaded into).
            for m in trunk.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        self._conv_stem = _adapt_stem(trunk._conv_stem, in_channels)
        self._blocks = trunk._blocks

    def forward(self, x: Tensor) -> list[Tensor]:
        # channels_last: measured 1.6x faster for the depthwise convolutions on the CPU.
        h = F.relu6(self._conv_stem(x.contiguous(memory_format=torch.channels_last)))
        skips = []
        for i, block in enumerate(self._blocks):
            h = block(h)
            if i in SKIP_BLOCKS:
                # The decoder runs in the default layout: concatenating channels_last skips with it made torch.cat
                # copy in both directions (measured, with z left out at full resolution: the generator step went
                # from 1.40x the U-Net's to about 1.1x; the whole network channels_last was slower, 1.58x).
                skips.append(h.contiguous())
        return skips


class _DecoderLevel(nn.Module):
    """x2 nearest upsample -> concat skip (and z) -> 3x3 conv -> norm -> ReLU (-> dropout)."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, nz: int, norm: str, dropout: float):
        super().__init__()
        norm_layer = make_norm(norm, out_channels)
        self.conv = nn.Conv2d(in_channels + skip_channels + nz, out_channels, 3, padding=1, bias=norm_layer is None)
        self.norm = norm_layer if norm_layer is not None else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, h: Tensor, skip: Tensor, latent: Tensor | None) -> Tensor:
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        parts = [h, skip]
        if latent is not None:
            parts.append(latent[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3]).to(h.dtype))
        return self.dropout(torch.relu(self.norm(self.conv(torch.cat(parts, dim=1)))))


class Lite0UNetGenerator(nn.Module):
    """U-Net with the ImageNet EfficientNet-Lite0 encoder, mapping y (and z) to an image of the same H x W.

    Exposes the attributes the rest of the code reads on a generator, with :class:`UNetGenerator`'s meaning:
    ``depth`` (5: inputs are padded to a multiple of ``multiple`` = 32), ``nz``, ``film``, ``noise``,
    ``residual``, ``clip``, ``out_channels``, ``config`` (with ``depth`` resolved, so it alone rebuilds the
    network) and ``run_padded`` (the network on an already padded input, for the ONNX export).
    ``encoder`` holds the pretrained part (its parameters are :func:`param_groups`' encoder group).

    Decoder widths follow ``ngf`` and ``max_mult`` as the U-Net's do: ``ngf * min(2**level, max_mult)`` at stride
    ``2**(level + 1)``, and ``ngf / 2`` at full resolution.
    """

    def __init__(self, cfg: GeneratorConfig, size: int | None = None, pretrained: bool = False):
        super().__init__()
        del size  # the depth is the encoder's, whatever the training size
        self.depth = DEPTH
        self.multiple = 2**DEPTH
        self.nz = cfg.nz
        self.config = dataclasses.replace(cfg, depth=DEPTH)
        self.encoder = Lite0Encoder(cfg.in_channels, pretrained)

        widths = [cfg.ngf * min(2**level, cfg.max_mult) for level in range(DEPTH - 1)]  # strides 2, 4, 8, 16
        decoder = []
        below = SKIP_CHANNELS[-1]
        for level in reversed(range(DEPTH - 1)):  # strides 16, 8, 4, 2
            dropout = cfg.dropout if level >= DEPTH - 1 - _DROPOUT_LEVELS else 0.0
            decoder.append(_DecoderLevel(below, SKIP_CHANNELS[level], widths[level], cfg.nz, cfg.norm, dropout))
            below = widths[level]
        self.decoder = nn.ModuleList(decoder)
        # Full resolution (fastai's last_cross): upsample, concat the input itself, conv, then the output conv. No
        # norm here: the last layer paints pixels. No z either: at 128 x 128 its channels cost as much as a
        # quarter of the features', and z already reaches every coarser level.
        self.full_width = max(cfg.ngf // 2, 8)
        self.last_conv = nn.Conv2d(below + cfg.in_channels, self.full_width, 3, padding=1)
        self.out_conv = nn.Conv2d(self.full_width, cfg.out_channels, 3, padding=1)
        decoder_widths = [widths[level] for level in reversed(range(DEPTH - 1))]
        # One noise input / FiLM after each decoder level (after its norm), as the U-Net's decoder blocks.
        self.film = nn.ModuleList(LatentFiLM(cfg.nz, w) for w in decoder_widths) if cfg.film else None
        self.noise = (nn.ModuleList(NoiseInjection(w, DEPTH - 1 - i) for i, w in enumerate(decoder_widths))
                      if cfg.noise else None)
        init_weights(self.decoder)
        for conv in (self.last_conv, self.out_conv):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.out_conv.weight, 0.0, 0.02)
        cfg.check_residual()
        if cfg.residual:
            nn.init.zeros_(self.out_conv.weight)  # starts as the identity: the condition handed back
        self.residual = cfg.residual
        self.clip = not cfg.residual and cfg.output == "clip"
        self.out_channels = cfg.out_channels

    def forward(self, y: Tensor, z: Tensor | None = None) -> Tensor:
        height, width = y.shape[-2:]
        latent = latent_input(y, z, self.nz)
        h, (top, left) = _pad_to_multiple(y, self.multiple)
        return self.run_padded(h, latent)[:, :, top : top + height, left : left + width]

    def run_padded(self, h: Tensor, latent: Tensor | None) -> Tensor:
        """The network proper, on an input whose H and W are multiples of 32."""
        condition = h
        skips = self.encoder(h)
        h = skips.pop()
        for index, level in enumerate(self.decoder):
            h = level(h, skips.pop(), latent)
            if self.film is not None:
                h = self.film[index](h, latent)
            if self.noise is not None:
                h = self.noise[index](h, latent)
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        h = self.out_conv(torch.relu(self.last_conv(torch.cat([h, condition.to(h.dtype)], dim=1))))
        h = h.contiguous()
        if self.residual:
            return (condition[:, : self.out_channels] + h).clamp(-1.0, 1.0)
        if self.clip:
            return h.clamp(-1.0, 1.0)
        return torch.tanh(h)
