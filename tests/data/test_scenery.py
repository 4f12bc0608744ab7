"""The building blocks of the procedural scenes (scenery.py): seeded draws, noise, the canvas, the parts."""

from __future__ import annotations

import torch

from img2img.data.scenery import Canvas, Rng, draw_sky, fractal_1d


def test_rng_is_fixed_by_its_seed_and_randint_covers_both_ends() -> None:
    a, b = Rng(7), Rng(7)
    assert [a.uniform() for _ in range(5)] == [b.uniform() for _ in range(5)]
    assert torch.equal(a.rand(3, 4), b.rand(3, 4))
    assert torch.equal(a.colour((0.5, 0.5, 0.5)), b.colour((0.5, 0.5, 0.5)))
    rng = Rng(1)
    assert {rng.randint(2, 4) for _ in range(200)} == {2, 3, 4}
    colour = rng.colour((1.0, 0.0, 0.5), jitter=0.3)
    assert colour.shape == (3, 1, 1) and colour.min() >= 0 and colour.max() <= 1


def test_fractal_1d_profiles_are_independent_and_in_unit_range() -> None:
    xs = torch.linspace(0, 1.5, 64)
    profiles = fractal_1d(Rng(3), 2, xs, cells=2.0, octaves=5, roughness=0.5)
    assert profiles.shape == (2, 64)
    assert profiles.min() >= 0 and profiles.max() <= 1
    assert not torch.equal(profiles[0], profiles[1])


def test_canvas_coverage_box_and_paint() -> None:
    cv = Canvas(10, 20)
    assert cv.aspect == 2.0 and cv.image.shape == (3, 10, 20)
    # Anti-aliased edge: fully in a pixel inside, half on the boundary, out a pixel outside.
    cover = cv.coverage(torch.tensor([-cv.px, 0.0, cv.px]))
    assert cover.tolist() == [1.0, 0.5, 0.0]
    # A box reaching past the image is clipped to it.
    rows, cols, ys, xs = cv.box(-1.0, 0.5, 5.0, 2.0)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (4, 10, 0, 20)
    assert ys.shape == (6, 1) and xs.shape == (1, 20)
    cv.paint(torch.ones(3, 1, 1), torch.ones(6, 20), rows, cols)
    assert cv.image[:, 4:].eq(1).all() and cv.image[:, :4].eq(0).all()


def test_sky_fills_the_canvas_and_returns_the_horizon_haze() -> None:
    cv = Canvas(32, 48)
    haze = draw_sky(Rng(5), cv, "day", horizon=0.6)
    assert haze.shape == (3, 1, 1)
    assert cv.image.min() > 0 and cv.image.max() <= 1
    # Day sky: a deeper blue at the zenith than at the horizon, and the same along each row.
    blueness = cv.image[2] - cv.image[0]
    assert blueness[0].mean() > blueness[-1].mean() + 0.2
    assert torch.equal(cv.image[:, :, :1].expand_as(cv.image), cv.image)
