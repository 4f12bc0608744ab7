"""restore: undo blur, noise, resizing and JPEG damage.

Self-supervised from clean photos: the condition y is a Real-ESRGAN-style second-order degradation of the
target, made on the training device in :mod:`.degradations`. The cGAN adds an image-gradient loss
(a plugin-supplied loss term) that rewards restoring edges where L1 alone settles for a blur.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor

import img2img
from img2img.errors import ConfigError
from img2img.seeding import make_generator
from img2img.task import COMPACT, AppHints, Control, LossTerm

from .degradations import DegradationConfig, degrade

DAMAGE = ("light", "medium", "heavy")  # what the app's 'degrade it first' offers
# "mixed" draws a severity per image: a restorer trained on damage alone also "restores" a clean photo (round 1
# blurred clean photos to a sharpness ratio of 0.09 (baseline) and 0.62 (cGAN)); this mix teaches it to leave one.
MIX = {"clean": 0.15, "light": 0.35, "medium": 0.5}
SEVERITIES = ("clean", *DAMAGE, "mixed")
SWITCHES = ("blur", "resize", "noise", "jpeg", "second_order", "camera_noise")


def gradient_loss(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
    """L1 between the Sobel gradients of output and target: penalises lost or invented edges."""
    return (kornia.filters.sobel(fake.float()) - kornia.filters.sobel(real.float())).abs().mean()


# The neighbourhood whose darkest and brightest values bound a restored pixel: 5 px lets detail move a pixel or
# two from where the photo has it, and is narrower than the dark-bright pairs of a sharpening ring.
OVERSHOOT_WINDOW = 5


def overshoot_map(fake: Tensor, real: Tensor) -> Tensor:
    """How far each output value lies outside the photo's own range in the OVERSHOOT_WINDOW around it, per
    channel, in [0, 1] units (0 inside the range). A sharpening ring (a dark and a bright line along an edge,
    darker and brighter than either side) and noise on a flat area lie outside it; detail the photo's
    neighbourhood could hold, wherever it is put, does not."""
    pad = OVERSHOOT_WINDOW // 2
    padded = F.pad(real.float(), (pad, pad, pad, pad), mode="replicate")
    high = F.max_pool2d(padded, OVERSHOOT_WINDOW, stride=1)
    low = -F.max_pool2d(-padded, OVERSHOOT_WINDOW, stride=1)
    fake = fake.float()
    return (F.relu(fake - high) + F.relu(low - fake)) / 2  # [-1, 1] -> [0, 1] units


def overshoot(fake: Tensor, real: Tensor) -> Tensor:
    """Eval metric, per image: the mean of :func:`overshoot_map` x 1000 (0 for the photo itself; lower is
    better). A ringing or noise meter that, unlike PSNR, does not charge detail for being in another place."""
    return overshoot_map(fake, real).flatten(1).mean(dim=1) * 1000


def overshoot_loss(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
    """Loss form of :func:`overshoot`: the mean overshoot (off by default; ``--set loss.task_weights.overshoot=W``).
    It leaves a sharpness term free to add detail inside the photo's local range and charges it for rings."""
    return overshoot_map(fake, real).mean()


# task_options.crops -> Task.native_crops (see img2img.task.Task and data.transforms.PairedTransform).
CROPS: dict[str, bool | str] = {"native": True, "rescaled": False, "auto": "auto"}


