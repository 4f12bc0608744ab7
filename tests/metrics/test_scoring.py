"""img2img.metrics.scoring: the pieces eval and training-time validation share."""

from __future__ import annotations

import pytest
import torch

from img2img.engine import validation
from img2img.errors import DataError, MissingPackageError
from img2img.features import weights as feature_weights
from img2img.metrics.scoring import (
    NATIVE_MAX_SIDE,
    Accumulator,
    capped,
    center_crop,
    perceptual_networks,
    set_swd,
    spread,
    square,
    swd_crop_side,
)


@pytest.mark.parametrize("total, n", [(1, 1), (7, 3), (10, 10), (50, 8), (481, 16), (2000, 2)])
def test_one_spread_for_eval_limits_and_validation_items(total, n):
    # Validation's fixed items were i * total // n before the two shared one helper: the same indices.
    assert spread(total, n) == [i * total // n for i in range(n)]

    class Recorder:
        def __len__(self):
            return total

        def __getitem__(self, index_seed):
            return index_seed[0]

    assert validation._fixed_items(Recorder(), n, "validation") == spread(total, n)


def test_capped_scales_the_longest_side_down_and_keeps_small_items(host):
    task = host.get("restore")
    item = {"x": torch.rand(3, 40, 2048) * 2 - 1, "key": "wide"}
    small, shrunk = capped(item, task, NATIVE_MAX_SIDE)
    assert shrunk and tuple(small["x"].shape) == (3, 20, 1024) and small is not item and small["key"] == "wide"
    assert capped(small, task, NATIVE_MAX_SIDE) == (small, False)
    assert capped(item, task, None) == (item, False)  # no cap


def test_square_and_center_crop():
    images = torch.rand(2, 3, 30, 50)
    assert tuple(center_crop(images, 20).shape) == (2, 3, 20, 20)
    assert torch.equal(center_crop(images, 30), images[..., :, 10:40])
    assert tuple(square(images, 16).shape) == (2, 3, 16, 16)
    already = images[..., :16, :16]
    assert square(already, 16) is already


def test_perceptual_networks_say_why_not_and_leave_the_global_rng_alone(monkeypatch):
    def missing(module, relative, what):
        raise MissingPackageError(feature_weights.install_hint(what))

    monkeypatch.setattr(feature_weights, "package_file", missing)
    before = torch.random.get_rng_state()
    why = perceptual_networks(torch.device("cpu"))
    assert isinstance(why, str) and why
    assert torch.equal(torch.random.get_rng_state(), before)


def test_accumulator_scores_without_targets_are_not_applicable():
    acc = Accumulator()
    outputs = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    acc.add(outputs, None, torch.zeros(2, 1, 16, 16), {"l1": lambda fake, real: (fake - real).abs().mean((1, 2, 3))})
    scores = acc.scores(torch.ones(2), ["l1"], perceptual=False, paired="n/a")
    assert scores["psnr"] == scores["ssim"] == "n/a" and scores["task"] == {"l1": "n/a"}
    assert scores["lpips"] == scores["lpips_diversity"] == "unavailable"  # no networks: why is in the report
    assert scores["diversity"] > 0 and scores["sharpness"] > 0


def test_set_swd_takes_as_many_of_each_set_and_a_common_crop():
    gen = torch.Generator().manual_seed(0)
    reals = [torch.rand(3, 40, 48, generator=gen) for _ in range(6)]
    fakes = {"a": [torch.rand(3, 36, 40, generator=gen) for _ in range(4)]}
    side = swd_crop_side([reals, *fakes.values()])
    assert side == 36
    levels = set_swd(fakes, reals, seed=0, crop=side)
    assert set(levels) == {"a"} and "swd_mean" in levels["a"]
    with pytest.raises(DataError, match="needs at least 16 px"):
        swd_crop_side([[torch.rand(3, 8, 40)]])
