"""Paired augmentation: one geometry for x and y, fixed by the seed, any input shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from img2img.data.transforms import PairedTransform


def _noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 12345])
def test_x_and_y_get_identical_geometry(seed: int) -> None:
    transform = PairedTransform(16, train=True)
    x = _noise(20, 30)
    out_x, out_y = transform(x, x.copy(), seed=seed)
    assert out_y is not None and torch.equal(out_x, out_y)


def test_grey_condition_follows_the_same_crop() -> None:
    transform = PairedTransform(16, train=True)
    x = _noise(24, 24)
    out_x, out_y = transform(x, x[:, :, 0], seed=7)  # a 2-D (grey) y
    assert out_y is not None and out_y.shape == (1, 16, 16)
    assert torch.equal(out_x[:1], out_y)


def test_seed_reproducible_and_varied() -> None:
    transform = PairedTransform(16, train=True)
    x = _noise(40, 50)
    first, _ = transform(x, seed=3)
    again, _ = transform(x, seed=3)
    assert torch.equal(first, again)
    variants = {transform(x, seed=s)[0].numpy().tobytes() for s in range(8)}
    assert len(variants) > 1
    unseeded, none = transform(x)
    assert none is None and unseeded.shape == (3, 16, 16)


@pytest.mark.parametrize("shape", [(3, 5), (1, 40), (60, 2), (16, 16), (100, 37)])
@pytest.mark.parametrize("train", [True, False])
def test_any_aspect_and_tiny_inputs(shape: tuple[int, int], train: bool) -> None:
    out, _ = PairedTransform(16, train=train)(_noise(*shape), seed=1)
    assert out.shape == (3, 16, 16) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1


def test_eval_at_exact_size_is_identity() -> None:
    x = _noise(16, 16)
    out, _ = PairedTransform(16, train=False)(x)
    expected = torch.from_numpy(x).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(out, expected)


def test_eval_centre_crops_the_long_side() -> None:
    x = np.zeros((16, 48, 3), dtype=np.uint8)
    x[:, 16:32] = 255  # only the middle third is white
    out, _ = PairedTransform(16, train=False)(x)
    assert out.min() == 1.0


def test_mismatched_sizes_and_dtypes_are_rejected() -> None:
    transform = PairedTransform(8, train=True)
    with pytest.raises(ValueError, match="same height and width"):
        transform(_noise(10, 10), _noise(10, 12))
    with pytest.raises(ValueError, match="uint8"):
        transform(np.zeros((10, 10, 3), dtype=np.float32))


def test_eval_at_size_zero_keeps_every_image_as_it_is() -> None:
    x, y = _noise(37, 53), _noise(37, 53, channels=1, seed=1)
    out_x, out_y = PairedTransform(0, train=False)(x, y, seed=4)
    assert out_x.shape == (3, 37, 53) and out_y is not None and out_y.shape == (1, 37, 53)
    assert torch.allclose(out_x, torch.from_numpy(x).permute(2, 0, 1).float() / 127.5 - 1)


@pytest.mark.parametrize("size, train", [(0, True), (-1, False), (-8, True)])
def test_training_at_native_size_and_negative_sizes_are_rejected(size: int, train: bool) -> None:
    with pytest.raises(ValueError, match="size must be positive"):
        PairedTransform(size, train=train)


def _is_window_of(crop: torch.Tensor, image: np.ndarray) -> bool:
    """Whether ``crop`` (CHW in [-1, 1]) is an unscaled window of ``image`` (HWC uint8), possibly mirrored."""
    size = crop.shape[-1]
    full = torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1
    for candidate in (crop, crop.flip(-1)):
        for top in range(full.shape[1] - size + 1):
            for left in range(full.shape[2] - size + 1):
                if torch.equal(full[:, top : top + size, left : left + size], candidate):
                    return True
    return False


@pytest.mark.parametrize("train", [True, False])
def test_native_crops_cut_the_image_at_its_own_scale(train: bool) -> None:
    x = _noise(30, 45)
    transform = PairedTransform(16, train=train, rescale=False)
    for seed in range(4):
        out, _ = transform(x, seed=seed)
        assert out.shape == (3, 16, 16) and _is_window_of(out, x)
    rescaled, _ = PairedTransform(16, train=train)(x, seed=0)
    assert not _is_window_of(rescaled, x)  # the default shrinks the photo first (pix2pix)


def test_native_crops_pad_an_image_smaller_than_the_crop() -> None:
    x = _noise(10, 40)
    out, _ = PairedTransform(16, train=True, rescale=False)(x, seed=2)
    assert out.shape == (3, 16, 16)
    pixels = {tuple(p) for p in (torch.from_numpy(x).reshape(-1, 3).float() / 127.5 - 1).tolist()}
    assert all(tuple(p) in pixels for p in out.permute(1, 2, 0).reshape(-1, 3).tolist())  # reflected, not resampled


@pytest.mark.parametrize("train", [True, False])
def test_auto_crops_cut_large_photos_natively_and_shrink_small_ones(train: bool) -> None:
    transform = PairedTransform(16, train=train, rescale="auto")
    large, small = _noise(40, 50), _noise(32, 45)  # shorter side above / at twice the crop
    for seed in range(3):
        assert _is_window_of(transform(large, seed=seed)[0], large)
        assert not _is_window_of(transform(small, seed=seed)[0], small)
    with pytest.raises(ValueError, match="rescale must be"):
        PairedTransform(16, train=True, rescale="sometimes")


def _ramp(height: int, width: int) -> np.ndarray:
    """Column index as the pixel value (0..width-1 < 256): a crop's width in source pixels can be read back."""
    return np.broadcast_to(np.arange(width, dtype=np.uint8)[None, :, None], (height, width, 3)).copy()


def test_zoom_crops_squares_between_one_over_zoom_and_all_of_the_shorter_side() -> None:
    x = _ramp(100, 160)
    transform = PairedTransform(32, train=True, flip=False, zoom=2.0)
    spans = []
    for seed in range(60):
        out, _ = transform(x, seed=seed)
        assert out.shape == (3, 32, 32)
        row = (out[0, 16] + 1) * 127.5
        spans.append(float(row[-1] - row[0]) * 32 / 31)  # ~ source columns covered by the crop
    assert min(spans) >= 100 / 2 - 3 and max(spans) <= 100 + 1
    assert min(spans) < 60 and max(spans) > 90  # the whole range is drawn, not one scale


def test_zoom_is_fixed_by_the_seed_and_shared_by_x_and_y() -> None:
    transform = PairedTransform(16, train=True, zoom=3.0)
    x = _noise(40, 60)
    a, ay = transform(x, x[:, :, 0], seed=5)
    b, _ = transform(x, seed=5)
    c, _ = transform(x, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert ay is not None and torch.equal(a[:1], ay)


def test_zoom_applies_to_rescaled_training_crops_only() -> None:
    x = _noise(40, 60)
    for kwargs in (dict(train=False), dict(train=True, rescale=False)):
        plain, zoomed = PairedTransform(16, **kwargs), PairedTransform(16, zoom=2.0, **kwargs)
        assert zoomed.zoom == 1.0 and torch.equal(plain(x, seed=1)[0], zoomed(x, seed=1)[0])
    with pytest.raises(ValueError, match="zoom must be >= 1"):
        PairedTransform(16, train=True, zoom=0.5)
