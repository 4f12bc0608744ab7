"""sketch2photo's sketch extraction from photos (edges.py): shapes, values, fidelity, randomness, augmentation."""

from __future__ import annotations

import kornia
import pytest
import torch
import torch.nn.functional as F

from img2img_plugins.sketch2photo.edges import _hysteresis, extract_sketch


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


@pytest.mark.parametrize("method", ["canny", "xdog", "mixed"])
@pytest.mark.parametrize("augment", [False, True])
def test_extract_shapes_and_binary_values(method: str, augment: bool) -> None:
    photo = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(3)) * 2 - 1
    sketch = extract_sketch(photo, torch.Generator().manual_seed(0), method=method, augment=augment)
    assert sketch.shape == (2, 1, 48, 64)
    assert sketch.dtype == photo.dtype
    assert set(sketch.unique().tolist()) <= {-1.0, 1.0}


def test_hysteresis_matches_kornia() -> None:
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
