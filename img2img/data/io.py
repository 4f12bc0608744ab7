"""Reading, listing, converting and saving images.

Every reader in the package goes through :func:`load_image`, so the odd files found in real photo folders
(palette PNGs with transparency, CMYK JPEGs, 16-bit scans, rotated phone pictures, truncated downloads) all
come out as plain 8-bit RGB, and anything that cannot be decoded surfaces as one
:class:`~img2img.errors.UnreadableImageError` instead of a PIL traceback.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from ..errors import DataError, UnreadableImageError

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
"""Lower-case suffixes (with the dot) that :func:`list_images` picks up; matching ignores case."""

_WHITE = (255, 255, 255)
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def is_image_file(path: Path) -> bool:
    """True if the name has one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def load_image(path: str | os.PathLike[str], max_pixels: int = 64_000_000) -> Image.Image:
    """Open ``path`` as an 8-bit RGB image, upright, with transparency flattened onto white.

    The declared size is checked against ``max_pixels`` before any pixel is decoded, so a decompression
    bomb costs nothing. Raises :class:`UnreadableImageError` for anything that cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        raise UnreadableImageError(path, "is a directory")
    if not path.exists():
        raise UnreadableImageError(path, "no such file")
    if not path.is_file():  # a FIFO or device named like an image: opening it could block or never end
        raise UnreadableImageError(path, "not a regular file")
    try:
        if path.stat().st_size == 0:
            raise UnreadableImageError(path, "empty file")
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; PIL's warning about its (different) limit is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise UnreadableImageError(
                        path, f"declared size {width}x{height} exceeds the limit of {max_pixels} pixels"
                    )
                if getattr(opened, "n_frames", 1) > 1:
                    opened.seek(0)  # animations: the first frame stands for the file
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                rgb = _to_rgb(upright)
                # Detach from the file handle that the context manager is about to close.
                return rgb.copy() if rgb is opened else rgb
    except UnreadableImageError:
        raise
    except Image.DecompressionBombError as err:
        raise UnreadableImageError(path, f"decompression bomb refused ({err})") from err
    except Image.UnidentifiedImageError as err:
        raise UnreadableImageError(path, "not a recognised image format") from err
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError, MemoryError) as err:
        # PIL plugins signal corrupt data with a zoo of exception types; the user only needs the gist.
        reason = str(err).strip() or type(err).__name__
        raise UnreadableImageError(path, f"corrupt or truncated ({reason})") from err


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, compositing transparency onto white."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode in _SIXTEEN_BIT_MODES:
        # PIL's own I -> L conversion clips at 255 instead of scaling, which turns 16-bit scans white.
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(arr, 0.0, 65535.0) / 257.0
        return Image.fromarray(np.round(arr).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        finite = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        # Float images are either [0, 1] (HDR-ish exports) or [0, 255]; guess from the range.
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        arr = np.clip(finite * scale, 0.0, 255.0)
        return Image.fromarray(np.round(arr).astype(np.uint8), "L").convert("RGB")
    if mode in ("P", "L", "RGB", "1") and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in _ALPHA_MODES:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return background
    # CMYK, YCbCr, LAB, HSV, L, 1, P: PIL knows the way to RGB.
    return img.convert("RGB")


def list_images(root: str | os.PathLike[str]) -> list[Path]:
    """All image files under ``root``, recursively, sorted; hidden files and folders are skipped.

    Symlinked folders are followed, each real folder at most once, so symlink loops end. Raises
    :class:`DataError` if ``root`` is missing or not a folder.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"data folder {root} is not a folder")
    seen: set[str] = {os.path.realpath(root)}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            real = os.path.realpath(os.path.join(dirpath, name))
            if real in seen:
                continue  # a loop, or a second link to a folder already listed
            seen.add(real)
            keep.append(name)
        dirnames[:] = keep  # os.walk descends only into what is left here
        for name in filenames:
            candidate = Path(dirpath) / name
            if name.startswith(".") or not is_image_file(candidate):
                continue
            if candidate.is_file():  # drops dangling symlinks
                found.append(candidate)
    return sorted(found)


