"""scripts/stray_ink.py: dark paint on a product photo's white background, away from the object."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

spec = importlib.util.spec_from_file_location("stray_ink", Path(__file__).parents[1] / "scripts" / "stray_ink.py")
stray_ink = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stray_ink)


def test_a_blotch_beside_the_object_counts_and_the_object_itself_does_not():
    target = torch.ones(1, 3, 64, 64)
    target[:, :, 24:40, 24:40] = -1  # a black bag on white
    mask = stray_ink.background(target)
    assert not mask[0, 0, 20:44, 20:44].any(), "the object and an 8 px margin around it are not background"
    clean = target[:, None].repeat(1, 2, 1, 1, 1)
    blotched = clean.clone()
    blotched[0, 1, :, 0:16, 0:16] = -1  # sample 2 paints a dark 16 x 16 square in a corner
    ink = stray_ink.stray_ink(blotched, mask)
    assert ink[0, 0] == 0 and torch.isclose(ink[0, 1], torch.tensor(256 / (64 * 64 - 32 * 32)))  # 16 + 2 x 8 px margin
    assert stray_ink.stray_ink(clean, mask).sum() == 0


def test_sample_variety_matches_a_tint_away_and_keeps_a_change_of_texture():
    # scripts/sample_variety.py: the colour match removes any per-channel affine change (a tint, brightness,
    # contrast), so what LPIPS still sees afterwards is variety no tint explains.
    spec = importlib.util.spec_from_file_location("sample_variety", Path(__file__).parents[1] / "scripts" / "sample_variety.py")
    variety = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variety)
    torch.manual_seed(0)
    a = torch.rand(2, 3, 32, 32) * 1.2 - 0.6
    tinted = a * torch.tensor([0.5, 1.2, 0.8]).view(1, 3, 1, 1) + torch.tensor([0.3, -0.1, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(variety.match_colours(a, tinted), tinted, atol=1e-5)
    textured = tinted + 0.3 * torch.randn(2, 3, 32, 32)
    assert (variety.match_colours(a, textured) - textured).abs().mean() > 0.15
