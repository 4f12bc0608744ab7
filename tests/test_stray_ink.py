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
