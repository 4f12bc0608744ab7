"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile): ImageNet-trained, 4.7 M parameters.

Lite differs from EfficientNet-B0: no squeeze-excite, ReLU6 instead of swish, stem and head not scaled. The
weights were converted from TensorFlow, so convolutions use TF "same" padding (asymmetric at stride 2)
and BatchNorm eps is 1e-3. Attribute names follow ``efficientnet_pytorch`` so the shipped state dict loads
as is, strictly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .frozen import FrozenNetwork, as_rgb
from .weights import lite0_state

INPUT_SIZE = 224
BN_EPS = 1e-3
# (repeats, kernel, stride of the first repeat, expansion, in channels, out channels) per stage.
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
POOLED_DIM = 1280
# Blocks whose outputs end a resolution (strides 4, 8, 16, 32): the multi-scale features.
SCALE_ENDS = (2, 4, 10, 15)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding for any input size: output = ceil(input / stride), the
    extra pixel of an odd total padding going to the bottom/right."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:][::-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class InvertedResidual(nn.Module):
    """MBConv without squeeze-excite: 1x1 expand -> depthwise k x k -> 1x1 project (+ identity)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.residual else h


class EfficientNetLite0(FrozenNetwork):
    """Frozen EfficientNet-Lite0. Images (N, 1|3, H, W) in [-1, 1] (the TF models' own input scaling:
    (pixel - 127) / 128), any size (224 is what it was trained at); computed in float32 even under autocast.

    :meth:`pooled` (N, 1280): the global-average-pooled head features, for Frechet distance and KID;
    :meth:`scales`: four feature maps at strides 4, 8, 16, 32; ``forward``: ImageNet logits (N, 1000).
    """

    def __init__(self, state: dict[str, Tensor] | None = None) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for r in range(repeats):
                blocks.append(InvertedResidual(kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, POOLED_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(POOLED_DIM, eps=BN_EPS)
        self._fc = nn.Linear(POOLED_DIM, 1000)
        self.load_state_dict(lite0_state() if state is None else state, strict=True)
        self.scale_channels = tuple(STAGES_OUT[i] for i in SCALE_ENDS)
        self.freeze()
        self._fold_batchnorm()

    @torch.no_grad()
    def _fold_batchnorm(self) -> None:
        """Frozen BatchNorm is an affine map: fold it into the preceding conv (a third less CPU time)."""
        pairs = [(self, "_conv_stem", "_bn0"), (self, "_conv_head", "_bn1")]
        for block in self._blocks:
            pairs += [(block, conv, bn) for conv, bn in (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"),
                                                         ("_project_conv", "_bn2")) if hasattr(block, conv)]
        for owner, conv_name, bn_name in pairs:
            conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
            scale = bn.weight / (bn.running_var + bn.eps).sqrt()
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale, requires_grad=False)
            setattr(owner, bn_name, nn.Identity())

    def _trunk(self, x: Tensor, taps: tuple[int, ...] = ()) -> tuple[Tensor, list[Tensor]]:
        # channels_last: measured 1.6x faster for the depthwise convolutions on the CPU.
        x = F.relu6(self._bn0(self._conv_stem(as_rgb(x).contiguous(memory_format=torch.channels_last))))
        kept = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in taps:
                kept.append(x)
        return x, kept

    def scales(self, x: Tensor) -> list[Tensor]:
        """Feature maps after blocks 2, 4, 10 and 15 (24, 40, 112, 320 channels; strides 4, 8, 16, 32)."""
        with torch.autocast(x.device.type, enabled=False):
            return self._trunk(x, SCALE_ENDS)[1]

    def pooled(self, x: Tensor) -> Tensor:
        """(N, 1280) globally averaged head features."""
        with torch.autocast(x.device.type, enabled=False):
            x, _ = self._trunk(x)
            return F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self._fc(self.pooled(x))


STAGES_OUT = tuple(cout for repeats, *_, cout in STAGES for _ in range(repeats))


def efficientnet_lite0(device: str | torch.device = "cpu") -> EfficientNetLite0:
    """The frozen ImageNet EfficientNet-Lite0 on ``device``; MissingPackageError (one line) without it."""
    return EfficientNetLite0().to(device)
