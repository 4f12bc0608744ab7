"""A projected discriminator (Sauer et al. 2021, "Projected GANs Converge Faster"), made conditional.

The image goes through a frozen ImageNet EfficientNet-Lite0 (img2img.features); its feature maps at strides
4, 8, 16 and 32 are mixed by fixed random 1x1 convolutions (Projected GAN's cross-channel mixing) and judged
by small trainable heads, one per scale, each also given the condition y resized to that scale. The
pretrained features carry a prior about what photos look like, which is what helps on small datasets.
DiffAugment (Zhao et al. 2020: colour, translation, cutout; differentiable, applied to real and fake alike)
keeps the heads from memorising the few training images.

The backbone is held outside the module tree: it is never trained, never saved in checkpoints (it is
rebuilt from its package) and does not count as the discriminator's parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import DIFF_AUGMENT_POLICIES, DiscriminatorConfig
from .init import init_weights

MIXED_CHANNELS = 64  # per scale after the random channel mixing
MIN_SIDE = 32  # the backbone's coarsest map has stride 32
DIFF_AUGMENT = DIFF_AUGMENT_POLICIES  # all on by default


def diff_augment(pair: Tensor, out_channels: int, policy: tuple[str, ...] = DIFF_AUGMENT) -> Tensor:
    """DiffAugment's colour, translation (1/8) and cutout (1/2) on a (y, x) pair, those named in ``policy``,
    drawn from the global RNG (seeded per step by the trainer). Colour changes only x; translation and cutout
    move y with x, so the condition stays aligned with its image."""
    n, device, dtype = pair.shape[0], pair.device, pair.dtype
    if "color" in policy:
        y, x = pair[:, :-out_channels], pair[:, -out_channels:]
        x = x + (torch.rand(n, 1, 1, 1, device=device, dtype=dtype) - 0.5)  # brightness (in [-1, 1] units / 2)
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=device, dtype=dtype) * 2) + mean  # saturation
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=device, dtype=dtype) + 0.5) + mean  # contrast
        pair = torch.cat([y, x], dim=1)
    if "translation" in policy:
        pair = _translate(pair)
    if "cutout" in policy:
        pair = _cutout(pair)
    return pair


def _translate(pair: Tensor) -> Tensor:
    n, _, h, w = pair.shape
    device = pair.device
    # Translation by up to 1/8 of the size with zero fill, as a per-sample integer shift of a padded copy.
    sy, sx = max(1, h // 8), max(1, w // 8)
    dy = torch.randint(-sy, sy + 1, (n,), device=device)
    dx = torch.randint(-sx, sx + 1, (n,), device=device)
    rows = (torch.arange(h, device=device)[None] - dy[:, None] + sy).clamp(0, h + 2 * sy - 1)
    cols = (torch.arange(w, device=device)[None] - dx[:, None] + sx).clamp(0, w + 2 * sx - 1)
    padded = F.pad(pair, (sx, sx, sy, sy))
    index = torch.arange(n, device=device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _cutout(pair: Tensor) -> Tensor:
    """One zeroed square of half the size per sample."""
    n, _, h, w = pair.shape
    device = pair.device
    ch, cw = h // 2, w // 2
    top = torch.randint(0, h - ch + 1, (n, 1, 1), device=device)
    left = torch.randint(0, w - cw + 1, (n, 1, 1), device=device)
    ys, xs = torch.arange(h, device=device)[None, :, None], torch.arange(w, device=device)[None, None, :]
    keep = ~((ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw))
    return pair * keep[:, None].to(pair.dtype)


class ProjectedDiscriminator(nn.Module):
    """(y, x) pairs (N, C_y + C_x, H, W), x in [-1, 1] -> a list of 4 logit maps (strides 4 to 32)."""

    def __init__(self, in_channels: int, out_channels: int, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        from ..features import efficientnet_lite0

        backbone = efficientnet_lite0()
        self._backbone = [backbone]  # a list hides it from parameters(), state_dict() and the optimiser
        self.out_channels = out_channels
        cond = in_channels - out_channels
        gen = torch.Generator().manual_seed(0)  # the random projections are part of the architecture
        self.heads = nn.ModuleList()
        width = cfg.ndf
        for i, channels in enumerate(backbone.scale_channels):
            # Buffers, not parameters: fixed by design, whatever requires_grad_ the trainer toggles.
            self.register_buffer(f"mixer{i}", torch.randn(MIXED_CHANNELS, channels, 1, 1, generator=gen) / channels**0.5)
            self.heads.append(nn.Sequential(
                spectral_norm(nn.Conv2d(MIXED_CHANNELS + cond, width, 3, padding=1)), nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(width, 1, 1))))
        init_weights(self.heads)
        self.augment = cfg.augment_policy()  # DiffAugment policies; () = none
        self.num_scales = len(self.heads)

    def _apply(self, fn, recurse: bool = True):  # .to(device) / .half() reach the hidden backbone too
        self._backbone[0]._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def describe(self) -> str:
        augment = "DiffAugment" + ("" if self.augment == DIFF_AUGMENT else f" ({', '.join(self.augment) or 'off'})")
        return f"projected: frozen EfficientNet-Lite0, {self.num_scales} scales, {augment}"

    def _activations(self, pair: Tensor) -> list[Tensor]:
        if self.training and self.augment:
            pair = diff_augment(pair, self.out_channels, self.augment)
        y, x = pair[:, : -self.out_channels], pair[:, -self.out_channels :]
        if min(x.shape[-2:]) < MIN_SIDE:
            size = [max(MIN_SIDE, s) for s in x.shape[-2:]]
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        out = []
        for i, (features, head) in enumerate(zip(self._backbone[0].scales(x), self.heads)):
            mixed = F.conv2d(features, getattr(self, f"mixer{i}"))
            cond = F.interpolate(y, size=features.shape[-2:], mode="area")
            out.append(head[1](head[0](torch.cat([mixed, cond.to(mixed.dtype)], dim=1))))
        return out

    def forward(self, pair: Tensor) -> list[Tensor]:
        return [head[2](a) for a, head in zip(self._activations(pair), self.heads)]

    def features(self, pair: Tensor) -> list[list[Tensor]]:
        """Per scale, the head's hidden activation (for feature matching)."""
        return [[a] for a in self._activations(pair)]


class DiscriminatorSet(nn.Module):
    """Several discriminators judged together: their logit maps (and features) in one list."""

    def __init__(self, *discriminators: nn.Module) -> None:
        super().__init__()
        self.members = nn.ModuleList(discriminators)

    def describe(self) -> str:
        return " + ".join(d.describe() for d in self.members)

    def forward(self, pair: Tensor) -> list[Tensor]:
        return [logits for d in self.members for logits in d(pair)]

    def features(self, pair: Tensor) -> list[list[Tensor]]:
        return [f for d in self.members for f in d.features(pair)]
