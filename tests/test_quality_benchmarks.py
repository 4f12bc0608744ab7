"""The sketch2photo quality benchmarks: benchmarks/stray_ink.py (dark paint on a product photo's white background, away from
the object), benchmarks/sample_variety.py and benchmarks/sharpness_gap.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

spec = importlib.util.spec_from_file_location("stray_ink", Path(__file__).parents[1] / "benchmarks" / "stray_ink.py")
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
    # benchmarks/sample_variety.py: the colour match removes any per-channel affine change (a tint, brightness,
    # contrast), so what LPIPS still sees afterwards is variety no tint explains.
    spec = importlib.util.spec_from_file_location("sample_variety", Path(__file__).parents[1] / "benchmarks" / "sample_variety.py")
    variety = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variety)
    torch.manual_seed(0)
    a = torch.rand(2, 3, 32, 32) * 1.2 - 0.6
    tinted = a * torch.tensor([0.5, 1.2, 0.8]).view(1, 3, 1, 1) + torch.tensor([0.3, -0.1, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(variety.match_colours(a, tinted), tinted, atol=1e-5)
    textured = tinted + 0.3 * torch.randn(2, 3, 32, 32)
    assert (variety.match_colours(a, textured) - textured).abs().mean() > 0.15


def test_sharpness_gap_names_the_blur_and_the_octave_that_lost_power():
    # benchmarks/sharpness_gap.py: photos blurred by sigma 1 px score some ratio r against themselves; the blur it
    # reports for r is 1 px, and the power they lost is in the top octave, not the lowest.
    gap_spec = importlib.util.spec_from_file_location("sharpness_gap", Path(__file__).parents[1] / "benchmarks" / "sharpness_gap.py")
    sharpness_gap = importlib.util.module_from_spec(gap_spec)
    gap_spec.loader.exec_module(sharpness_gap)
    fine = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    photos = fine + torch.nn.functional.interpolate(fine[:, :, ::4, ::4], size=(64, 64), mode="bilinear", align_corners=False)
    blurred = sharpness_gap.blur(photos, 1.0)
    assert abs(sharpness_gap.equivalent_blur(photos, sharpness_gap.ratio(blurred, photos)) - 1.0) < 0.01
    assert sharpness_gap.equivalent_blur(photos, 1.0) == 0.0
    octaves = sharpness_gap.octave_gaps(blurred, photos)
    assert [(a, b) for a, b, _ in octaves] == [(2, 4), (4, 8), (8, 16), (16, 32)]
    assert octaves[-1][2] < -1.0 and abs(octaves[0][2]) < 0.2
    assert all(gap == 0 for _, _, gap in sharpness_gap.octave_gaps(photos, photos))
    bag = torch.ones(1, 3, 64, 64)
    bag[:, :, 16:48, 16:48] = -1  # a black bag on white: all its inner pixels near black, none light
    bag[:, :, 30:34, 30:34] = torch.tensor([0.9, 0.9, 0.0])[:, None, None]  # with a pale yellow buckle (luma 0.9)
    dark, light = sharpness_gap.tonal_range(bag)
    assert light == pytest.approx(16 / (24 * 24)) and dark == pytest.approx(1 - light)  # the object 4 px in from its outline, as sample_variety
