"""sketch2photo's normalisation of drawings made by people (user_drawings.py)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from sketch_inputs import line_image

from img2img_plugins.sketch2photo.user_drawings import is_blank_sketch, normalize_user_sketch


def _pil_to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


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
    assert not is_blank_sketch(line_image(width=2))
