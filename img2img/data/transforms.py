"""Paired augmentation: one random geometry applied identically to the target x and the condition y."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch
from torch import Tensor

# pix2pix trains at 256 after resizing to 286 and random-cropping back: the same ratio at any size.
JITTER_RATIO = 286 / 256


class PairedTransform:
    """Resize, crop and (when training) flip HWC uint8 arrays into CHW float tensors in [-1, 1].

    Train: shorter side to about ``1.12 * size``, random ``size x size`` crop, horizontal flip p=0.5 unless
    ``flip=False`` (mirroring is wrong for data with a handedness: text, maps with a north, left/right labels).
    Eval: shorter side to ``size``, centre crop. Images smaller than ``size`` are scaled up, so every aspect
    ratio and every tiny image yields exactly ``size x size``. Eval with ``size=0`` ("native size", for
    ``img2img eval --size 0``) leaves the geometry alone: each image keeps its own height and width.

    ``rescale=False`` ("native crops", for pixel-level tasks such as restoration, like BasicSR's paired crops):
    no resizing at all, the ``size x size`` crop (random in training, central in eval) is cut from the image at
    its own scale, so the model meets detail and damage at the scale ``eval --size 0`` and users give it; an
    image smaller than ``size`` is padded by reflection rather than scaled up.

    ``rescale="auto"``: native crops for an image whose shorter side is more than twice ``size``, rescaled ones
    for a smaller image. A native crop of a photo only about twice the crop shows a quarter of it (of an
    object-centred product shot, mostly background), while shrinking it changes its scale by less than 2x.

    ``zoom`` > 1 (training with ``rescale`` only; scale augmentation for small photo sets): instead of the
    jitter, a random square whose side is between ``1/zoom`` of the shorter side and all of it, anywhere in
    the image, resized to ``size``. The model then meets each photo at many scales and framings, not at one.

    ``x`` and ``y`` must share height and width; their channel counts may differ (e.g. grey y).
    """

    def __init__(self, size: int, train: bool, flip: bool = True, rescale: bool | str = True,
                 zoom: float = 1.0) -> None:
        if size < 0 or (size == 0 and train):
            raise ValueError(f"size must be positive{'' if train else ' or 0 (native size)'}, got {size}")
        if not zoom >= 1.0:
            raise ValueError(f"zoom must be >= 1 (1 = no zoom), got {zoom}")
        if rescale not in (True, False, "auto"):
            raise ValueError(f"rescale must be True, False or 'auto', got {rescale!r}")
        self.size = size
        self.train = train
        self.flip = flip
        self.rescale = rescale
        self.zoom = float(zoom) if train and rescale is True else 1.0
        self._composes = {mode: self._pipeline(mode) for mode in ((True, False) if rescale == "auto" else (rescale,))}

    def _pipeline(self, rescale: bool) -> A.Compose:
        size, train, flip = self.size, self.train, self.flip
        steps: list[A.BasicTransform] = []
        if self.zoom > 1.0:  # the crop and resize happen in _zoom_crop; the pipeline only flips
            if flip:
                steps.append(A.HorizontalFlip(p=0.5))
        elif train:
            if rescale:
                resize_to = max(size, int(round(size * JITTER_RATIO)))
                steps.append(A.SmallestMaxSize(max_size=resize_to, interpolation=cv2.INTER_LINEAR,
                                               area_for_downscale="image"))
            steps.append(A.RandomCrop(height=size, width=size, pad_if_needed=True, border_mode=cv2.BORDER_REFLECT_101))
            if flip:
                steps.append(A.HorizontalFlip(p=0.5))
        elif size > 0:
            if rescale:
                steps.append(A.SmallestMaxSize(max_size=size, interpolation=cv2.INTER_LINEAR, area_for_downscale="image"))
            steps.append(A.CenterCrop(height=size, width=size, pad_if_needed=True, border_mode=cv2.BORDER_REFLECT_101))
        # The "y" target is declared as an image so it gets the very same resize/crop/flip as x.
        return A.Compose(steps, additional_targets={"y": "image"}, seed=0)

    def _compose_for(self, x: np.ndarray) -> A.Compose:
        if self.rescale != "auto":
            return self._composes[self.rescale]
        return self._composes[not (self.size > 0 and min(x.shape[:2]) > 2 * self.size)]

    def __call__(
        self, x: np.ndarray, y: np.ndarray | None = None, seed: int | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Transform ``x`` (and ``y``); the same ``seed`` always gives the same crop and flip."""
        x = _as_hwc_uint8(x, "x")
        if y is not None:
            y = _as_hwc_uint8(y, "y")
            if y.shape[:2] != x.shape[:2]:
                raise ValueError(f"x and y must have the same height and width, got {x.shape[:2]} and {y.shape[:2]}")
        if seed is None:
            # Drawn from torch so DataLoader workers (which torch seeds per worker) do not repeat each other.
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        compose = self._compose_for(x)
        compose.set_random_seed(seed % (2**32))
        if self.zoom > 1.0:
            x, y = self._zoom_crop(x, y, seed)
        if y is None:
            out = compose(image=x)
            return _to_tensor(out["image"]), None
        out = compose(image=x, y=y)
        return _to_tensor(out["image"]), _to_tensor(out["y"])

    def _zoom_crop(self, x: np.ndarray, y: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The same random square of ``x`` and ``y`` (side in [1/zoom, 1] of the shorter side), at ``size``."""
        rng = np.random.default_rng([seed % (2**32), 0x200A])  # apart from the flip's draw
        h, w = x.shape[:2]
        short = min(h, w)
        side = max(1, int(round(short * rng.uniform(1.0 / self.zoom, 1.0))))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))

        def cut(a: np.ndarray) -> np.ndarray:
            square = a[top : top + side, left : left + side]
            shrink = side > self.size
            out = cv2.resize(square, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            return out if out.ndim == 3 else out[:, :, None]

        return cut(x), (cut(y) if y is not None else None)

    def __repr__(self) -> str:
        return (f"PairedTransform(size={self.size}, train={self.train}, flip={self.flip}, rescale={self.rescale}"
                + (f", zoom={self.zoom}" if self.zoom > 1.0 else "") + ")")


def _as_hwc_uint8(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be a uint8 array, got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be an HWC image array, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _to_tensor(arr: np.ndarray) -> Tensor:
    if arr.ndim == 2:  # OpenCV drops a trailing channel axis of length 1
        arr = arr[:, :, None]
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, order="C")  # a read-only view of a PIL image can come through untouched
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
