"""Inference at the training scale: a task with ``work_scale`` has its generator run on a downscaled condition
and its output upscaled back, while ``compose`` keeps the user's pixels at full resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from img2img.config import GeneratorConfig
from img2img.errors import ConfigError
from img2img.inference import Translator
from img2img.models import UNetGenerator
from img2img.weights import save_generator


@pytest.fixture(autouse=True)
def _torch_backend(monkeypatch):
    monkeypatch.setenv("IMG2IMG_BACKEND", "torch")


def _weights(tmp_path: Path, task, train_size: int = 32) -> Path:
    cfg = GeneratorConfig(in_channels=task.in_channels, out_channels=task.out_channels, ngf=8, max_mult=4, nz=4)
    torch.manual_seed(0)
    g = UNetGenerator(cfg, size=train_size)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return save_generator(tmp_path / f"{task.name}-cgan.safetensors", g, task=task.name, model="cgan",
                          train_size=train_size, step=0)


class _Spy:
    """Wraps a generator and records every condition it is given, and its spatial size."""

    def __init__(self, generator) -> None:
        self.inner, self.sizes, self.conditions = generator, [], []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, y, z):
        self.sizes.append(tuple(y.shape[2:]))
        self.conditions.append(y.clone())
        return self.inner(y, z)


def test_uncrop_paints_at_the_training_scale_and_keeps_known_pixels_full_resolution(tmp_path, host):
    task = host.get("uncrop")
    translator = Translator(task, _weights(tmp_path, task), device="cpu")
    # the shorter side at the scale training crops are cut at: 286/256 x train_size 32, rounded
    assert translator.max_side == 36 and translator.work_side == "shortest"
    translator.generator = spy = _Spy(translator.generator)
    photo = torch.rand(1, 3, 90, 120) * 2 - 1
    y = translator.condition(photo, sides="left+right", amount=0.25)
    out = translator.sample(y, samples=2, seed=0)
    # a 90x180 canvas, its shorter side scaled to 36; then the detail pass at full resolution (work_detail)
    assert spy.sizes == [(36, 72), (90, 180)]
    assert out.shape == (2, 3, 90, 180)
    # The photo comes back untouched: compose pastes it at full resolution, not an upscaled copy.
    assert torch.equal(out[:, :, :, 30:150], photo.expand(2, -1, -1, -1))
    assert (out[0] - out[1]).abs().mean() > 1e-4  # the fills still differ per sample


def test_max_side_zero_runs_at_full_resolution_and_small_inputs_are_never_upscaled(tmp_path, host):
    task = host.get("uncrop")
    weights = _weights(tmp_path, task)
    native = Translator(task, weights, device="cpu", max_side=0)
    assert native.max_side is None and native.work_size(90, 180) == (90, 180)
    scaled = Translator(task, weights, device="cpu")
    assert scaled.work_size(20, 30) == (20, 30)
    assert scaled.work_size(180, 90) == (72, 36) and scaled.work_size(30, 200) == (30, 200)
    with pytest.raises(ConfigError):
        Translator(task, weights, device="cpu", max_side=-5)


def test_a_task_may_bound_the_longer_side_and_a_given_size_bounds_the_longest(tmp_path, host):
    task = host.get("uncrop")
    longer = type("LongerSide", (type(task),), {"work_scale": 1.0, "work_side": "longest"})()
    weights = _weights(tmp_path, longer)
    translator = Translator(longer, weights, device="cpu")
    assert translator.max_side == 32 and translator.work_side == "longest"  # 1.0 x train_size 32
    # a canvas's longer side scaled to 32 (a canvas the size of the training crops, e.g. a sketch), whatever its shape
    assert translator.work_size(180, 90) == (32, 16) and translator.work_size(30, 200) == (5, 32)
    capped = Translator(task, weights, device="cpu", max_side=32)  # a size the caller gives bounds the longest
    assert capped.work_side == "longest" and capped.work_size(180, 90) == (32, 16)


def test_tasks_without_work_scale_run_at_the_input_resolution(tmp_path, host):
    task = host.get("restore")
    assert task.work_scale is None
    translator = Translator(task, _weights(tmp_path, task), device="cpu")
    translator.generator = spy = _Spy(translator.generator)
    translator.sample(torch.rand(1, 3, 64, 80) * 2 - 1)
    assert translator.max_side is None and spy.sizes == [(64, 80)]


def test_uncrop_resize_condition_keeps_the_mask_binary_and_unknown_pixels_blank(host):
    task = host.get("uncrop").configure(fill="grey")
    y = task.prepare_input(torch.rand(1, 3, 100, 100) * 2 - 1, sides="right", amount=0.33)  # 100x133
    small = task.resize_condition(y, (30, 40))
    mask = small[:, 3:4]
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(small[:, :3] * mask == 0)
    # A column that is only partly unknown after the resize counts as unknown: the known side never shrinks
    # into the blank, so the generator sees no grey-diluted photo pixels.
    known_columns = int((mask[0, 0, 0] == 0).sum())
    assert int(100 / 133 * 40) - 1 <= known_columns <= int(100 / 133 * 40)


def test_sketch2photo_paints_a_canvas_sketch_at_its_training_size_with_binary_strokes(tmp_path, host):
    task = host.get("sketch2photo")
    assert task.work_scale == 1.0
    translator = Translator(task, _weights(tmp_path, task), device="cpu")
    translator.generator = spy = _Spy(translator.generator)
    sketch = -torch.ones(1, 3, 256, 256)
    sketch[..., 40:216, 40:216] = 1  # white paper inside a thick black frame ...
    sketch[..., 127:128, :] = -1  # ... and one 1-px line across it
    y = task.prepare_input(sketch)
    out = translator.sample(y, 2)
    assert spy.sizes == [(32, 32)] and out.shape[-2:] == y.shape[-2:]
    small = task.resize_condition(y, (32, 32))
    assert set(small.unique().tolist()) <= {-1.0, 1.0}  # binary, like every training condition
    assert (small == -1).any() and (small == 1).any()


def test_the_detail_pass_keeps_the_working_scale_layout_and_adds_full_resolution_grain():
    from img2img.inference import detail_blend

    torch.manual_seed(0)
    smooth = torch.linspace(-1, 1, 96).view(1, 1, 1, 96).expand(1, 3, 64, 96).clone()  # a layout: a ramp
    grain = torch.rand(1, 3, 64, 96) * 2 - 1  # all detail, no layout
    out = detail_blend(smooth, grain, scale=3.0)
    blur = lambda t: torch.nn.functional.avg_pool2d(t, 16)  # noqa: E731
    # the low frequencies are the upscaled pass's, the high ones the full-resolution pass's
    assert (blur(out) - blur(smooth)).abs().max() < 0.1
    assert (out - smooth).std() > 0.3 and torch.corrcoef(torch.stack([(out - smooth).flatten(), grain.flatten()]))[0, 1] > 0.8
    assert torch.equal(detail_blend(smooth, grain, scale=3.0), out)  # deterministic
    tiny = torch.rand(1, 3, 2, 2)
    assert torch.equal(detail_blend(tiny, torch.rand(1, 3, 2, 2), scale=3.0), tiny)  # too small to split: as it was


def test_each_uncrop_model_gets_the_unknown_region_filled_as_it_was_trained(tmp_path, host):
    # eval and the app hand the cGAN's condition to the baseline too: a model trained with fill=mirror must see
    # its mirrored fill, not the other model's grey, whatever configuration made the condition.
    task = host.get("uncrop")
    path = save_generator(tmp_path / "uncrop-cgan.safetensors", UNetGenerator(GeneratorConfig(
        in_channels=4, out_channels=3, ngf=8, max_mult=4, nz=4), size=32), task="uncrop", model="cgan",
        train_size=32, step=0, task_options={**task.options, "fill": "mirror"})
    translator = Translator(task, path, device="cpu")
    translator.generator = spy = _Spy(translator.generator)
    photo = torch.rand(1, 3, 24, 24) * 2 - 1
    grey = task.prepare_input(photo, sides="right", amount=0.25)
    mirror = task.configure(fill="mirror").generator_input(grey)  # filled by another configuration (eval's conditions)
    assert not torch.equal(grey, mirror)
    out_grey, out_mirror = translator.sample(grey, 2), translator.sample(mirror, 2)
    seen = spy.conditions
    assert len(seen) == 2 and torch.equal(seen[0], seen[1]) and torch.equal(seen[0][:1], mirror)
    assert torch.equal(out_grey, out_mirror)


def test_a_file_trained_before_an_option_existed_runs_with_its_legacy_value_not_todays_default(tmp_path, host):
    # uncrop's default fill may change; a file that records no fill was trained grey and must stay grey.
    class Later(type(host.get("uncrop"))):
        default_options = {**type(host.get("uncrop")).default_options, "fill": "edge"}

    def saved(name, options):
        return save_generator(tmp_path / f"{name}.safetensors", UNetGenerator(GeneratorConfig(
            in_channels=4, out_channels=3, ngf=8, max_mult=4, nz=4), size=32), task="uncrop", model="cgan",
            train_size=32, step=0, task_options=options)

    task = Later()
    old = {k: v for k, v in task.options.items() if k != "fill"}
    assert Translator(task, saved("old", old), device="cpu").task.options["fill"] == "grey"
    assert Translator(task, saved("new", {**old, "fill": "mirror"}), device="cpu").task.options["fill"] == "mirror"
    assert Translator(task, saved("old", old), device="cpu", task_options={"fill": "edge"}).task.options["fill"] == "edge"
    assert Translator(host.get("sketch2photo"), _weights(tmp_path, host.get("sketch2photo")), device="cpu").task.options \
        == host.get("sketch2photo").options  # a task without legacy options: the file's, else the defaults
