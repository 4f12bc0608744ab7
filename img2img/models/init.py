"""Weight initialisation as in pix2pix: every conv N(0, 0.02), every norm scale N(1, 0.02), biases 0."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

_WEIGHTED = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)
_NORMS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
)
# Enough power iterations for the spectral-norm vectors to settle on the new weight
# (torch uses the same count when it first wraps a layer).
_SPECTRAL_REFRESH_ITERATIONS = 15


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Re-initialise every conv/linear/norm layer inside ``module`` in place."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _WEIGHTED):
                nn.init.normal_(_raw_weight(layer), 0.0, std)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
                _refresh_spectral_norm(layer)
            elif isinstance(layer, _NORMS):
                if getattr(layer, "weight", None) is not None:
                    nn.init.normal_(layer.weight, 1.0, std)
                if getattr(layer, "bias", None) is not None:
                    nn.init.zeros_(layer.bias)


def _raw_weight(layer: nn.Module) -> torch.Tensor:
    # A parametrized weight (spectral norm) is computed on access; the trainable tensor is the original.
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight


def _refresh_spectral_norm(layer: nn.Module) -> None:
    # The power-iteration vectors u, v were estimated for the weight before re-initialisation; in eval mode
    # they are never updated, so sigma would be wrong until the first training step. Reading the weight in
    # training mode runs one power iteration per read.
    if not parametrize.is_parametrized(layer, "weight"):
        return
    parametrizations = layer.parametrizations.weight
    was_training = parametrizations.training
    parametrizations.train()
    for _ in range(_SPECTRAL_REFRESH_ITERATIONS):
        _ = layer.weight
    parametrizations.train(was_training)
