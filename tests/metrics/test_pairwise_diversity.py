"""Pairwise L1 diversity of K samples for one input."""

from __future__ import annotations

import pytest
import torch

from img2img.metrics import pairwise_l1


def test_identical_samples_give_zero():
    one = torch.rand(1, 3, 16, 16) * 2 - 1
    assert pairwise_l1(one.repeat(5, 1, 1, 1)) == 0.0
    assert pairwise_l1(one) == 0.0  # K = 1: no pairs


def test_distinct_samples_give_the_mean_pairwise_distance():
    black, white, grey = (torch.full((1, 3, 8, 8), v) for v in (-1.0, 1.0, 0.0))
    # In [0, 1] units: black-white 1, black-grey 0.5, white-grey 0.5 -> mean 2/3.
    assert pairwise_l1(torch.cat([black, white, grey])) == pytest.approx(2 / 3)
    assert pairwise_l1(torch.rand(4, 3, 8, 8) * 2 - 1) > 0


def test_shape_is_checked():
    with pytest.raises(ValueError):
        pairwise_l1(torch.zeros(3, 8, 8))
