"""Hostile and odd image inputs, made by code (no fixture files): each builder writes one case under a folder
and returns the path to hand to a surface. Used by tests/test_hostile_inputs.py; the outcomes are tabled in
docs/reliability.md.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image


def _picture(width: int = 48, height: int = 40) -> Image.Image:
    """A small RGB picture with structure (a gradient and a block), so outputs are not constant."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = (20, 200, 40)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _save(folder: Path, name: str, image: Image.Image, **kwargs) -> Path:
    path = folder / name
    image.save(path, **kwargs)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _bomb(folder: Path) -> Path:
    """A valid PNG header declaring 100,000 x 100,000 pixels (10 gigapixels) in a file of a few bytes."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return _write(folder, "bomb.png", data)


def _exif_rotated(folder: Path) -> Path:
    """A 48x40 JPEG whose EXIF says "rotate 90": upright it is 40x48."""
    image = _picture(48, 40)
    exif = image.getexif()
    exif[0x0112] = 6
    return _save(folder, "rotated.jpg", image, exif=exif.tobytes())


def _animated(folder: Path) -> Path:
    frames = [_picture().convert("P"), Image.new("P", (48, 40), 3), Image.new("P", (48, 40), 7)]
    return _save(folder, "animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=50, loop=0)


def _palette_transparent(folder: Path) -> Path:
    image = _picture().convert("P")
    return _save(folder, "palette.png", image, transparency=0)


def _rgba(folder: Path) -> Path:
    image = _picture().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return _save(folder, "rgba.png", image)


def _sixteen_bit(folder: Path) -> Path:
    array = (np.arange(48 * 40, dtype=np.uint16).reshape(40, 48) * 30).astype(np.uint16)
    return _save(folder, "deep.png", Image.fromarray(array))  # uint16 -> mode I;16


def _int32(folder: Path) -> Path:
    return _save(folder, "int32.tif", Image.fromarray(np.arange(48 * 40, dtype=np.int32).reshape(40, 48) * 20))


def _float_tiff(folder: Path) -> Path:
    array = np.linspace(0.0, 1.0, 48 * 40, dtype=np.float32).reshape(40, 48)
    array[0, 0] = np.nan
    return _save(folder, "float.tif", Image.fromarray(array, "F"))


def _truncated(fmt: str, name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        data = _encoded(_picture(64, 64), fmt)
        return _write(folder, name, data[: len(data) // 2])

    return build


def _bad_crc(folder: Path) -> Path:
    data = bytearray(_encoded(_picture(), "PNG"))
    start = data.index(b"IDAT") + 8
    data[start] ^= 0xFF  # one flipped byte of compressed pixel data: the chunk's CRC no longer matches
    return _write(folder, "bad-crc.png", bytes(data))


def _directory(folder: Path) -> Path:
    path = folder / "not-a-file.png"
    path.mkdir()
    return path


def _symlink_loop(folder: Path) -> Path:
    """A data folder holding one good picture and links that loop back to itself (and to each other)."""
    _save(folder, "good.png", _picture())
    os.symlink(".", folder / "loop")
    os.symlink(folder / "b", folder / "a")
    os.symlink(folder / "a", folder / "b")  # a -> b -> a: a link loop that never resolves
    return folder


def _dangling(folder: Path) -> Path:
    path = folder / "gone.png"
    os.symlink(folder / "deleted-long-ago.png", path)
    return path


def _outside_link(folder: Path) -> Path:
    """An "image" that is a link to a system file outside the data folder."""
    path = folder / "secret.png"
    os.symlink("/etc/passwd", path)
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.png"
    os.mkfifo(path)  # opening it for reading would block forever
    return path


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    what: str


CASES: list[Case] = [
    Case("truncated-jpeg", _truncated("JPEG", "cut.jpg"), "first half of a 64x64 JPEG"),
    Case("truncated-png", _truncated("PNG", "cut.png"), "first half of a 64x64 PNG"),
    Case("bad-crc-png", _bad_crc, "PNG with one flipped byte in its pixel data"),
    Case("zero-bytes", lambda d: _write(d, "empty.png", b""), "0-byte file named .png"),
    Case("text-as-png", lambda d: _write(d, "notes.png", b"just some text\n" * 10), "text with a .png name"),
    Case("html-as-jpg", lambda d: _write(d, "page.jpg", b"<html><body>hi</body></html>"), "HTML named .jpg"),
    Case("random-bytes-webp", lambda d: _write(d, "noise.webp", np.random.default_rng(0).bytes(4096)),
         "4 KiB of random bytes named .webp"),
    Case("png-named-jpg", lambda d: _write(d, "mislabelled.jpg", _encoded(_picture(), "PNG")), "PNG bytes, .jpg name"),
    Case("uppercase-ext", lambda d: _save(d, "LOUD.PNG", _picture()), "upper-case .PNG suffix"),
    Case("cmyk-jpeg", lambda d: _save(d, "cmyk.jpg", _picture().convert("CMYK")), "CMYK JPEG"),
    Case("progressive-jpeg", lambda d: _save(d, "prog.jpg", _picture(), progressive=True), "progressive JPEG"),
    Case("16-bit-png", _sixteen_bit, "16-bit greyscale PNG (I;16)"),
    Case("32-bit-int-tiff", _int32, "32-bit integer TIFF (mode I)"),
    Case("float-tiff-nan", _float_tiff, "32-bit float TIFF with a NaN pixel"),
    Case("palette-transparency", _palette_transparent, "palette PNG with a transparent index"),
    Case("rgba", _rgba, "RGBA PNG with a gradient alpha"),
    Case("grayscale", lambda d: _save(d, "grey.png", _picture().convert("L")), "8-bit greyscale"),
    Case("grey-alpha", lambda d: _save(d, "la.png", _picture().convert("LA")), "greyscale + alpha"),
    Case("bilevel", lambda d: _save(d, "bw.png", _picture().convert("1")), "1-bit black and white"),
    Case("bmp", lambda d: _save(d, "old.bmp", _picture()), "BMP"),
    Case("webp", lambda d: _save(d, "modern.webp", _picture()), "WebP"),
    Case("1x1", lambda d: _save(d, "dot.png", Image.new("RGB", (1, 1), (255, 0, 0))), "a single pixel"),
    Case("3x10000", lambda d: _save(d, "strip.png", _picture(3, 10_000)), "a 3 px wide, 10,000 px tall strip"),
    Case("exif-rotation", _exif_rotated, "JPEG with EXIF orientation 6 (48x40 stored, 40x48 upright)"),
    Case("animated-gif", _animated, "3-frame animated GIF"),
    Case("decompression-bomb", _bomb, "PNG header declaring 100,000 x 100,000 px"),
    Case("unicode-spaces-path", lambda d: _save(d, "mön bild 画像 (1).png", _picture()), "spaces + unicode name"),
    Case("directory-named-png", _directory, "a folder named not-a-file.png"),
    Case("symlink-loop", _symlink_loop, "folder with a link to itself and an a->b->a link loop"),
    Case("dangling-symlink", _dangling, "link to a deleted file"),
    Case("link-outside", _outside_link, "secret.png -> /etc/passwd"),
    Case("fifo", _fifo, "a named pipe called pipe.png"),
]
