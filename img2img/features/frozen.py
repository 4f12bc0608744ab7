"""The base of every pretrained network here: frozen, always in eval mode, computed in float32."""

from __future__ import annotations

from torch import Tensor, nn


class FrozenNetwork(nn.Module):
    """Parameters never train and ``.train()`` never reaches the layers (BatchNorm statistics stay the
    pretrained ones), so the network can sit inside a trained model. Gradients still flow to the input,
    which a perceptual loss needs."""

    def freeze(self) -> "FrozenNetwork":
        self.requires_grad_(False)
        return super().train(False)

    def train(self, mode: bool = True) -> "FrozenNetwork":
        return super().train(False)


def as_rgb(x: Tensor) -> Tensor:
    """NCHW with 1 or 3 channels -> 3 channels in float32 (a grey image becomes three equal channels)."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(x.shape)}")
    return x.float().expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.float()
