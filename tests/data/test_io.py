"""Reading odd image files, listing folders, converting tensors and tiling grids."""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from img2img.data.io import (
    IMAGE_EXTENSIONS,
    list_images,
    load_image,
    make_grid,
    pil_to_tensor,
    save_image,
    tensor_to_pil,
    warn_unreadable,
)
from img2img.errors import DataError, UnreadableImageError


def _pixel(img: Image.Image, xy: tuple[int, int] = (0, 0)) -> tuple[int, int, int]:
    return img.getpixel(xy)


def _close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 6) -> bool:
    return all(abs(int(p) - int(q)) <= tol for p, q in zip(a, b))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose IHDR declares a size but that holds no pixel data: a bomb that must not be decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


# -- load_image: odd modes ---------------------------------------------------------------------------
def test_rgb_png_round_trips(tmp_path: Path) -> None:
    Image.new("RGB", (5, 4), (10, 200, 30)).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.mode == "RGB" and img.size == (5, 4) and _pixel(img) == (10, 200, 30)


def test_palette_with_transparency_is_white(tmp_path: Path) -> None:
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((1, 1), 1)
    img.save(tmp_path / "p.png", transparency=0)
    out = load_image(tmp_path / "p.png")
    assert out.mode == "RGB"
    assert _pixel(out, (0, 0)) == (255, 255, 255)
    assert _pixel(out, (1, 1)) == (255, 0, 0)


def test_rgba_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (2, 1))
    img.putpixel((0, 0), (255, 0, 0, 0))  # invisible red
    img.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black
    img.save(tmp_path / "rgba.png")
    out = load_image(tmp_path / "rgba.png")
    assert _pixel(out, (0, 0)) == (255, 255, 255)
    assert _close(_pixel(out, (1, 0)), (127, 127, 127), tol=2)


def test_grey_and_grey_alpha(tmp_path: Path) -> None:
    Image.new("L", (3, 3), 100).save(tmp_path / "l.png")
    Image.new("LA", (3, 3), (0, 0)).save(tmp_path / "la.png")
    assert _pixel(load_image(tmp_path / "l.png")) == (100, 100, 100)
    assert _pixel(load_image(tmp_path / "la.png")) == (255, 255, 255)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    out = load_image(tmp_path / "cmyk.jpg")
    r, g, b = _pixel(out, (4, 4))
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    out = load_image(tmp_path / "deep.png")
    assert [_pixel(out, (i, 0))[0] for i in range(3)] == [0, 128, 255]


def test_thirty_two_bit_int_mode(tmp_path: Path) -> None:
    arr = np.array([[0, 32768, 65535]], dtype=np.int32)
    Image.fromarray(arr, "I").save(tmp_path / "int.tif")
    out = load_image(tmp_path / "int.tif")
    assert [_pixel(out, (i, 0))[0] for i in range(3)] == [0, 128, 255]


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    img.paste((0, 0, 255), (10, 0, 20, 10))  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    img.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    out = load_image(tmp_path / "phone.jpg")
    assert out.size == (10, 20)
    top, bottom = _pixel(out, (5, 2)), _pixel(out, (5, 17))
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 6), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    out = load_image(tmp_path / "anim.gif")
    r, _, b = _pixel(out, (3, 3))
    assert out.mode == "RGB" and r > 200 and b < 60


# -- load_image: failures ----------------------------------------------------------------------------
def test_truncated_file(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImageError, match="cut.png"):
        load_image(tmp_path / "cut.png")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("empty.png", b"", "empty"), ("fake.jpg", b"this is not a jpeg at all", "not a recognised")],
)
def test_not_images(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableImageError, match=reason):
        load_image(tmp_path / name)


