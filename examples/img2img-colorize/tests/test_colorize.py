"""The plugin's own tests: the img2img conformance kit plus what is specific to colourising."""

from __future__ import annotations

import torch

from img2img.seeding import make_generator
from img2img.testing import check_task
from img2img_colorize import ColorizeTask, luminance


def test_colorize_conforms(tmp_path):
    check_task(ColorizeTask(), tmp_path=tmp_path)


def test_the_condition_is_the_luminance():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    y = ColorizeTask().make_condition(x, make_generator(0))
    assert y.shape == (2, 1, 8, 8)
    assert torch.allclose(y, 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:])


def test_grey_stays_grey():
    grey = torch.full((1, 3, 4, 4), 0.25)
    assert torch.allclose(luminance(grey), torch.full((1, 1, 4, 4), 0.25))


def test_the_luma_standard_is_a_task_option():
    task = ColorizeTask().configure(luma="rec709")
    x = torch.tensor([0.0, 1.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(task.make_condition(x, make_generator(0)), torch.tensor(0.7152).view(1, 1, 1, 1))
