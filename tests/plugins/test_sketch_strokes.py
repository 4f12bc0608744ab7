"""sketch2photo's shared stroke operations (strokes.py): Zhang-Suen thinning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sketch_inputs import line_image

from img2img_plugins.sketch2photo.strokes import thin_strokes


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


@pytest.mark.parametrize("vertical", [False, True])
def test_thinning_reduces_thick_line_and_keeps_it_connected(vertical: bool) -> None:
    line = line_image(width=7, vertical=vertical)
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
    batch = torch.cat([line_image(width=7), line_image(width=1, vertical=True)])
    out = thin_strokes(batch)
    assert out.shape == batch.shape
    # A 1-px line is already a skeleton.
    assert torch.equal(out[1] < 0, batch[1] < 0)


def _reference_thinning(sketch: torch.Tensor, max_iters: int = 10) -> torch.Tensor:
    """Zhang-Suen written out pixel-condition by pixel-condition (the first implementation), to hold the
    table-driven thin_strokes to exactly the same output."""
    fg = (sketch < 0).float()
    h, w = fg.shape[-2:]
    for _ in range(max_iters):
        before = fg
        for first_pass in (True, False):
            p = F.pad(fg, (1, 1, 1, 1))
            nb = [p[..., 0:h, 1:w + 1], p[..., 0:h, 2:w + 2], p[..., 1:h + 1, 2:w + 2], p[..., 2:h + 2, 2:w + 2],
                  p[..., 2:h + 2, 1:w + 1], p[..., 2:h + 2, 0:w], p[..., 1:h + 1, 0:w], p[..., 0:h, 0:w]]
            stack = torch.stack(nb, dim=0)
            count = stack.sum(dim=0)
            transitions = ((stack == 0) & (torch.roll(stack, shifts=-1, dims=0) == 1)).sum(dim=0)
            p2, p4, p6, p8 = nb[0], nb[2], nb[4], nb[6]
            if first_pass:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (fg > 0) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            fg = fg * (~remove).float()
        if torch.equal(fg, before):
            break
    return 1.0 - 2.0 * fg


@pytest.mark.parametrize("max_iters", [1, 3, 10])
def test_thinning_matches_the_pixel_by_pixel_conditions(max_iters: int) -> None:
    gen = torch.Generator().manual_seed(max_iters)
    blobs = F.max_pool2d((torch.rand(3, 1, 24, 24, generator=gen) > 0.85).float(), 5, stride=1, padding=2)
    noise = (torch.rand(2, 1, 40, 33, generator=gen) > 0.5).float()  # every neighbourhood code, edges included
    lines = torch.cat([line_image(width=7), line_image(width=4, vertical=True)])
    for sketch in (1.0 - 2.0 * blobs, 1.0 - 2.0 * noise, lines):
        assert torch.equal(thin_strokes(sketch, max_iters=max_iters), _reference_thinning(sketch, max_iters))
