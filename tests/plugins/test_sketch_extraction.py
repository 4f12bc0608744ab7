"""Tests for sketch extraction, thinning and user-sketch normalisation in the sketch2photo plugin."""

from __future__ import annotations

import kornia
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from img2img_plugins.sketch2photo.sketch import (
    draw_example_sketches,
    extract_sketch,
    is_blank_sketch,
    normalize_user_sketch,
    thin_strokes,
)

# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def _ellipse_photo(size: int = 128, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A dark filled ellipse on a light background with noise, and the ellipse's inside mask."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    inside = ((xx / 0.6) ** 2 + (yy / 0.4) ** 2) < 1.0
    photo = torch.full((1, 3, size, size), 0.7)
    dark = torch.tensor([-0.6, -0.5, -0.2]).view(1, 3, 1, 1)
    photo = torch.where(inside.view(1, 1, size, size), dark, photo)
    photo = (photo + 0.05 * torch.randn(photo.shape, generator=g)).clamp(-1, 1)
    return photo, inside


def _pil_to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def _line_image(width: int, size: int = 64, vertical: bool = False) -> torch.Tensor:
    canvas = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(canvas)
    if vertical:
        draw.line([(size // 2, 8), (size // 2, size - 8)], fill=0, width=width)
    else:
        draw.line([(8, size // 2), (size - 8, size // 2)], fill=0, width=width)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0).view(1, 1, size, size)


def _is_connected(mask: torch.Tensor) -> bool:
    """True when the 8-connected foreground of a (H, W) bool mask is one component (flood fill by max-pool)."""
    fg = mask.float().view(1, 1, *mask.shape)
    seed = torch.zeros_like(fg).flatten()
    seed[int(fg.flatten().nonzero()[0])] = 1.0
    filled = seed.view_as(fg)
    while True:
        grown = F.max_pool2d(filled, 3, stride=1, padding=1) * fg
        if torch.equal(grown, filled):
            break
        filled = grown
    return torch.equal(filled, fg)


def _stroke_bbox(sketch: torch.Tensor) -> tuple[int, int, int, int]:
    m = sketch[0, 0] < 0
    rows = m.any(dim=1).nonzero().flatten()
    cols = m.any(dim=0).nonzero().flatten()
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _thick_drawing(invert: bool = False) -> torch.Tensor:
    """A person's drawing: thick anti-aliased dark-blue strokes, off-centre on a wide canvas."""
    canvas = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(canvas)
    draw.line([(30, 60), (150, 60), (150, 150), (30, 150), (30, 60)], fill=(20, 20, 160), width=14, joint="curve")
    draw.line([(40, 200), (160, 200)], fill=(20, 20, 160), width=14)
    image = _pil_to_tensor(canvas)
    return -image if invert else image


# --------------------------------------------------------------------------------------------------------------
# extract_sketch
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["canny", "xdog", "mixed"])
@pytest.mark.parametrize("augment", [False, True])
def test_extract_shapes_and_binary_values(method: str, augment: bool) -> None:
    photo = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(3)) * 2 - 1
    sketch = extract_sketch(photo, torch.Generator().manual_seed(0), method=method, augment=augment)
    assert sketch.shape == (2, 1, 48, 64)
    assert sketch.dtype == photo.dtype
    assert set(sketch.unique().tolist()) <= {-1.0, 1.0}


def test_hysteresis_matches_kornia() -> None:
    from img2img_plugins.sketch2photo.sketch import _hysteresis

    image = torch.rand(2, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    image = F.avg_pool2d(image, 3, stride=1, padding=1) * 20
    _, expected = kornia.filters.canny(image, 0.4, 1.0, kernel_size=1, hysteresis=True)
    _, raw = kornia.filters.canny(image, 0.4, 1.0, kernel_size=1, hysteresis=False)
    assert torch.equal(_hysteresis(strong=(raw > 0.75).float(), weak=(raw > 0).float()), expected)


def test_extract_rejects_unknown_method() -> None:
    with pytest.raises(ValueError):
        extract_sketch(torch.zeros(1, 3, 16, 16), method="hed")


@pytest.mark.parametrize("method", ["canny", "xdog"])
def test_strokes_follow_the_ellipse_boundary(method: str) -> None:
    photo, inside = _ellipse_photo()
    sketch = extract_sketch(photo, method=method, augment=False)
    strokes = sketch[0, 0] < 0

    inside_f = inside.float().view(1, 1, *inside.shape)
    eroded = -F.max_pool2d(-inside_f, 3, stride=1, padding=1)
    boundary = inside_f - eroded
    near_boundary = F.max_pool2d(boundary, 5, stride=1, padding=2)[0, 0] > 0  # within 2 px

    assert strokes.sum() > 0
    precision = (strokes & near_boundary).sum().float() / strokes.sum()
    assert precision > 0.8, f"only {precision:.2f} of stroke pixels lie on the boundary"
    # Most of the boundary must actually be drawn, and the flat areas must stay clean.
    covered = F.max_pool2d(strokes.float().view(1, 1, *strokes.shape), 5, stride=1, padding=2)[0, 0] > 0
    recall = (covered & (boundary[0, 0] > 0)).sum().float() / (boundary > 0).sum()
    assert recall > 0.8, f"only {recall:.2f} of the boundary is drawn"
    assert strokes[~near_boundary].float().mean() < 0.01


def test_seeded_generator_is_deterministic() -> None:
    photo, _ = _ellipse_photo(size=64)
    photo = photo.repeat(4, 1, 1, 1)
    a = extract_sketch(photo, torch.Generator().manual_seed(7), method="mixed", augment=True)
    b = extract_sketch(photo, torch.Generator().manual_seed(7), method="mixed", augment=True)
    assert torch.equal(a, b)
    # augment=False never depends on randomness for a fixed method.
    c = extract_sketch(photo, torch.Generator().manual_seed(1), method="canny", augment=False)
    d = extract_sketch(photo, torch.Generator().manual_seed(2), method="canny", augment=False)
    assert torch.equal(c, d)


def test_global_rng_is_untouched() -> None:
    photo, _ = _ellipse_photo(size=32)
    state = torch.random.get_rng_state()
    extract_sketch(photo, torch.Generator().manual_seed(0), method="mixed", augment=True)
    assert torch.equal(state, torch.random.get_rng_state())


def test_augment_thickens_strokes_on_average() -> None:
    photo, _ = _ellipse_photo(size=96)
    batch = photo.repeat(8, 1, 1, 1)
    plain = (extract_sketch(batch, method="canny", augment=False) < 0).sum(dim=(1, 2, 3)).float()
    augmented = extract_sketch(batch, torch.Generator().manual_seed(0), method="canny", augment=True)
    counts = (augmented < 0).sum(dim=(1, 2, 3)).float()
    assert counts.mean() > 1.2 * plain.mean()
    # The random width really varies across the batch.
    assert counts.max() > 1.5 * counts.min()


# --------------------------------------------------------------------------------------------------------------
# thin_strokes
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vertical", [False, True])
def test_thinning_reduces_thick_line_and_keeps_it_connected(vertical: bool) -> None:
    line = _line_image(width=7, vertical=vertical)
    thick = line[0, 0] < 0
    thin = thin_strokes(line)[0, 0] < 0
    assert set(thin_strokes(line).unique().tolist()) <= {-1.0, 1.0}

    across = thin.sum(dim=1) if vertical else thin.sum(dim=0)  # width per position along the line
    along_thick = (thick.sum(dim=1) if vertical else thick.sum(dim=0)) > 0
    assert across.max() <= 2
    assert _is_connected(thin)
    # The skeleton keeps most of the line's length (only the rounded-off end pixels may go).
    assert (across > 0).sum() >= along_thick.sum() - 8


def test_thinning_batched_and_keeps_thin_lines() -> None:
    batch = torch.cat([_line_image(width=7), _line_image(width=1, vertical=True)])
    out = thin_strokes(batch)
    assert out.shape == batch.shape
    # A 1-px line is already a skeleton.
    assert torch.equal(out[1] < 0, batch[1] < 0)


# --------------------------------------------------------------------------------------------------------------
# normalize_user_sketch
# --------------------------------------------------------------------------------------------------------------


def test_normalize_thick_drawing_is_thin_and_centred() -> None:
    size = 128
    out = normalize_user_sketch(_thick_drawing(), size=size)
    assert out.shape == (1, 1, size, size)
    assert set(out.unique().tolist()) <= {-1.0, 1.0}
    assert not is_blank_sketch(out)

    top, bottom, left, right = _stroke_bbox(out)
    assert abs((top + bottom) / 2 - size / 2) <= size * 0.05
    assert abs((left + right) / 2 - size / 2) <= size * 0.05
    assert max(bottom - top, right - left) > 0.7 * size  # cropped to the content, not the whole canvas

    strokes = out[0, 0] < 0
    # Width across the square's vertical sides (columns through the middle rows): at most 2 px each.
    middle_row = strokes[(top + bottom) // 2 - 20]
    runs = torch.diff(torch.cat([torch.zeros(1), middle_row.float(), torch.zeros(1)]))
    run_lengths = (runs == -1).nonzero().flatten() - (runs == 1).nonzero().flatten()
    assert len(run_lengths) == 2 and run_lengths.max() <= 2
    # Far fewer ink pixels than a plain resize of the 14-px strokes would give.
    unthinned = normalize_user_sketch(_thick_drawing(), size=size, thin=False)
    assert strokes.sum() < 0.5 * (unthinned < 0).sum()


def test_normalize_corrects_inverted_drawing() -> None:
    normal = normalize_user_sketch(_thick_drawing(), size=96)
    inverted = normalize_user_sketch(_thick_drawing(invert=True), size=96)
    assert inverted.float().mean() > 0.5  # mostly white paper, not a black page
    agreement = (normal == inverted).float().mean()
    assert agreement > 0.99


def test_normalize_rgba_and_grey_inputs() -> None:
    drawing = _thick_drawing()
    grey = drawing.mean(dim=1, keepdim=True)
    rgba = torch.cat([drawing, torch.ones_like(grey)], dim=1)
    for image in (grey, rgba, drawing[0]):
        out = normalize_user_sketch(image, size=64)
        assert out.shape == (1, 1, 64, 64) and not is_blank_sketch(out)


def test_blank_inputs_give_blank_sketch() -> None:
    white = torch.ones(1, 3, 50, 80)
    out = normalize_user_sketch(white, size=64)
    assert out.shape == (1, 1, 64, 64) and is_blank_sketch(out)
    assert is_blank_sketch(normalize_user_sketch(-torch.ones(1, 1, 40, 40)))
    noisy = (0.9 + 0.02 * torch.randn(1, 3, 40, 40, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    assert is_blank_sketch(normalize_user_sketch(noisy, size=32))
    assert not is_blank_sketch(_line_image(width=2))


# --------------------------------------------------------------------------------------------------------------
# Example sketches
# --------------------------------------------------------------------------------------------------------------


def test_example_sketches_are_drawn_and_distinct() -> None:
    examples = draw_example_sketches(128)
    assert len(examples) == 3
    for sketch in examples:
        assert sketch.shape == (1, 1, 128, 128)
        assert set(sketch.unique().tolist()) <= {-1.0, 1.0}
        assert not is_blank_sketch(sketch)
        ink = (sketch < 0).float().mean()
        assert 0.01 < ink < 0.2  # line drawings, not filled shapes
    for i in range(3):
        for j in range(i + 1, 3):
            assert (examples[i] != examples[j]).float().mean() > 0.02