def test_directory_and_missing(tmp_path: Path) -> None:
    (tmp_path / "x.png").mkdir()
    with pytest.raises(UnreadableImageError, match="directory"):
        load_image(tmp_path / "x.png")
    with pytest.raises(UnreadableImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_bomb_refused_before_decoding(tmp_path: Path) -> None:
    _png_header_only(tmp_path / "bomb.png", 10_000, 10_000)  # 100 MP declared, no pixel data at all
    with pytest.raises(UnreadableImageError, match="exceeds"):
        load_image(tmp_path / "bomb.png")
    _png_header_only(tmp_path / "huge.png", 100_000, 100_000)  # past PIL's own limit too
    with pytest.raises(UnreadableImageError):
        load_image(tmp_path / "huge.png")


def test_max_pixels_is_respected(tmp_path: Path) -> None:
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(UnreadableImageError, match="exceeds"):
        load_image(tmp_path / "big.png", max_pixels=5_000)
    assert load_image(tmp_path / "big.png", max_pixels=10_000).size == (100, 100)


def test_unicode_path_with_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "dossier été ✓"
    folder.mkdir()
    Image.new("RGB", (3, 3), (1, 2, 3)).save(folder / "photo 1 ünï.png")
    assert _pixel(load_image(folder / "photo 1 ünï.png")) == (1, 2, 3)


def test_warn_unreadable_once(tmp_path: Path) -> None:
    err = UnreadableImageError(tmp_path / "bad.png", "broken")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_unreadable(err)
        warn_unreadable(err)
    assert len(caught) == 1 and "bad.png" in str(caught[0].message)


# -- list_images -------------------------------------------------------------------------------------
def _touch_image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2, 2)).save(path, format="PNG")


def test_list_images_recursive_sorted_filtered(tmp_path: Path) -> None:
    for rel in ["b.png", "a/c.JPG", "a/d.webp", ".hidden.png", ".cache/e.png", "notes.txt", "z/y.TIFF"]:
        _touch_image(tmp_path / rel) if not rel.endswith(".txt") else (tmp_path / rel).write_text("hi")
    (tmp_path / "dir.png").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == ["a/c.JPG", "a/d.webp", "b.png", "z/y.TIFF"]
    assert ".png" in IMAGE_EXTENSIONS and ".tiff" in IMAGE_EXTENSIONS


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_list_images_follows_links_and_survives_loops(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    _touch_image(data / "sub" / "one.png")
    _touch_image(outside / "two.png")
    (data / "sub" / "loop").symlink_to(data, target_is_directory=True)
    (data / "linked").symlink_to(outside, target_is_directory=True)
    (data / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    found = [p.relative_to(data).as_posix() for p in list_images(data)]
    assert found == ["linked/two.png", "sub/one.png"]


def test_list_images_bad_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="not a folder"):
        list_images(tmp_path / "file.png")


# -- tensors and grids -------------------------------------------------------------------------------
def test_tensor_round_trip() -> None:
    arr = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = pil_to_tensor(Image.fromarray(arr))
    assert t.shape == (3, 5, 7) and t.dtype == torch.float32
    assert t.min() >= -1 and t.max() <= 1
    assert np.array_equal(np.asarray(tensor_to_pil(t)), arr)
    grey = tensor_to_pil(torch.zeros(1, 4, 4))
    assert grey.mode == "L" and grey.getpixel((0, 0)) in (127, 128)
    with pytest.raises(ValueError):
        tensor_to_pil(torch.zeros(2, 4, 4))


def test_make_grid_layout() -> None:
    images = [torch.full((3, 8, 6), -1.0) for _ in range(3)]
    grid = make_grid(images, nrow=2, padding=2, pad_value=1.0)
    assert grid.shape == (3, 2 * (8 + 2) + 2, 2 * (6 + 2) + 2)
    assert grid[:, 0, 0].eq(1).all() and grid[:, 2, 2].eq(-1).all()
    assert grid[:, 12:20, 10:16].eq(1).all()  # the empty fourth cell keeps the pad value
    assert torch.equal(grid, make_grid(torch.stack(images), nrow=2))
    assert make_grid([torch.zeros(1, 4, 4)], nrow=3).shape == (3, 8, 8)


def test_save_image_single_and_grid(tmp_path: Path) -> None:
    save_image(torch.zeros(3, 4, 5), tmp_path / "one" / "a.png")
    save_image([torch.zeros(3, 4, 4)] * 4, tmp_path / "grid.png", nrow=2)
    assert Image.open(tmp_path / "one" / "a.png").size == (5, 4)
    assert Image.open(tmp_path / "grid.png").size == (14, 14)
