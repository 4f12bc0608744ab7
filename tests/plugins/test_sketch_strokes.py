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
