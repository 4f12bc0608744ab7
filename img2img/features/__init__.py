"""Frozen pretrained networks: AlexNet and VGG16 trunks, EfficientNet-Lite0, LPIPS v0.1.

Used by metrics (and losses); they know nothing of tasks or training. Inputs are NCHW in [-1, 1] with 1 or
3 channels, on any device, and are computed in float32 even under autocast. The weights come from two
optional packages (see :mod:`.weights`); without them every constructor raises
:class:`~img2img.errors.MissingPackageError` whose message is the install command.
"""

from .efficientnet import INPUT_SIZE as LITE0_INPUT_SIZE
from .efficientnet import POOLED_DIM as LITE0_POOLED_DIM
from .efficientnet import EfficientNetLite0, efficientnet_lite0
from .frozen import FrozenNetwork
from .lpips import LPIPS, lpips
from .trunks import ConvTrunk, alexnet, vgg16
from .weights import INSTALL_COMMAND, install_hint, perceptual_available

__all__ = [
    "INSTALL_COMMAND",
    "LITE0_INPUT_SIZE",
    "LITE0_POOLED_DIM",
    "LPIPS",
    "ConvTrunk",
    "EfficientNetLite0",
    "FrozenNetwork",
    "alexnet",
    "efficientnet_lite0",
    "install_hint",
    "lpips",
    "perceptual_available",
]