class RestoreTask(img2img.Task):
    name = "restore"
    description = "Restore damaged photos: blur, noise, low resolution and JPEG artifacts (Real-ESRGAN degradations)."
    in_channels = 3
    out_channels = 3
    default_options = {"severity": "medium", "crops": "rescaled", "clean_share": MIX["clean"], **{s: True for s in SWITCHES}}
    # The shipped model's recipe (weights/configs/restore-*.json add only data, length and bookkeeping), so that
    # ``img2img train --task restore --data DIR`` trains it on a user's photos: the ImageNet EfficientNet-Lite0
    # encoder (it knows what sky, skin and foliage look like, so it does not paint texture over smooth areas) under
    # a residual decoder that starts as the identity; latent FiLM, as instance norm erases a concatenated z. It
    # trains on every damage level ("mixed", the app's and eval's "medium" is one of them) from crops at the
    # photos' own scale where they are large enough ("auto"), a quarter of them undamaged (so a clean photo comes
    # back as it was). The cGAN's losses are those that added detail as a fine-tune of a restorer
    # (docs/experiments.md): L1 x 30 without mode seeking (a restorer should be faithful, not varied), a pixel
    # PatchGAN beside the projected discriminator, the spectral term for detail and the overshoot term against
    # rings; the checkpoint is picked by LPIPS, as KID follows invented texture.
    defaults = {**COMPACT, "generator.encoder": "lite0", "generator.film": True, "generator.residual": True,
                "discriminator.kind": "both", "loss.l1_weight": 30.0,
                "loss.mode_seeking_weight": 0.0, "loss.spectral_weight": 4.0, "loss.task_weights.overshoot": 500.0,
                "val_best": "lpips", "task_options.severity": "mixed", "task_options.crops": "auto",
                "task_options.clean_share": 0.25}
    option_help = {
        "crops": "rescaled: each training photo first shrunk to about the training size, then cropped (pix2pix; "
                 "default); native: crops cut from each photo at its own scale, the scale eval --size 0 meets; "
                 "auto: native for photos more than twice the training size, rescaled for smaller ones (small "
                 "product shots, where a native crop is mostly background)",
        "severity": f"damage to train and evaluate on: {', '.join(SEVERITIES)} (clean: none; mixed: "
                    + ", ".join(f"{share:.0%} {name}" for name, share in MIX.items()) + ", per image)",
        "clean_share": f"mixed: the share of photos left undamaged (default {MIX['clean']:g}; light and medium share "
                       "the rest as 35:50), to teach a restorer harder to leave a clean photo alone",
        "blur": "true/false: blur (Gaussian, generalised Gaussian, plateau and sinc kernels)",
        "resize": "true/false: down- and up-scaling",
        "noise": "true/false: all noise (Gaussian, Poisson and camera)",
        "jpeg": "true/false: JPEG compression",
        "second_order": "true/false: a second pass of all of it (medium and heavy)",
        "camera_noise": "true/false: a phone camera's noise for some photos instead of Gaussian/Poisson noise: "
                        "stronger in the shadows, 1-2 px grain, colour blotches (light, medium and heavy; false: "
                        "the plain Real-ESRGAN noise)",
    }
    app = AppHints(
        input_kind="upload",
        input_label="Damaged photo (or a clean one with 'degrade it first')",
        controls=[
            Control("degrade_first", "Degrade it first (demo the round trip)", "checkbox", False),
            Control("severity", "Degradation severity", "choice", "medium", choices=list(DAMAGE)),
        ],
    )

    @property  # type: ignore[override]
    def native_crops(self) -> bool | str:
        return CROPS[self.options["crops"]]

    def validate_options(self) -> None:
        if self.options["crops"] not in CROPS:
            raise ConfigError(f"restore: task_options.crops must be {', '.join(list(CROPS)[:-1])} or {list(CROPS)[-1]}")
        if self.options["severity"] not in SEVERITIES:
            raise ConfigError(f"restore: task_options.severity must be one of {', '.join(SEVERITIES)}")
        share = self.options["clean_share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ConfigError(f"restore: task_options.clean_share must be a number in [0, 1), got {share!r}")
        for switch in SWITCHES:
            if not isinstance(self.options[switch], bool):
                raise ConfigError(f"restore: task_options.{switch} must be true or false")

    def degradation(self, severity: str | None = None) -> DegradationConfig:
        base = DegradationConfig.for_severity(severity or self.options["severity"])
        # A switch can only turn a stage off; "light" has no second order whatever the option says.
        return replace(base, **{s: getattr(base, s) and self.options[s] for s in SWITCHES})

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        if self.options["severity"] != "mixed":
            return degrade(x, generator, self.degradation())
        draw = torch.rand(x.shape[0], generator=generator, device=generator.device).to(x.device)
        mix = self._mix()
        bounds = torch.tensor(list(mix.values()), device=x.device).cumsum(0)[:-1]
        kind = torch.bucketize(draw, bounds, right=True)  # index into the mix, one per image
        y = x.clone()
        for i, severity in enumerate(mix):
            pick = kind == i
            if severity != "clean" and pick.any():
                y[pick] = degrade(x[pick], generator, self.degradation(severity))
        return y

    def _mix(self) -> dict[str, float]:
        """MIX with the clean share the options name; light and medium keep their ratio."""
        clean = float(self.options["clean_share"])
        rest = (1 - clean) / (1 - MIX["clean"])
        return {name: clean if name == "clean" else share * rest for name, share in MIX.items()}

    def prepare_input(self, image: Tensor, degrade_first: bool = False, severity: str = "medium", seed: int = 0,
                      **_: Any) -> Tensor:
        if not degrade_first:
            return image
        if severity not in DAMAGE:
            raise ConfigError(f"restore: severity must be one of {', '.join(DAMAGE)}; got '{severity}'")
        return degrade(image, make_generator(seed, image.device), self.degradation(severity))

    def examples(self) -> list[Tensor]:
        # Damaged versions of the code-drawn scenes, so clicking an example shows a restoration at once
        # (a clean example would need 'degrade it first'). Fixed seeds: the same damage every time. Without camera
        # noise: the examples stay the pictures they were before it existed, and its grain on a smooth drawn
        # scene adds detail where an example should show detail lost.
        config = replace(self.degradation("medium"), camera_noise=False)
        return [degrade(scene, make_generator(i, scene.device), config) for i, scene in enumerate(super().examples())]

    def loss_terms(self) -> list[LossTerm]:
        # cGAN only: the regression baseline stays a pure MSE model, the E[x|y] estimator it stands for.
        return [LossTerm("gradient", gradient_loss, weight=20.0, models=("cgan",)),
                LossTerm("overshoot", overshoot_loss, weight=0.0, models=("cgan",))]

    def metrics(self) -> dict[str, Any]:
        return {"overshoot": overshoot}


@img2img.hookimpl
def register_tasks(register):
    register(RestoreTask())
