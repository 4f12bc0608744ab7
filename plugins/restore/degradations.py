"""Real-ESRGAN-style second-order degradation model for the ``restore`` task.

The ``restore`` task is self-supervised: the clean image is the target and a
synthetically degraded copy is the input.  This module produces that copy with
the "high-order" degradation of Real-ESRGAN (Wang et al., ICCVW 2021): the
classic chain *blur -> resize -> noise -> JPEG* is applied twice, and the
second pass ends with a 2-D sinc filter that imitates ringing and overshoot.

Everything runs on tensors, batched, on the input's device, and every image of
a batch draws its own parameters.  All randomness comes from the
``torch.Generator`` passed to :func:`degrade`, so the same seed always gives
the same degradations and the global RNG is never touched.

Differences from the reference implementation, and why:

* Real-ESRGAN trains super-resolution, so its output is smaller than its
  input.  Restoration keeps the size, so each pass resizes back to the input
  size at its end; the second-pass blur therefore acts at full resolution
  rather than at the first pass's intermediate size.
* Parameters that Real-ESRGAN draws once per batch (resize scale and
  interpolation mode) are drawn per image here; the images are resized one by
  one and packed into a common canvas so that noise and JPEG stay batched.
* Poisson noise uses a fixed 256 photon levels: the reference counts unique
  values per image, which comes out as 256 for 8-bit pictures anyway and would
  cost a sort per image.
* The final 8-bit rounding is left out, so that a configuration with every
  stage switched off is an exact identity.
* A "camera" noise model that Real-ESRGAN lacks (:func:`camera_noise`): a
  phone photo's noise is signal-dependent (shot plus read noise), grainy
  rather than per-pixel (demosaicing spreads it over 1-2 px) and splits into
  fine luma grain and blotchy chroma (the colour matrix mixes the channels,
  and cameras smooth chroma harder than luma).  With ``camera_noise_prob``
  an image gets it instead of the stage's Gaussian/Poisson noise.  Its draws
  come after every other draw of the stage, and none is made when the
  probability is 0, so a configuration without it gives the same pixels as
  before it existed.

The code is in three modules, each readable on its own:

* this one: the configuration (:class:`DegradationStage`, :class:`DegradationConfig`
  and their presets), resizing, JPEG, and the pipeline (:func:`degrade`);
* :mod:`.kernels`: the random blur and sinc kernels, :func:`filter_per_image`,
  and the per-image random draws every module shares;
* :mod:`.noise`: the Gaussian/Poisson noise and :func:`camera_noise`.

The arrows go one way (``degradations`` imports ``noise`` and ``kernels``,
``noise`` imports ``kernels``), and every public name is re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from kornia.enhance import jpeg_codec_differentiable
from torch import Tensor

from .kernels import (
    KERNEL_TYPES,
    _bernoulli,
    _choice,
    _identity_kernels,
    _uniform,
    filter_per_image,
    gaussian_kernels,
    generalized_gaussian_kernels,
    plateau_kernels,
    random_blur_kernels,
    random_sinc_kernels,
    sinc_kernels,
)
from .noise import _add_noise, _camera_params, camera_noise

__all__ = [
    "KERNEL_TYPES",
    "RESIZE_MODES",
    "DegradationStage",
    "DegradationConfig",
    "gaussian_kernels",
    "generalized_gaussian_kernels",
    "plateau_kernels",
    "sinc_kernels",
    "random_blur_kernels",
    "random_sinc_kernels",
    "filter_per_image",
    "camera_noise",
    "degrade",
]

RESIZE_MODES: tuple[str, ...] = ("area", "bilinear", "bicubic")


def _check_range(name: str, lo_hi: tuple[float, float]) -> None:
    if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1]:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {lo_hi}")


def _check_probs(name: str, probs: tuple[float, ...], count: int) -> None:
    if len(probs) != count or any(p < 0 for p in probs) or abs(sum(probs) - 1.0) > 1e-6:
        raise ValueError(f"{name} must be {count} non-negative numbers summing to 1, got {probs}")


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


@dataclass(frozen=True)
class DegradationStage:
    """Ranges and probabilities of one blur -> resize -> noise -> JPEG pass.

    The defaults are Real-ESRGAN's published first-order settings (camera
    noise off: Real-ESRGAN has none).  Noise sigmas are in 8-bit levels
    (0..255) as in the paper; scales are relative to the input size.

    Camera noise (see :func:`camera_noise`), per image with
    ``camera_noise_prob`` and then instead of the Gaussian/Poisson noise:
    ``camera_shot`` is the shot-noise gain (variance per unit of linear
    signal), drawn log-uniformly; the read noise follows it by Brooks et al.'s
    fit.  ``camera_chroma`` is the chroma noise's strength relative to the
    luma noise's, ``camera_grain`` and ``camera_chroma_grain`` the Gaussian
    sigmas in pixels that make luma grain and chroma blotches.
    """

    blur_prob: float = 1.0
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    kernel_sizes: tuple[int, int] = (7, 21)
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)
    sinc_prob: float = 0.1
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_quality: tuple[float, float] = (30.0, 95.0)
    camera_noise_prob: float = 0.0
    camera_shot: tuple[float, float] = (2e-4, 5e-3)
    camera_chroma: tuple[float, float] = (0.15, 0.6)
    camera_grain: tuple[float, float] = (0.4, 0.8)
    camera_chroma_grain: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self) -> None:
        _check_probs("kernel_probs", self.kernel_probs, len(KERNEL_TYPES))
        _check_probs("resize_probs", self.resize_probs, 3)
        for name in ("blur_prob", "sinc_prob", "gaussian_noise_prob", "gray_noise_prob", "camera_noise_prob"):
            _check_prob(name, getattr(self, name))
        for name in (
            "blur_sigma",
            "betag_range",
            "betap_range",
            "resize_range",
            "noise_sigma",
            "poisson_scale",
            "jpeg_quality",
            "camera_shot",
            "camera_chroma",
            "camera_grain",
            "camera_chroma_grain",
        ):
            _check_range(name, getattr(self, name))
        if self.camera_shot[0] <= 0 or self.camera_grain[0] <= 0 or self.camera_chroma_grain[0] <= 0:
            raise ValueError("camera_shot, camera_grain and camera_chroma_grain must be positive")
        if self.camera_chroma[0] < 0:
            raise ValueError(f"camera_chroma must be non-negative, got {self.camera_chroma}")
        lo, hi = self.kernel_sizes
        if lo % 2 == 0 or hi % 2 == 0 or not 3 <= lo <= hi:
            raise ValueError(f"kernel_sizes must be odd (low, high) with 3 <= low <= high, got {self.kernel_sizes}")
        if self.blur_sigma[0] <= 0:
            raise ValueError("blur_sigma must be positive")
        if self.resize_range[0] <= 0 or not self.resize_range[0] <= 1.0 <= self.resize_range[1]:
            raise ValueError(f"resize_range must contain 1 and be positive, got {self.resize_range}")
        if self.jpeg_quality[0] < 0.0 or self.jpeg_quality[1] > 100.0:
            raise ValueError(f"jpeg_quality must lie in [0, 100], got {self.jpeg_quality}")


def _second_stage_defaults() -> DegradationStage:
    # Real-ESRGAN's published second-order settings.
    return DegradationStage(
        blur_prob=0.8,
        blur_sigma=(0.2, 1.5),
        resize_probs=(0.3, 0.4, 0.3),
        resize_range=(0.3, 1.2),
        noise_sigma=(1.0, 25.0),
        poisson_scale=(0.05, 2.5),
    )


@dataclass(frozen=True)
class DegradationConfig:
    """The whole second-order degradation: two stages, the final sinc, and switches.

    The switches turn a kind of degradation off in every stage at once: ``blur``
    also covers the sinc filters, ``resize`` keeps the working size equal to the
    input size, ``noise`` covers every kind of noise, ``camera_noise`` only the
    camera model (those images then get the stage's Gaussian/Poisson noise),
    and ``second_order`` drops the second pass including its final sinc filter.
    """

    first: DegradationStage = field(default_factory=DegradationStage)
    second: DegradationStage = field(default_factory=_second_stage_defaults)
    final_sinc_prob: float = 0.8
    final_sinc_sizes: tuple[int, int] = (7, 21)
    final_sinc_omega: tuple[float, float] = (math.pi / 3, math.pi)
    blur: bool = True
    resize: bool = True
    noise: bool = True
    jpeg: bool = True
    second_order: bool = True
    camera_noise: bool = True

    def __post_init__(self) -> None:
        _check_prob("final_sinc_prob", self.final_sinc_prob)
        _check_range("final_sinc_omega", self.final_sinc_omega)
        lo, hi = self.final_sinc_sizes
        if lo % 2 == 0 or hi % 2 == 0 or not 3 <= lo <= hi:
            raise ValueError(f"final_sinc_sizes must be odd with 3 <= low <= high, got {self.final_sinc_sizes}")

    @classmethod
    def for_severity(cls, severity: str) -> DegradationConfig:
        """Preset for ``"clean"`` (no damage at all), ``"light"``, ``"medium"`` (Real-ESRGAN defaults plus camera
        noise) or ``"heavy"``.

        Camera noise goes into the first pass only: it is made once, when the photo is taken; later passes
        stand for re-uploads.  Its ranges, as sRGB noise at mid grey (linear 0.18, where one unit of shot gain
        1e-3 gives about 4 levels of standard deviation before the grain blur):
        Brooks et al. ("Unprocessing Images for Learned Raw Denoising", CVPR 2019) draw raw shot gains
        log-uniformly in [1e-4, 1.2e-2], daylight to high-ISO raw files.  A phone's JPEG has been denoised, so
        the presets sit lower: light [1e-4, 1.5e-3] (daylight, about 1-5 levels), medium [2e-4, 5e-3] (up to
        indoor light, 2-9 levels), heavy [5e-4, 1.2e-2] (Brooks' top: night shots, 4-14 levels, in the range
        of the Gaussian sigmas Real-ESRGAN and BSRGAN draw).  Chroma relative to luma: phones suppress chroma
        noise hardest: light 0.1-0.4, medium 0.15-0.6, and only heavy lets the blotches reach the luma grain's
        strength (a contact sheet with chroma as strong as luma at medium showed colour confetti no phone makes).  Probabilities: light 0.3, medium 0.5, heavy 0.5, so that Real-ESRGAN's i.i.d. noise still
        trains the restorer on the other half (scans, screenshots, old uploads).
        """
        if severity == "medium":
            return cls(first=DegradationStage(camera_noise_prob=0.5))
        if severity == "clean":
            # Every switch off: the identity, so a restorer can be measured (and trained) on undamaged photos.
            return cls(blur=False, resize=False, noise=False, jpeg=False, second_order=False)
        if severity == "light":
            # A mild first-order chain: the kind of damage a single re-upload does.
            return cls(
                first=DegradationStage(
                    blur_sigma=(0.2, 1.5),
                    resize_probs=(0.2, 0.6, 0.2),
                    resize_range=(0.5, 1.2),
                    noise_sigma=(1.0, 10.0),
                    poisson_scale=(0.05, 1.0),
                    jpeg_quality=(60.0, 95.0),
                    camera_noise_prob=0.3,
                    camera_shot=(1e-4, 1.5e-3),
                    camera_chroma=(0.1, 0.4),
                ),
                second_order=False,
            )
        if severity == "heavy":
            return cls(
                first=DegradationStage(
                    blur_sigma=(0.2, 4.0),
                    sinc_prob=0.15,
                    resize_probs=(0.1, 0.8, 0.1),
                    resize_range=(0.1, 1.5),
                    noise_sigma=(1.0, 40.0),
                    poisson_scale=(0.05, 4.0),
                    jpeg_quality=(15.0, 90.0),
                    camera_noise_prob=0.5,
                    camera_shot=(5e-4, 1.2e-2),
                    camera_chroma=(0.25, 1.0),
                    camera_chroma_grain=(1.0, 3.0),
                ),
                second=DegradationStage(
                    blur_prob=0.9,
                    blur_sigma=(0.2, 2.0),
                    sinc_prob=0.15,
                    resize_probs=(0.2, 0.6, 0.2),
                    resize_range=(0.2, 1.2),
                    noise_sigma=(1.0, 35.0),
                    poisson_scale=(0.05, 3.5),
                    jpeg_quality=(15.0, 90.0),
                ),
                final_sinc_prob=0.9,
            )
        raise ValueError(f"unknown severity {severity!r}; expected 'clean', 'light', 'medium' or 'heavy'")


# --------------------------------------------------------------------------- resize


def _resize_one(img: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    if tuple(img.shape[-2:]) == size:
        return img
    if mode == "area":
        return F.interpolate(img, size=size, mode="area")
    return F.interpolate(img, size=size, mode=mode, align_corners=False)


def _sample_scales(n: int, stage: DegradationStage, generator: torch.Generator) -> Tensor:
    direction = _choice(n, stage.resize_probs, generator)  # 0 up, 1 down, 2 keep
    up = _uniform(n, (1.0, stage.resize_range[1]), generator)
    down = _uniform(n, (stage.resize_range[0], 1.0), generator)
    return torch.where(direction == 0, up, torch.where(direction == 1, down, torch.ones_like(up)))


def _pack(images: list[Tensor]) -> Tensor:
    """Stack differently sized (1, C, h, w) images into a replicate-padded (N, C, Hmax, Wmax) canvas.

    Padding at the bottom/right keeps every image's top-left at the origin, so
    JPEG's 8x8 block grid lines up with each image exactly as if it were coded
    on its own.
    """
    hmax = max(i.shape[-2] for i in images)
    wmax = max(i.shape[-1] for i in images)
    return torch.cat(
        [F.pad(i, (0, wmax - i.shape[-1], 0, hmax - i.shape[-2]), mode="replicate") for i in images]
    )


# --------------------------------------------------------------------------- JPEG


def _jpeg(x: Tensor, quality: Tensor) -> Tensor:
    # kornia 0.9 pads to the 16-pixel MCU internally and crops back, so any size works.
    return jpeg_codec_differentiable(x.clamp(0, 1), quality.to(x.dtype))


def _jpeg_subset(x: Tensor, quality: Tensor, selected: Tensor) -> Tensor:
    idx = selected.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    if idx.numel() == x.shape[0]:
        return _jpeg(x, quality)
    return x.index_copy(0, idx, _jpeg(x[idx], quality[idx]))


# --------------------------------------------------------------------------- pipeline


def _stage(
    x: Tensor,
    stage: DegradationStage,
    config: DegradationConfig,
    generator: torch.Generator,
    final: bool,
) -> Tensor:
    """One blur -> resize -> noise -> JPEG pass in [0, 1], ending back at the input size."""
    n, _, h, w = x.shape
    device = x.device

    if config.blur:
        kernels = random_blur_kernels(n, generator, stage)
        if stage.blur_prob < 1.0:
            skip = ~_bernoulli(n, stage.blur_prob, generator)
            kernels = torch.where(skip[:, None, None], _identity_kernels(n, kernels.shape[-1], device), kernels)
        x = filter_per_image(x, kernels)

    if config.resize:
        scales = _sample_scales(n, stage, generator).tolist()
        modes_down = _choice(n, (1 / 3, 1 / 3, 1 / 3), generator).tolist()
        modes_up = _choice(n, (1 / 3, 1 / 3, 1 / 3), generator).tolist()
        sizes = [(max(1, int(h * s)), max(1, int(w * s))) for s in scales]
        small = [_resize_one(x[i : i + 1], sizes[i], RESIZE_MODES[modes_down[i]]) for i in range(n)]
        x = _pack(small)
    else:
        sizes = [(h, w)] * n

    clean = x
    if config.noise:
        x = _add_noise(x, stage, generator)

    quality = _uniform(n, stage.jpeg_quality, generator)
    # Real-ESRGAN's last pass randomly orders (resize back + sinc) and JPEG,
    # so either sinc ringing gets JPEG-coded or JPEG blocks get sinc-filtered.
    if final:
        jpeg_first = _bernoulli(n, 0.5, generator)
    else:
        jpeg_first = torch.ones(n, dtype=torch.bool, device=device)
    # The final sinc's draws are made here rather than where it is applied: JPEG and resizing draw
    # nothing, so the stream is unchanged, and the camera noise's draws below come after all of them.
    if final and config.blur:
        sinc = random_sinc_kernels(n, generator, config.final_sinc_sizes, config.final_sinc_omega)
        skip = ~_bernoulli(n, config.final_sinc_prob, generator)
        sinc = torch.where(skip[:, None, None], _identity_kernels(n, sinc.shape[-1], device), sinc)

    if config.noise and config.camera_noise and stage.camera_noise_prob > 0:
        use, *params = _camera_params(n, stage, generator)
        idx = use.nonzero().squeeze(1)
        if idx.numel() > 0:
            # Instead of the Gaussian/Poisson noise, on the same picture (the pack's padding included).
            noisy = camera_noise(clean[idx], *(p[idx] for p in params), generator=generator)
            x = x.index_copy(0, idx, noisy)

    if config.jpeg:
        x = _jpeg_subset(x, quality, jpeg_first)

    if config.resize:
        x = torch.cat(
            [
                _resize_one(x[i : i + 1, :, : sizes[i][0], : sizes[i][1]], (h, w), RESIZE_MODES[modes_up[i]])
                for i in range(n)
            ]
        )

    if final and config.blur:
        x = filter_per_image(x, sinc)

    if final and config.jpeg:
        x = _jpeg_subset(x, quality, ~jpeg_first)
    return x.clamp(0, 1)


@torch.no_grad()
def degrade(x: Tensor, generator: torch.Generator, config: DegradationConfig) -> Tensor:
    """Apply Real-ESRGAN's second-order degradation to a batch, each image with its own parameters.

    Args:
        x: (N, 3, H, W) float images in [-1, 1], on any device.
        generator: source of all randomness; must live on ``x.device``.
        config: ranges, probabilities and on/off switches, see :class:`DegradationConfig`.

    Returns:
        The degraded batch, same shape, dtype, device and [-1, 1] range.  Runs
        without autograd: the degradation is a fixed data-side corruption.
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) images, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating point tensor, got {x.dtype}")
    if generator.device.type != x.device.type:
        raise ValueError(f"generator is on {generator.device} but images are on {x.device}")

    # float32 throughout: the DCT and Poisson sampling are not reliable in half precision.
    out = ((x.float() + 1.0) / 2.0).clamp(0, 1)
    out = _stage(out, config.first, config, generator, final=False)
    if config.second_order:
        out = _stage(out, config.second, config, generator, final=True)
    return (out * 2.0 - 1.0).to(x.dtype)
