"""colorize: an img2img task plugin that colours black-and-white photos.

Self-supervised: any folder of colour photos (or img2img's embedded procedural scenes) is training data; the
condition is the photo's luminance, so no pairs are needed. A colour image has many plausible colourings for
one grey image, which is exactly where the cGAN's samples beat the regression baseline's brownish average.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import img2img
from img2img.errors import ConfigError
from img2img.task import MetricFn

__version__ = "0.1.0"

# Luma weights of R, G, B: ITU-R BT.601 (JPEG, most scanned photos) and BT.709 (HD video, sRGB).
LUMA = {"rec601": (0.299, 0.587, 0.114), "rec709": (0.2126, 0.7152, 0.0722)}


def luminance(rgb: Tensor, standard: str = "rec601") -> Tensor:
    """Grey version (N,1,H,W) of an RGB batch (N,3,H,W); [-1, 1] in, [-1, 1] out."""
    weights = torch.tensor(LUMA[standard], dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def chroma(rgb: Tensor, standard: str = "rec601") -> Tensor:
    """The colour left once the luminance is taken out (N,3,H,W); zero for a grey image."""
    return rgb - luminance(rgb, standard)


class ColorizeTask(img2img.Task):
    """Grey (1 channel) in, colour (3 channels) out."""

    name = "colorize"
    description = "Colour a black-and-white photo; trains on any folder of colour photos."
    in_channels = 1
    out_channels = 3
    paired = False
    default_options = {"luma": "rec601", "luma_weight": 10.0}
    option_help = {"luma": f"how grey is made from colour: {', '.join(LUMA)}",
                   "luma_weight": "weight of the loss keeping the output's grey equal to the input (>= 0)"}
    app = img2img.AppHints(input_kind="upload", input_label="Black-and-white photo")

    def validate_options(self) -> None:
        if self.options["luma"] not in LUMA:
            raise ConfigError(f"colorize: task_options.luma must be one of {', '.join(LUMA)}")
        if float(self.options["luma_weight"]) < 0:
            raise ConfigError("colorize: task_options.luma_weight must be >= 0")

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        # Deterministic: the grey image is fully fixed by the photo, so `generator` is not needed here.
        return luminance(x, self.options["luma"])

    def prepare_input(self, image: Tensor, **controls: Any) -> Tensor:
        # A "black-and-white" upload is usually stored as RGB (or has a sepia tint): reduce it to luma.
        return luminance(image, self.options["luma"])

    def loss_terms(self) -> list[img2img.LossTerm]:
        # The output's own luminance should be the input: colour is all the model may add. The regression
        # baseline gets it too, so the two models stay comparable.
        def keep_luma(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
            return (luminance(fake, self.options["luma"]) - y).abs().mean()

        return [img2img.LossTerm("luma", keep_luma, weight=float(self.options["luma_weight"]),
                                 models=("cgan", "regression"))]

    def metrics(self) -> dict[str, MetricFn]:
        def chroma_l1(fake: Tensor, real: Tensor) -> Tensor:
            # Lower is better: how far the added colour is from the photo's, per image.
            return (chroma(fake) - chroma(real)).abs().mean(dim=(1, 2, 3))

        def colourfulness(fake: Tensor, real: Tensor) -> Tensor:
            # Higher means more saturated output; a regression model's is typically low (grey-brown).
            return chroma(fake).std(dim=(1, 2, 3))

        return {"chroma_l1": chroma_l1, "colourfulness": colourfulness}

    def examples(self) -> list[Tensor]:
        # The app shows examples as the user's input: black-and-white photos, as 3-channel images.
        return [luminance(image, self.options["luma"]).expand(-1, 3, -1, -1) for image in super().examples()]


@img2img.hookimpl
def register_tasks(register):
    register(ColorizeTask())
