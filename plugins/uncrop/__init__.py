"""uncrop: extend a photo beyond its borders (outpainting).

Condition y = the image with the unknown region filled (RGB) + the mask (1 = to fill) as a 4th channel. With
``fill=edge`` (the default) each row and column of the unknown region carries the softened colour at the border,
so the generator starts from a guess of what continues (a horizon, a shore, a sky band); ``fill=mirror`` carries
the known pixels mirrored across the border (the same bands, plus a mirrored copy of whatever stands there);
``fill=grey`` leaves the region blank.
Training masks mix Palette's one-side-50% masks (Saharia et al. 2022) with LaMa-style outpainting bands
(each side with p=0.5, 4-25% wide, at least one side). The output keeps the known pixels (``compose``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import img2img
from img2img.data.transforms import JITTER_RATIO
from img2img.errors import ConfigError
from img2img.filters import gaussian_blur
from img2img.task import COMPACT, AppHints, Control

SIDES = {
    "right": ("right",),
    "left": ("left",),
    "top": ("top",),
    "bottom": ("bottom",),
    "left+right": ("left", "right"),
    "top+bottom": ("top", "bottom"),
    "all": ("left", "right", "top", "bottom"),
}
_SIDE_ORDER = ("left", "right", "top", "bottom")
MASK_KINDS = ("mixed", "palette", "bands")


def outpaint_masks(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    kind: str = "mixed",
    band_range: tuple[float, float] = (0.04, 0.25),
    band_prob: float = 0.5,
) -> Tensor:
    """Random outpainting masks (n,1,H,W), 1 = unknown. Vectorised: one comparison per side."""
    device = generator.device
    # Band widths per side (n, 4) for LaMa-style masks; redraw an all-zero row by forcing one side on.
    chosen = torch.rand(n, 4, generator=generator, device=device) < band_prob
    forced = torch.randint(0, 4, (n,), generator=generator, device=device)
    none = ~chosen.any(dim=1)
    chosen[none, forced[none]] = True
    low, high = band_range
    widths = low + (high - low) * torch.rand(n, 4, generator=generator, device=device)
    bands = widths * chosen
    # Palette-style: exactly one side, half the image.
    palette = F.one_hot(torch.randint(0, 4, (n,), generator=generator, device=device), 4).float() * 0.5
    use_palette = torch.rand(n, generator=generator, device=device) < 0.5
    if kind == "palette":
        use_palette[:] = True
    elif kind == "bands":
        use_palette[:] = False
    widths = torch.where(use_palette[:, None], palette, bands)
    return _masks_from_widths(widths, height, width)


def _masks_from_widths(widths: Tensor, height: int, width: int) -> Tensor:
    """widths (n,4) as fractions of (left, right, top, bottom) -> masks (n,1,H,W)."""
    device = widths.device
    xs = (torch.arange(width, device=device) + 0.5) / width
    ys = (torch.arange(height, device=device) + 0.5) / height
    left = xs[None, :] < widths[:, 0:1]
    right = xs[None, :] > 1 - widths[:, 1:2]
    top = ys[None, :] < widths[:, 2:3]
    bottom = ys[None, :] > 1 - widths[:, 3:4]
    mask = (left | right)[:, None, :] | (top | bottom)[:, :, None]
    return mask[:, None].float()


def masked_condition(x: Tensor, mask: Tensor, fill: str = "grey") -> Tensor:
    """Blank the unknown region (0 = mid grey in [-1, 1]; ``fill="mirror"``: the known pixels mirrored into it,
    :func:`mirror_fill`; ``fill="edge"``: the border's softened colour carried outward, :func:`edge_fill`) and
    append the mask channel."""
    known = x * (1 - mask)
    if FILLS[fill] is not None:
        known = known + FILLS[fill](x, mask) * mask
    return torch.cat([known, mask], dim=1)


def _known_span(known: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Positions (L,) along one axis and, per image (``known`` (N,L): which positions hold a known pixel), the
    known span's [start, stop) as (N,1); an image with nothing known spans the whole axis."""
    size = known.shape[1]
    position = torch.arange(size, device=known.device)
    some = known.any(dim=1, keepdim=True)
    start = torch.where(known, position, size).amin(dim=1, keepdim=True)
    stop = torch.where(known, position, -1).amax(dim=1, keepdim=True) + 1
    return position, torch.where(some, start, 0), torch.where(some, stop, size)


def _symmetric_index(known: Tensor) -> Tensor:
    """For each image's positions along one axis (``known`` (N,L)), the position inside its known span that
    mirrors it (the edge pixel repeated, as numpy's 'symmetric' padding), reflecting back and forth when the
    outside is wider. An image with nothing known maps each position to itself."""
    position, start, stop = _known_span(known)
    n = stop - start
    offset = torch.remainder(position - start, 2 * n)
    return start + torch.where(offset < n, offset, 2 * n - 1 - offset)


def _gather_rows_cols(x: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """x (N,C,H,W) read at row indices (N,H) and column indices (N,W): one gather per axis for the batch."""
    n, c, h, w = x.shape
    out = x.gather(2, rows[:, None, :, None].expand(n, c, h, w))
    return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def mirror_fill(x: Tensor, mask: Tensor) -> Tensor:
    """The image (N,C,H,W) with every pixel outside its known rectangle (the rows and columns where ``mask``
    (N,1,H,W) has a 0) replaced by the known pixel mirrored across the rectangle's nearest border: a horizon
    or a shore meets itself at the border, and the fill has the photo's own colours and grain. An image with
    no known pixel is returned as it is. Outpainting masks (``outpaint_masks``, ``prepare_input``) leave a
    known rectangle; inside it nothing is changed. One gather per axis for the whole batch (no host sync)."""
    known = mask[:, 0] < 0.5
    return _gather_rows_cols(x, _symmetric_index(known.any(dim=2)), _symmetric_index(known.any(dim=1)))


def edge_fill(x: Tensor, mask: Tensor) -> Tensor:
    """The image (N,C,H,W) with every pixel outside its known rectangle replaced by the nearest pixel on the
    rectangle's border, read from the known pixels blurred (a Gaussian of 1/32 of the shorter side, the unknown
    region left out of it): each row and column of the fill carries the colour beside it, so a horizon or a
    sky band continues at its height, while an object at the border leaves only a soft band of its colour, not
    a mirrored copy (:func:`mirror_fill`'s ghost). An image with no known pixel comes back mid grey."""
    known = mask[:, 0] < 0.5
    weight = (1 - mask).to(x.dtype)
    # The blur runs with the shorter side at most 128 px (area-averaged down, bilinear back up): the same
    # smooth colours, in milliseconds on a photo of any size.
    factor = max(1, min(x.shape[2:]) // 128)
    small_x, small_w = x * weight, weight
    if factor > 1:
        small_x, small_w = F.avg_pool2d(small_x, factor, ceil_mode=True), F.avg_pool2d(small_w, factor, ceil_mode=True)
    sigma = max(1.0, min(small_x.shape[2:]) / 32)
    smooth = gaussian_blur(small_x, sigma, "replicate") / gaussian_blur(small_w, sigma, "replicate").clamp(min=1e-3)
    if factor > 1:
        smooth = F.interpolate(smooth, size=x.shape[2:], mode="bilinear", align_corners=False)
    position, start, stop = _known_span(known.any(dim=2))
    rows = position.clamp(start, stop - 1)
    position, start, stop = _known_span(known.any(dim=1))
    return _gather_rows_cols(smooth, rows, position.clamp(start, stop - 1))


# What the unknown region starts as (task option ``fill``): grey leaves the blank.
FILLS = {"grey": None, "mirror": mirror_fill, "edge": edge_fill}
FILL_KINDS = tuple(FILLS)


class UncropTask(img2img.Task):
    name = "uncrop"
    description = "Extend a photo beyond its borders (outpainting): the model paints what lies outside the frame."
    in_channels = 4
    out_channels = 3
    default_options = {"mask": "mixed", "band_min": 0.04, "band_max": 0.25, "zoom": 1.0, "fill": "edge"}
    legacy_options = {"fill": "grey"}  # models trained before ``fill`` existed filled with grey
    # The shipped model's recipe (weights/configs/uncrop-*.json add only data, length and bookkeeping), so that
    # ``img2img train --task uncrop --data DIR`` trains it on a user's photos. A fill needs context from across the
    # picture: four Fourier context blocks (LaMa's FFC) at the bottleneck see all of it in one layer; noise inputs
    # give the cGAN's fill texture somewhere to come from. The regression baseline builds the same generator
    # without its latent paths (nz 0, no noise inputs).
    defaults = {**COMPACT, "generator.context_blocks": 4, "generator.context_kind": "fourier",
                "generator.noise": True}
    option_help = {
        "mask": f"masks to train and evaluate on: {', '.join(MASK_KINDS)} (palette: one side extended by 50%; "
                "bands: thin bands on one or more sides; mixed: either, per image)",
        "band_min": "narrowest band, as a fraction of the side (0-0.5)",
        "band_max": "widest band, as a fraction of the side (0-0.5)",
        "fill": f"what the unknown region starts as: {', '.join(FILL_KINDS)} (mirror: the known pixels mirrored "
                "across its border; edge: the softened colour at the border carried outward along each row and "
                "column); a model keeps the fill it was trained with",
        "zoom": "training crops: 1 = pix2pix's jitter (each photo shrunk to about the training size); Z > 1 = a "
                "random square of 1/Z to all of the photo's shorter side, resized (scale augmentation)",
    }
    # The fill needs context from across the picture, which the generator only learned to gather at the
    # training scale: far above it the fills turn into streaks (seen by eye at 3.75x). The training crops are cut
    # after a photo's shorter side is shrunk to JITTER_RATIO x the training size, so the generator paints the
    # canvas with its shorter side at that scale (321 x 143 px for a 721 x 321 canvas) and its fill is upscaled;
    # the known pixels stay full-resolution. Bounding the longest side instead painted a photo extended by half
    # as a 128 x 57 thumbnail: coarse blocks, and on 50 BSDS500 validation photos extended by 50% the fill's
    # LPIPS 0.90 and FD-Lite0 74.7, against 0.82 and 70.5 at the shorter side.
    work_scale = JITTER_RATIO
    work_side = "shortest"
    # Upscaled 2-4x, that fill alone is far softer than the photo (sharpness 0.03 of the true pixels') and shows
    # its blocks; painted at full resolution alone it is a uniform grain that forgets the layout (FD-Lite0 86.4).
    # A second pass at full resolution gives the upscaled fill its high frequencies: on the same 50 photos fill
    # LPIPS 0.82 -> 0.66 and sharpness 0.03 -> 0.31, FD 70.5 -> 75.5 (docs/experiments.md).
    work_detail = True
    app = AppHints(
        input_kind="upload",
        input_label="Photo to extend",
        controls=[
            Control("sides", "Extend which side(s)", "choice", "right", choices=list(SIDES)),
            Control("amount", "How much (fraction of the photo per side)", "slider", 0.25, minimum=0.05, maximum=0.5, step=0.05),
        ],
    )

    @property  # type: ignore[override]
    def train_zoom(self) -> float:
        return float(self.options["zoom"])

    def validate_options(self) -> None:
        for name in ("zoom", "band_min", "band_max"):
            try:
                float(self.options[name])
            except (TypeError, ValueError):
                raise ConfigError(f"uncrop: task_options.{name} must be a number, got {self.options[name]!r}") from None
        if not float(self.options["zoom"]) >= 1.0:
            raise ConfigError(f"uncrop: task_options.zoom must be >= 1 (1 = no zoom), got {self.options['zoom']}")
        if self.options["mask"] not in MASK_KINDS:
            raise ConfigError(f"uncrop: task_options.mask must be one of {', '.join(MASK_KINDS)}")
        if self.options["fill"] not in FILL_KINDS:
            raise ConfigError(f"uncrop: task_options.fill must be one of {', '.join(FILL_KINDS)}")
        if not 0.0 < float(self.options["band_min"]) <= float(self.options["band_max"]) < 0.5:
            raise ConfigError("uncrop: need 0 < band_min <= band_max < 0.5")

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        band = (float(self.options["band_min"]), float(self.options["band_max"]))
        mask = outpaint_masks(x.shape[0], x.shape[2], x.shape[3], generator, self.options["mask"], band)
        return masked_condition(x, mask.to(x.device, x.dtype), self.options["fill"])

    def prepare_input(self, image: Tensor, sides: str = "right", amount: float = 0.25, **_: Any) -> Tensor:
        """Grow the canvas on the chosen sides by ``amount`` of the photo's size and mark the new area."""
        if sides not in SIDES:
            raise ConfigError(f"uncrop: sides must be one of {', '.join(SIDES)}; got '{sides}'")
        amount = float(amount)
        if not 0.0 < amount <= 1.0:
            raise ConfigError(f"uncrop: amount must be in (0, 1], got {amount}")
        _, _, h, w = image.shape
        grow = {side: round((h if side in ("top", "bottom") else w) * amount) if side in SIDES[sides] else 0
                for side in _SIDE_ORDER}
        canvas = F.pad(image, (grow["left"], grow["right"], grow["top"], grow["bottom"]), value=0.0)
        mask = torch.ones_like(canvas[:, :1])
        mask[:, :, grow["top"] : grow["top"] + h, grow["left"] : grow["left"] + w] = 0
        # Left grey: generator_input fills the unknown region the model's way, once, at the size it runs at.
        return masked_condition(canvas, mask)

    def resize_condition(self, y: Tensor, size: tuple[int, int]) -> Tensor:
        # A pixel that is even partly unknown at the new size counts as unknown: the mask stays binary, as in
        # training, and no blanked grey (or mirrored fill) bleeds into the known pixels the generator sees; the
        # unknown region is filled again from the known pixels at the new size.
        small = super().resize_condition(y, size)
        return masked_condition(small[:, :3], (small[:, 3:4] > 1e-3).to(y.dtype), self.options["fill"])

    def generator_input(self, y: Tensor) -> Tensor:
        # The same known pixels and mask, the unknown region filled as this model was trained (fill).
        return masked_condition(y[:, :3], y[:, 3:4], self.options["fill"])

    def compose(self, output: Tensor, y: Tensor) -> Tensor:
        mask = y[:, 3:4]
        return y[:, :3] * (1 - mask) + output * mask

    def condition_preview(self, y: Tensor) -> Tensor:
        # Show the unknown region as a light checkerboard so it reads as "empty", not as grey paint.
        mask = y[:, 3:4]
        h, w = y.shape[2:]
        yy, xx = torch.meshgrid(torch.arange(h, device=y.device), torch.arange(w, device=y.device), indexing="ij")
        checker = (((yy // 8) + (xx // 8)) % 2).to(y.dtype) * 0.3 + 0.5
        return y[:, :3] * (1 - mask) + checker * mask

    def metrics(self) -> dict[str, Any]:
        return {"fill_psnr": fill_psnr, "fill_lattice": fill_lattice}


def fill_psnr(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
    """PSNR in dB (higher is better) over the generated band only, read from y's mask channel: the copied
    photo, identical in every output, would otherwise dominate the whole-image PSNR. Capped at 100 dB."""
    mask = y[:, 3:4].to(fake.dtype)
    squared = ((fake - real) / 2).pow(2) * mask  # [-1, 1] -> errors measured in [0, 1]
    pixels = (mask.flatten(1).sum(dim=1) * fake.shape[1]).clamp(min=1.0)
    mse = squared.flatten(1).sum(dim=1) / pixels
    return (-10.0 * torch.log10(mse.clamp(min=1e-10))).clamp(max=100.0)


# The period of a lattice a strided generator paints into a flat region: its coarse features' stride (16 px at
# 128 px in round 3's one-side fills; a period of 8 repeats at 16 too).
LATTICE_PERIOD = 16


def fill_lattice(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
    """How much more the fill repeats itself every LATTICE_PERIOD pixels than the photo does there (0 = as
    much as the photo; a lattice of spots or a plaid scores up to 1). The correlation, over pixel pairs that
    are both in the fill, of the fine detail (luma minus its 5x5 mean) with itself shifted by the period,
    across and down, averaged; the real photo's own correlation in the same region is subtracted."""
    mask = y[:, 3:4].to(fake.dtype)
    return _lattice_correlation(fake, mask) - _lattice_correlation(real.to(fake.dtype), mask)


def _lattice_correlation(image: Tensor, mask: Tensor) -> Tensor:
    luma = image.mean(dim=1, keepdim=True)
    detail = luma - F.avg_pool2d(F.pad(luma, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    p, scores = LATTICE_PERIOD, []
    for a, b, ma, mb in ((detail[..., :, :-p], detail[..., :, p:], mask[..., :, :-p], mask[..., :, p:]),
                         (detail[..., :-p, :], detail[..., p:, :], mask[..., :-p, :], mask[..., p:, :])):
        both = ma * mb
        a, b = a * both, b * both
        dot = (a * b).flatten(1).sum(1)
        norm = (a.pow(2).flatten(1).sum(1) * b.pow(2).flatten(1).sum(1)).sqrt().clamp(min=1e-8)
        scores.append(dot / norm)
    return (scores[0] + scores[1]) / 2


@img2img.hookimpl
def register_tasks(register):
    register(UncropTask())