def pil_to_tensor(img: Image.Image) -> Tensor:
    """RGB PIL image -> float Tensor[3, H, W] in [-1, 1]."""
    if img.mode != "RGB":
        img = _to_rgb(img)
    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def tensor_to_pil(t: Tensor) -> Image.Image:
    """Tensor[C, H, W] in [-1, 1] with C = 1 or 3 (or [H, W]) -> PIL image ("L" or "RGB")."""
    t = t.detach().to("cpu", torch.float32)
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3 or t.shape[0] not in (1, 3):
        raise ValueError(f"expected a tensor of shape [1 or 3, H, W], got {tuple(t.shape)}")
    arr = ((t.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if arr.shape[2] == 1:
        return Image.fromarray(arr[:, :, 0], "L")
    return Image.fromarray(arr, "RGB")


def make_grid(
    images: Sequence[Tensor] | Tensor, nrow: int, padding: int = 2, pad_value: float = 1.0
) -> Tensor:
    """Tile images (each [C, H, W], same size) into one Tensor[3, H', W'], ``nrow`` images per row.

    Every image gets ``padding`` pixels of ``pad_value`` on all sides, shared between neighbours.
    Single-channel images are repeated to RGB so conditions and outputs can share a grid.
    """
    batch = images if isinstance(images, Tensor) else None
    if batch is None:
        if len(images) == 0:
            raise ValueError("make_grid needs at least one image")
        shapes = {tuple(img.shape[-2:]) for img in images}
        if len(shapes) != 1:
            raise ValueError(f"make_grid needs images of one size, got {sorted(shapes)}")
        batch = torch.stack(_to_three(images))
    if batch.dim() == 3:
        batch = batch.unsqueeze(0)
    if batch.dim() != 4 or batch.shape[0] == 0:
        raise ValueError(f"make_grid expects [N, C, H, W], got {tuple(batch.shape)}")
    if batch.shape[1] == 1:
        batch = batch.expand(-1, 3, -1, -1)
    if nrow < 1:
        raise ValueError(f"nrow must be at least 1, got {nrow}")
    count, channels, height, width = batch.shape
    cols = min(nrow, count)
    rows = (count + cols - 1) // cols
    cell_h, cell_w = height + padding, width + padding
    grid = batch.new_full((channels, rows * cell_h + padding, cols * cell_w + padding), pad_value)
    for index in range(count):
        top = (index // cols) * cell_h + padding
        left = (index % cols) * cell_w + padding
        grid[:, top : top + height, left : left + width] = batch[index]
    return grid


def _to_three(images: Sequence[Tensor]) -> list[Tensor]:
    """Bring [H, W], [1, H, W] and [3, H, W] images to [3, H, W] so they stack."""
    out = []
    for img in images:
        if img.dim() == 2:
            img = img.unsqueeze(0)
        out.append(img.expand(3, -1, -1) if img.shape[0] == 1 else img)
    return out


def save_image(images: Tensor | Sequence[Tensor], path: str | os.PathLike[str], nrow: int = 8) -> None:
    """Save one image ([C, H, W] in [-1, 1]) or a batch / list of them as a grid; creates parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(images, Tensor) and images.dim() <= 3:
        picture = images
    elif isinstance(images, Tensor) and images.dim() == 4 and images.shape[0] == 1:
        picture = images[0]
    else:
        picture = make_grid(images, nrow=nrow)
    tensor_to_pil(picture).save(path)


_REPORTED: set[str] = set()


def warn_unreadable(err: UnreadableImageError) -> None:
    """Warn about an unreadable file once per process, so a bad file does not flood every epoch's log."""
    key = str(err.path)
    if key in _REPORTED:
        return
    _REPORTED.add(key)
    warnings.warn(f"{err}; skipping it", UserWarning, stacklevel=3)
