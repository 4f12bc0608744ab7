"""Training-time validation: val/* scores in log.jsonl, the best weights file, resume, the fallback, the plot."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_config
from PIL import Image

from img2img.config import TrainConfig
from img2img.engine.logging import BEST_MARKER, plot_loss_curves
from img2img.engine.trainer import Trainer
from img2img.engine.validation import Validation
from img2img.errors import ConfigError, MissingPackageError
from img2img.features import perceptual_available
from img2img.features import weights as feature_weights
from img2img.metrics.sharpness import sharpness_ratio
from img2img.weights import load_generator, read_info

PERCEPTUAL_KEYS = {"val/lpips", "val/fd_lite0", "val/kid_lite0"}


@pytest.fixture
def uncrop(cached_uncrop):
    return cached_uncrop


def read_metadata(path):
    info = read_info(path)
    return {"step": str(info.step), **info.extra}


def _records(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def _val_records(out):
    return [r for r in _records(out) if "val/l1" in r]


def _scripted(monkeypatch, key, values):
    """Validation.measure returns ``values`` in order (with the key the best weights follow)."""
    values = list(values)
    perceptual = {"val/lpips": 0.2, "val/fd_lite0": 100.0, "val/kid_lite0": 0.1}  # as with the extra installed
    monkeypatch.setattr(Validation, "measure", lambda self, generator, swd=False: {
        "val/l1": 0.1, "val/psnr": 20.0, **perceptual, **({"val/swd": 50.0} if swd else {}), key: values.pop(0)})
    return values


def _best_writes(monkeypatch):
    """The steps at which the best weights file is written."""
    import img2img.engine.trainer as trainer_module

    writes, real = [], trainer_module.save_generator

    def spy(path, *args, **kwargs):
        if path.name.endswith("-best.safetensors"):
            writes.append(kwargs["step"])
        return real(path, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "save_generator", spy)
    return writes


def test_checkpoints_record_validation_scores_and_keep_the_best_weights(uncrop, tmp_path):
    out = tmp_path / "run"
    Trainer(tiny_config(steps=4, val_images=4), uncrop, out, progress=False).fit()
    records = _val_records(out)
    assert [r["step"] for r in records] == [2, 4]  # every checkpoint
    expected = {"val/l1", "val/psnr"} | (PERCEPTUAL_KEYS if perceptual_available() else {"val/swd"})
    for r in records:
        assert expected <= set(r) and all(isinstance(r[k], float) for k in expected)
        assert r["best_step"] in (2, 4)
    best = out / "uncrop-cgan-best.safetensors"
    metadata = read_metadata(best)
    assert metadata["best_measure"] == ("val/kid_lite0" if perceptual_available() else "val/swd")
    assert int(metadata["step"]) == records[-1]["best_step"]
    assert float(metadata["best_value"]) == next(r for r in records if r["step"] == records[-1]["best_step"])[
        metadata["best_measure"]]
    generator, info = load_generator(best, expected_task="uncrop")
    assert info.model == "cgan" and info.step == records[-1]["best_step"]


@pytest.mark.parametrize("model, key, values, writes", [
    ("cgan", "val/kid_lite0", [0.5, 0.3, 0.4, 0.3, 0.2], [2, 4, 10]),  # lower is better; a tie is no improvement
    ("regression", "val/psnr", [10.0, 12.0, 11.0, 12.5, 9.0], [2, 4, 8]),  # higher is better
])
def test_best_weights_are_replaced_only_when_the_measure_improves(uncrop, tmp_path, monkeypatch, model, key, values,
                                                                   writes):
    _scripted(monkeypatch, key, values)  # key: the measure each model's best weights follow
    written = _best_writes(monkeypatch)
    out = tmp_path / "run"
    Trainer(tiny_config(model=model, steps=10, val_images=4), uncrop, out, progress=False).fit()
    assert written == writes
    assert [r["best_step"] for r in _val_records(out)] == [max(s for s in writes if s <= step)
                                                           for step in (2, 4, 6, 8, 10)]
    assert int(read_metadata(out / f"uncrop-{model}-best.safetensors")["step"]) == writes[-1]


@pytest.mark.parametrize("choice, key, values, writes", [
    ("lpips", "val/lpips", [0.5, 0.3, 0.4, 0.3, 0.2], [2, 4, 10]),  # KID is scripted flat: only LPIPS can choose
    ("psnr", "val/psnr", [10.0, 12.0, 11.0, 12.5, 9.0], [2, 4, 8]),  # higher is better, also for the cGAN
    ("swd", "val/swd", [60.0, 70.0, 55.0, 58.0, 40.0], [2, 6, 10]),  # computed on request beside the networks
])
def test_val_best_names_the_measure_the_best_weights_follow(uncrop, tmp_path, monkeypatch, choice, key, values,
                                                            writes):
    _scripted(monkeypatch, key, values)
    written = _best_writes(monkeypatch)
    out = tmp_path / "run"
    Trainer(tiny_config(steps=10, val_images=4, val_best=choice), uncrop, out, progress=False).fit()
    assert written == writes
    metadata = read_metadata(out / "uncrop-cgan-best.safetensors")
    assert metadata["best_measure"] == key and int(metadata["step"]) == writes[-1]


def test_a_resume_that_names_another_val_best_starts_the_best_afresh(uncrop, tmp_path, monkeypatch):
    out = tmp_path / "run"
    written = _best_writes(monkeypatch)
    _scripted(monkeypatch, "val/kid_lite0", [0.3, 0.5])
    Trainer(tiny_config(steps=4, val_images=4), uncrop, out, progress=False).fit()
    _scripted(monkeypatch, "val/lpips", [0.6, 0.4])  # worse than nothing it could be compared with: written
    trainer = Trainer(tiny_config(steps=8, val_images=4, val_best="lpips"), uncrop, out, resume=True, progress=False)
    trainer.fit()
    assert written == [2, 6, 8]
    assert trainer.validation.best == {"key": "val/lpips", "value": 0.4, "step": 8}


def test_resume_keeps_the_best_score(uncrop, tmp_path, monkeypatch):
    out = tmp_path / "run"
    written = _best_writes(monkeypatch)
    _scripted(monkeypatch, "val/kid_lite0", [0.3, 0.5, 0.4])
    Trainer(tiny_config(steps=6, val_images=4), uncrop, out, progress=False).fit()
    assert written == [2]
    # 0.35 at step 8 is worse than step 2's 0.3, which only the checkpoint remembers after the restart.
    _scripted(monkeypatch, "val/kid_lite0", [0.35, 0.25])
    trainer = Trainer(tiny_config(steps=10, val_images=4), uncrop, out, resume=True, progress=False)
    assert trainer.validation.best == {"key": "val/kid_lite0", "value": 0.3, "step": 2}
    trainer.fit()
    assert written == [2, 10]
    assert [r["best_step"] for r in _val_records(out)] == [2, 2, 2, 2, 10]


def test_validation_keeps_exact_resume_exact(uncrop, tmp_path):
    straight = Trainer(tiny_config(steps=6, val_images=4), uncrop, tmp_path / "a", progress=False)
    straight.fit()
    Trainer(tiny_config(steps=6, val_images=4), uncrop, tmp_path / "b", progress=False).fit(until=2)
    resumed = Trainer(tiny_config(steps=6, val_images=4), uncrop, tmp_path / "b", resume=True, progress=False)
    resumed.fit()
    for key, value in straight.G.state_dict().items():
        assert torch.equal(value, resumed.G.state_dict()[key]), key
    assert straight.validation.best == resumed.validation.best
    assert _val_records(tmp_path / "a") == [{**r, "time": a["time"]} for r, a in
                                            zip(_val_records(tmp_path / "b"), _val_records(tmp_path / "a"))]


@pytest.mark.parametrize("val_best", ["auto", "lpips"])  # lpips needs the extra: the default takes over
def test_without_the_weight_packages_validation_falls_back_with_one_warning(uncrop, tmp_path, monkeypatch, val_best):
    def missing(module, relative, what):
        raise MissingPackageError(feature_weights.install_hint(what))

    monkeypatch.setattr(feature_weights, "package_file", missing)
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="val/lpips, val/fd_lite0 and val/kid_lite0 skipped.*the best weights "
                                         "follow val/swd") as caught:
        Trainer(tiny_config(steps=4, val_images=4, val_best=val_best), uncrop, out, progress=False).fit()
    assert sum("validation:" in str(w.message) for w in caught) == 1
    for r in _val_records(out):
        assert "val/swd" in r and not PERCEPTUAL_KEYS & set(r)
    assert read_metadata(out / "uncrop-cgan-best.safetensors")["best_measure"] == "val/swd"


def test_val_images_zero_turns_validation_off(uncrop, tmp_path):
    out = tmp_path / "run"
    Trainer(tiny_config(steps=2, val_images=0), uncrop, out, progress=False).fit()
    assert not _val_records(out) and not (out / "uncrop-cgan-best.safetensors").exists()


def test_val_every_sets_the_cadence_and_the_last_step_always_validates(uncrop, tmp_path, monkeypatch):
    _scripted(monkeypatch, "val/kid_lite0", [0.5, 0.4, 0.3])
    out = tmp_path / "run"
    Trainer(tiny_config(steps=10, val_images=4, val_every=4), uncrop, out, progress=False).fit()
    assert [r["step"] for r in _val_records(out)] == [4, 8, 10]


@pytest.mark.parametrize("key, value", [("val_images", -1), ("val_every", 0), ("val_best", "fid")])
def test_bad_validation_settings_are_config_errors(key, value):
    cfg = TrainConfig()
    setattr(cfg, key, value)
    with pytest.raises(ConfigError, match=key):
        cfg.validate()


def test_the_loss_curve_has_validation_panels_with_the_best_step(tmp_path):
    log = tmp_path / "log.jsonl"
    rows = [{"step": s, "loss/l1": 1.0 / s, "loss/adversarial": 0.7} for s in range(10, 110, 10)]
    rows += [{"step": s, "val/lpips": 0.3 - s / 1000, "val/kid_lite0": v, "best_step": b}
             for s, v, b in ((50, 0.2, 50), (100, 0.25, 50))]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    image = Image.open(plot_loss_curves(log, tmp_path / "curve.png", panel_height=200)).convert("RGB")
    assert image.height == 4 * 200  # loss/adversarial, loss/l1, then val/kid_lite0, val/lpips
    marker = tuple(int(BEST_MARKER[i : i + 2], 16) for i in (1, 3, 5))
    pixels = image.load()

    def marked(panel):
        return any(pixels[x, y] == marker for x in range(image.width) for y in range(panel * 200, panel * 200 + 200))

    assert [marked(p) for p in range(4)] == [False, False, True, True]
    lines = [any(pixels[x, y] not in ((255, 255, 255), (0, 0, 0), (136, 136, 136), marker)
                 for x in range(80, image.width - 30) for y in range(p * 200 + 30, p * 200 + 170)) for p in (2, 3)]
    assert lines == [True, True]  # each validation series is drawn


def test_validation_draws_no_global_random_numbers(uncrop, tmp_path):
    trainer = Trainer(tiny_config(steps=2, val_images=4), uncrop, tmp_path, progress=False)
    before = torch.get_rng_state()
    trainer.validation.run(trainer.ema.model, 0, lambda metadata: None)
    assert torch.equal(before, torch.get_rng_state())


def test_sharpness_always_and_swd_only_when_asked_or_without_the_networks(uncrop, tmp_path):
    trainer = Trainer(tiny_config(steps=1, val_images=4), uncrop, tmp_path / "run", progress=False)
    plain = trainer.validation.measure(trainer.ema.model)
    bench = trainer.validation.measure(trainer.ema.model, swd=True)
    assert "val/sharpness" in plain and "val/swd" in bench
    assert ("val/swd" in plain) == ("val/lpips" not in plain)  # SWD stands in for the networks when they are missing
    assert math.isfinite(plain["val/sharpness"]) and plain["val/sharpness"] > 0
    x, y = trainer.validation._fixed_inputs()
    fake = trainer.validation._samples(trainer.ema.model, y, "validation-z")
    assert plain["val/sharpness"] == pytest.approx(sharpness_ratio(fake, x))
    assert {k: v for k, v in bench.items() if k in plain} == plain  # the same fixed inputs and latents


@pytest.mark.skipif(not perceptual_available(), reason="pretrained weights not installed")
def test_diversity_is_scored_for_a_latent_generator_only(uncrop, tmp_path):
    trainer = Trainer(tiny_config(steps=1, val_images=4), uncrop, tmp_path / "gan", progress=False)
    generator = trainer.ema.model.eval()
    assert 0 < trainer.validation.measure(generator)["val/lpips_diversity"] < 1

    class IgnoresZ(torch.nn.Module):  # one sample per input, whatever the latent
        nz = generator.nz

        def forward(self, y, z):
            return generator(y, torch.zeros_like(z))

    assert trainer.validation.measure(IgnoresZ())["val/lpips_diversity"] == pytest.approx(0.0, abs=1e-6)
    baseline = Trainer(tiny_config(model="regression", steps=1, val_images=4), uncrop, tmp_path / "mse", progress=False)
    assert "val/lpips_diversity" not in baseline.validation.measure(baseline.ema.model)


def test_native_size_validation_scores_whole_images_at_their_own_size(host, tmp_path):
    from img2img.data.procedural import render_scene

    photos = tmp_path / "photos"
    photos.mkdir()
    sizes = [(40, 72), (56, 48), (48, 64), (72, 40)] * 3
    for i, (h, w) in enumerate(sizes):
        Image.fromarray((render_scene(i, h, w).permute(1, 2, 0).numpy() * 255).astype("uint8")).save(photos / f"{i:02d}.png")
    cfg = tiny_config(steps=2, task="restore", data=[str(photos)], val_images=2, val_native=2, val_fraction=0.34)
    trainer = Trainer(cfg, host.get("restore"), tmp_path / "run", progress=False)
    trainer.fit()
    row = _val_records(tmp_path / "run")[-1]
    assert {"val/native_psnr", "val/native_sharpness"} <= set(row)
    assert math.isfinite(row["val/native_psnr"]) and row["val/native_sharpness"] > 0
    assert ("val/native_lpips" in row) == perceptual_available()
    shapes = {tuple(x.shape[-2:]) for x, _ in trainer.validation._native_inputs}
    assert len(trainer.validation._native_inputs) == 2 and shapes <= set(sizes)  # whole photos, not 32 px crops
    again = trainer.validation.measure(trainer.ema.model)
    assert again["val/native_psnr"] == row["val/native_psnr"]  # fixed conditions and latents
    assert "val/native_psnr" not in Trainer(tiny_config(steps=1, task="restore", data=[str(photos)], val_images=2,
                                                        val_fraction=0.34), host.get("restore"), tmp_path / "plain",
                                            progress=False).validation.measure(trainer.ema.model)


def test_native_size_validation_refuses_in_one_line_where_the_data_cannot_come_whole(uncrop, tmp_path):
    with pytest.raises(ConfigError, match="val_native must be >= 0"):
        tiny_config(val_native=-1).validate()
    with pytest.raises(ConfigError, match="^val_native: task 'uncrop' cannot give its validation images at native size"):
        Trainer(tiny_config(val_images=2, val_native=2), uncrop, tmp_path, progress=False)
