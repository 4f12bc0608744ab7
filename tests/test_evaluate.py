"""``evaluate`` and ``img2img eval`` on two tiny models trained for a few steps (the numbers mean nothing;
their presence, layout and reproducibility do)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import numpy as np
import torch
from PIL import Image

from conftest import tiny_config
from img2img.cli import main
from img2img.engine.trainer import Trainer
from img2img.evaluate import COLUMNS, evaluate, spread
from img2img.features import INSTALL_COMMAND, perceptual_available

PADDING = 2  # make_grid's default


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory, host) -> dict[str, Path]:
    """A 3-step cgan and a 3-step regression for uncrop at 32 px, trained on CachedScenes."""
    from conftest import CachedScenes

    base = type(host.get("uncrop"))

    class CachedUncrop(base):  # module-scoped twin of the cached_uncrop fixture
        def build_dataset(self, data_dir, split, size, val_fraction=0.1):
            return CachedScenes(size, 16 if split == "train" else 4)

    root = tmp_path_factory.mktemp("eval-models")
    paths = {}
    for model in ("cgan", "regression"):
        cfg = tiny_config(model=model, steps=3, checkpoint_every=3)
        paths[model] = Trainer(cfg, CachedUncrop(), root / model, progress=False).fit()
    paths["task"] = CachedUncrop()
    return paths


def _numbers(report) -> dict[str, float]:
    """Every number of a report, flattened to "model/metric" keys."""
    flat = {}
    for model, scores in report.models.items():
        for key, value in {**scores, **scores["task"], **report.swd_levels[model]}.items():
            if isinstance(value, float):
                flat[f"{model}/{key}"] = value
    return flat


def test_evaluate_reports_both_models_reproducibly(tiny_weights, tmp_path):
    task = tiny_weights["task"]
    kwargs = dict(cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], samples=3, device="cpu",
                  batch_size=3)  # 3 does not divide 4 images: a ragged last batch
    report = evaluate(task, grid=tmp_path / "grid.png", grid_rows=3, **kwargs)
    assert report.images == 4 and report.size == 32 and report.samples == 3
    for model in ("cgan", "regression"):
        scores = report.models[model]
        assert set(scores) >= {key for key, _, _ in COLUMNS} | {"fid", "kid", "task"}
        assert scores["fid"] == "unavailable" and scores["kid"] == "unavailable"
        assert 0 < scores["ssim"] <= 1 and scores["psnr"] > 0 and scores["swd"] >= 0
    assert report.models["regression"]["diversity"] == 0.0
    assert report.models["cgan"]["diversity"] > 0.0
    assert set(report.swd_levels["cgan"]) == {"swd_32", "swd_16", "swd_mean"}
    if perceptual_available():
        for model in ("cgan", "regression"):
            scores = report.models[model]
            assert 0 < scores["lpips"] < 1 and scores["fd_lite0"] > 0 and isinstance(scores["kid_lite0"], float)
        assert report.models["regression"]["lpips_diversity"] == pytest.approx(0.0, abs=1e-6)
        assert report.models["cgan"]["lpips_diversity"] > 0.0

    # Rows: inputs; columns: condition | regression | 3 cGAN samples | target.
    width, height = Image.open(tmp_path / "grid.png").size
    assert (width, height) == (6 * (32 + PADDING) + PADDING, 3 * (32 + PADDING) + PADDING)

    same = evaluate(task, **kwargs)
    assert _numbers(same) == _numbers(report) and same.table() == report.table()
    # Another batching gives the same conditions and latents; only float round-off in the convolutions may differ.
    rebatched = evaluate(task, **{**kwargs, "batch_size": 4})
    assert _numbers(rebatched) == pytest.approx(_numbers(report), rel=1e-4, abs=1e-6)


def test_table_has_both_rows_and_all_columns(tiny_weights):
    report = evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"],
                      samples=2, device="cpu")
    lines = report.table().splitlines()
    header = lines[0]
    for title in ("PSNR↑", "SSIM↑", "SWD↓", "sharpness→1", "diversity↑", "LPIPS↓", "LPIPS-div↑", "FD-Lite0↓",
                  "KID-Lite0↓", "FID↓", "KID↓"):
        assert title in header
    rows = [line for line in lines if line.startswith("| cgan ") or line.startswith("| regression ")]
    assert len(rows) == 2
    assert all(row.count("|") == header.count("|") for row in rows)
    assert "unavailable" in lines[-1]


def test_cli_eval_prints_table_writes_json_and_grid(tiny_weights, tmp_path, capsys):
    argv = ["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
            str(tiny_weights["regression"]), "--samples", "2", "--limit", "3", "--device", "cpu",
            "--json", str(tmp_path / "r.json"), "--grid", str(tmp_path / "g.png")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "| cgan |" in first and "| regression |" in first
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["images"] == 3 and data["models"]["regression"]["diversity"] == 0.0
    width, height = Image.open(tmp_path / "g.png").size
    assert (width, height) == (5 * (32 + PADDING) + PADDING, 3 * (32 + PADDING) + PADDING)

    assert main(argv) == 0
    assert capsys.readouterr().out == first  # same arguments, same printed numbers
    assert json.loads((tmp_path / "r.json").read_text())["models"] == data["models"]


def test_cli_eval_missing_weights_is_one_line(tmp_path, capsys):
    code = main(["eval", "--task", "uncrop", "--weights-dir", str(tmp_path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1
    assert "no cgan weights" in lines[0] and "--cgan" in lines[0] and "img2img train" in lines[0]


def test_cli_eval_bad_fid_weights_is_one_line(tiny_weights, tmp_path, capsys):
    bad = tmp_path / "inception.pt"
    bad.write_bytes(b"not a torchscript archive")
    code = main(["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
                 str(tiny_weights["regression"]), "--fid-weights", str(bad), "--device", "cpu"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "not a TorchScript module" in lines[0]


def test_swapped_weights_are_refused(tiny_weights):
    from img2img.errors import WeightsError

    with pytest.raises(WeightsError, match="regression model"):
        evaluate(tiny_weights["task"], cgan=tiny_weights["regression"], regression=tiny_weights["regression"],
                 device="cpu")


class _PooledColours(torch.nn.Module):
    """A stand-in for an Inception network: (N, 3, 299, 299) -> (N, 48) pooled colours."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)


def test_fid_and_kid_with_a_local_extractor(tiny_weights, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(_PooledColours()).save(str(tmp_path / "features.pt"))
    report = evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"],
                      samples=2, device="cpu", fid_weights=tmp_path / "features.pt")
    for model in ("cgan", "regression"):
        assert isinstance(report.models[model]["fid"], float) and report.models[model]["fid"] >= 0
        assert isinstance(report.models[model]["kid"], float)
    assert report.fid_note == "" and "FID/KID unavailable" not in report.table()


def test_task_metrics_may_ask_for_the_condition(tiny_weights):
    # Two-argument metrics get (fake, real); three-argument ones also the condition y (uncrop's fill_psnr).
    report = evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"],
                      samples=2, limit=3, device="cpu")
    for model in ("cgan", "regression"):
        assert 0 < report.models[model]["task"]["fill_psnr"] <= 100
    assert "fill_psnr" in report.table()


def test_without_the_weight_packages_eval_says_how_to_get_them(tiny_weights, monkeypatch):
    from img2img.errors import MissingPackageError
    from img2img.features import weights as feature_weights

    def missing(module, relative, what):
        raise MissingPackageError(feature_weights.install_hint(what))

    monkeypatch.setattr(feature_weights, "package_file", missing)
    report = evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"],
                      samples=2, limit=2, device="cpu")
    for model in ("cgan", "regression"):
        assert all(report.models[model][key] == "unavailable"
                   for key in ("lpips", "lpips_diversity", "fd_lite0", "kid_lite0"))
        assert isinstance(report.models[model]["psnr"], float)
    assert INSTALL_COMMAND in report.table().splitlines()[-1]


def _write_pngs(folder: Path, count: int, seed: int, size: tuple[int, int]) -> Path:
    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(seed)
    for i in range(count):
        pixels = (torch.rand(size[1] // 4, size[0] // 4, 3, generator=gen) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).resize(size, Image.BILINEAR).save(folder / f"{i:02d}.png")
    return folder


def test_cli_eval_inputs_without_targets_against_reference_photos(tiny_weights, tmp_path, capsys):
    inputs = _write_pngs(tmp_path / "inputs", 3, 0, (40, 32))
    photos = _write_pngs(tmp_path / "photos", 5, 1, (32, 48))
    argv = ["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
            str(tiny_weights["regression"]), "--data", str(inputs), "--reference", str(photos), "--samples", "2",
            "--device", "cpu", "--quiet", "--json", str(tmp_path / "r.json"), "--grid", str(tmp_path / "g.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "paired metrics n/a" in out and "5 photos of" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["images"] == 3 and data["reference"] == str(photos)
    for model in ("cgan", "regression"):
        scores = data["models"][model]
        assert scores["psnr"] == scores["ssim"] == scores["lpips"] == scores["task"]["fill_psnr"] == "n/a"
        assert scores["swd"] >= 0 and scores["sharpness"] > 0
        if perceptual_available():
            assert scores["fd_lite0"] > 0 and isinstance(scores["kid_lite0"], float)
    assert data["models"]["regression"]["diversity"] == 0.0 and data["models"]["cgan"]["diversity"] > 0
    # condition | regression | 2 cGAN samples, no target column; uncrop grows the 32 px input by a quarter.
    width, height = Image.open(tmp_path / "g.png").size
    assert height == 3 * (32 + PADDING) + PADDING and width > 4 * (32 + PADDING)
    assert main(argv) == 0 and capsys.readouterr().out == out


@pytest.mark.parametrize("extra, message", [
    (["--reference", "PHOTOS"], "--reference needs --data INPUTS"),
    (["--data", "INPUTS", "--reference", "missing"], "--reference folder not found"),
])
def test_cli_eval_reference_errors_are_one_line(tiny_weights, tmp_path, capsys, extra, message):
    _write_pngs(tmp_path / "INPUTS", 2, 0, (32, 32))
    _write_pngs(tmp_path / "PHOTOS", 2, 1, (32, 32))
    extra = [str(tmp_path / e) if e.isupper() or e == "missing" else e for e in extra]
    code = main(["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
                 str(tiny_weights["regression"]), "--device", "cpu", "--quiet", *extra])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0]


def test_reference_pairs_are_read_as_the_task_reads_its_targets(host, tmp_path):
    """An A|B folder given as --reference contributes its photo side, not the whole side-by-side image."""
    from img2img.eval_inputs import _reference_photos

    folder = tmp_path / "pairs"
    folder.mkdir()
    for i in range(3):
        photo = np.full((32, 32, 3), (200, 40, 40), np.uint8)  # red photo on the left ...
        sketch = np.full((32, 32, 3), 255, np.uint8)  # ... a white page with one black line on the right
        sketch[16, 4:28] = 0
        Image.fromarray(np.concatenate([photo, sketch], axis=1)).save(folder / f"{i}.png")
    photos = _reference_photos(host.get("sketch2photo"), folder, 32, None)
    assert photos.shape == (3, 3, 32, 32)
    assert torch.allclose(photos.mean(dim=(0, 2, 3)), torch.tensor([200, 40, 40]) / 127.5 - 1, atol=0.02)
    plain = _reference_photos(host.get("uncrop"), _write_pngs(tmp_path / "plain", 4, 2, (32, 48)), 32, None)
    assert plain.shape == (4, 3, 32, 32)


def test_reference_mode_brings_an_enlarged_condition_back_to_the_photos_scale(host):
    from img2img.eval_inputs import _at_scale

    sketch2photo, uncrop = host.get("sketch2photo"), host.get("uncrop")
    canvas = sketch2photo.prepare_input(sketch2photo.examples()[0])  # a drawing on the 256 px canvas
    assert canvas.shape[-2:] == (256, 256)
    assert _at_scale(sketch2photo, canvas, 128).shape[-2:] == (128, 128)
    grown = uncrop.prepare_input(torch.rand(1, 3, 32, 32) * 2 - 1, sides="right", amount=0.25)
    assert _at_scale(uncrop, grown, 32) is grown  # a band was added; the photo's own scale is unchanged


# (width, height) of the photos of the native-size tests: three shapes, the first one twice in a row.
NATIVE_SHAPES = [(48, 40), (48, 40), (36, 52), (64, 48), (48, 40)]


def _mixed_sizes(folder: Path) -> Path:
    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(5)
    for i, size in enumerate(NATIVE_SHAPES):
        pixels = (torch.rand(size[1] // 4, size[0] // 4, 3, generator=gen) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).resize(size, Image.BILINEAR).save(folder / f"{i:02d}.png")
    return folder


def test_native_size_evaluates_each_image_at_its_own_size(tiny_weights, host, tmp_path, monkeypatch):
    import img2img.metrics.scoring as evaluation
    from img2img.inference import Translator

    data = _mixed_sizes(tmp_path / "photos")
    measured, generated = [], []
    real_psnr, real_work_size = evaluation.psnr, Translator.work_size
    monkeypatch.setattr(evaluation, "psnr", lambda fake, real: measured.append(tuple(real.shape[-2:])) or
                        real_psnr(fake, real))
    monkeypatch.setattr(Translator, "work_size", lambda self, h, w:
                        generated.append(((h, w), real_work_size(self, h, w))) or real_work_size(self, h, w))
    kwargs = dict(cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], samples=3, device="cpu",
                  split="all", size=0)
    report = evaluate(host.get("uncrop"), data, batch_size=1, **kwargs)

    native = [(h, w) for w, h in NATIVE_SHAPES]
    assert report.size == 0 and report.images == 5 and report.scaled_down == 0 and report.swd_crop == 36
    twice = lambda shapes: [s for s in shapes for _ in ("cgan", "regression")]  # noqa: E731
    assert measured == twice(native)  # one image per batch: paired metrics on each photo at its own size
    # The generator ran at full resolution: uncrop paints at its 32 px training size at a fixed --size.
    assert generated and all(asked == ran for asked, ran in generated)
    assert set(report.swd_levels["cgan"]) == {"swd_36", "swd_18", "swd_mean"}
    assert "at native size" in report.table() and "central 36 px square" in report.table()
    assert json.loads(report.to_json())["size"] == 0

    # Batches group consecutive photos of one shape; the numbers do not depend on the batch size.
    measured.clear()
    rebatched = evaluate(host.get("uncrop"), data, batch_size=3, **kwargs)
    assert measured == twice([(40, 48), (52, 36), (48, 64), (40, 48)])
    assert _numbers(rebatched) == pytest.approx(_numbers(report), rel=1e-4, abs=1e-6)

    # A cap on the longest side scales the larger photos down to it, and the caption says how many.
    measured.clear()
    capped = evaluate(host.get("uncrop"), data, batch_size=3, max_side=40, **kwargs)
    assert measured == twice([(33, 40), (40, 28), (30, 40), (33, 40)])
    assert capped.scaled_down == 5 and capped.max_side == 40 and capped.swd_crop == 28
    assert "5 image(s) with a side over 40 px scaled down to it" in capped.table()

    # --work-scale: the generator at the task's working scale, as predict and the app run it (uncrop: the
    # shorter side at 286/256 x its 32 px training size); the outputs and metrics stay at each photo's own size.
    measured.clear()
    generated.clear()
    from img2img.errors import ConfigError

    as_app = evaluate(host.get("uncrop"), data, batch_size=1, work_scale=True, **kwargs)
    assert measured == twice(native)
    assert generated and all(min(ran) <= 36 for _, ran in generated) and any(asked != ran for asked, ran in generated)
    assert "the generator at the task's working scale" in as_app.table() and "working scale" not in report.table()
    assert json.loads(as_app.to_json())["work_scale"] is True and "work_scale" not in json.loads(report.to_json())
    with pytest.raises(ConfigError, match="--work-scale .* use it with --size 0"):
        evaluate(host.get("uncrop"), data, work_scale=True, **{**kwargs, "size": 32})


def test_cli_eval_at_native_size_prints_the_table(tiny_weights, tmp_path, capsys):
    data = _mixed_sizes(tmp_path / "photos")
    argv = ["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
            str(tiny_weights["regression"]), "--data", str(data), "--split", "all", "--size", "0", "--samples", "2",
            "--device", "cpu", "--quiet", "--json", str(tmp_path / "r.json"), "--grid", str(tmp_path / "g.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| cgan |" in out and "| regression |" in out and "5 images from all images of" in out
    assert "at native size" in out
    assert json.loads((tmp_path / "r.json").read_text())["size"] == 0
    # Grid rows of photos of different shapes, each shown at the 32 px training size.
    width, height = Image.open(tmp_path / "g.png").size
    assert (width, height) == (5 * (32 + PADDING) + PADDING, 5 * (32 + PADDING) + PADDING)


@pytest.mark.parametrize("extra, message", [
    (["--size", "-2"], "--size must be at least 16 px, or 0"),
    (["--size", "0"], "no native size"),  # the embedded procedural scenes
    (["--size", "0", "--data", "PHOTOS", "--max-side", "-5"], "--max-side must be 0 (no cap)"),
    (["--data", "PHOTOS", "--max-side", "256"], "use it with --size 0"),
    (["--size", "0", "--data", "PHOTOS", "--reference", "PHOTOS"], "not --size 0"),
])
def test_cli_eval_native_size_errors_are_one_line(tiny_weights, tmp_path, capsys, extra, message):
    _write_pngs(tmp_path / "PHOTOS", 2, 1, (32, 40))
    extra = [str(tmp_path / e) if e.isupper() else e for e in extra]
    code = main(["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
                 str(tiny_weights["regression"]), "--device", "cpu", "--quiet", *extra])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0]


def test_evaluate_refuses_a_negative_size(tiny_weights):
    from img2img.errors import ConfigError

    with pytest.raises(ConfigError, match="0 \\(each image at its native size\\)"):
        evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], size=-1,
                 device="cpu")


def test_a_plugin_dataset_that_needs_a_crop_size_is_refused_in_one_line(tiny_weights, host, tmp_path):
    from img2img.data.folders import ImageFolderDataset
    from img2img.errors import ConfigError

    class TrainingCrops(type(host.get("uncrop"))):  # a plugin that always reads its data with training crops
        def build_dataset(self, data_dir, split, size, val_fraction=0.1):
            return ImageFolderDataset(data_dir, split, size, val_fraction, train=True)

    data = _mixed_sizes(tmp_path / "photos")
    with pytest.raises(ConfigError, match="task 'uncrop' cannot read its data at native size.*--size N"):
        evaluate(TrainingCrops(), data, cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], size=0,
                 split="all", device="cpu")


def test_task_options_override_the_recorded_ones_for_one_evaluation(tiny_weights, monkeypatch):
    # The weights record uncrop's mixed masks, which for these images' keys happen to be all one-side 50%
    # (Palette's); mask=bands scores thin bands only: every band is at most a quarter of a side (8 of 32 px).
    task = tiny_weights["task"]
    masks, real = [], type(task).make_condition

    def spy(self, x, generator):
        y = real(self, x, generator)
        masks.append(y[:, 3])
        return y

    monkeypatch.setattr(type(task), "make_condition", spy)
    common = dict(cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], samples=2, limit=3, device="cpu")
    evaluate(task, **common)
    assert all(float(m.mean()) == 0.5 for m in masks)
    masks.clear()
    report = evaluate(task, **common, task_options={"mask": "bands"})
    assert len(masks) == 3 and all(m.any() and not m[8:24, 8:24].any() for m in torch.cat(masks))
    assert report.task_options == {"mask": "bands"} and "Task options: mask=bands." in report.table()
    assert task.options["mask"] == "mixed"  # the caller's task is not changed


def test_the_task_is_configured_once_per_model(tiny_weights, monkeypatch):
    # Each Translator configures it with the options its weights record and the evaluation's on top, in one call.
    task, calls = tiny_weights["task"], []
    real = type(task).configure
    monkeypatch.setattr(type(task), "configure", lambda self, **options: calls.append(options) or real(self, **options))
    evaluate(task, cgan=tiny_weights["cgan"], regression=tiny_weights["regression"], samples=2, limit=2,
             device="cpu", task_options={"mask": "bands"})
    assert len(calls) == 2 and all(options["mask"] == "bands" for options in calls)


@pytest.mark.parametrize("option, message", [
    ("colour=red", "task 'uncrop' has no option colour (options: band_max, band_min, fill, mask, zoom)"),
    ("mask=everything", "task_options.mask must be one of mixed, palette, bands"),
    ("zoom=lots", "task_options.zoom must be a number, got 'lots'"),
    ("zoom=0.5", "task_options.zoom must be >= 1 (1 = no zoom), got 0.5"),
    ("mask", "--task-option expects NAME=VALUE"),
])
def test_cli_eval_bad_task_option_is_one_line(tiny_weights, capsys, option, message):
    code = main(["eval", "--task", "uncrop", "--cgan", str(tiny_weights["cgan"]), "--regression",
                 str(tiny_weights["regression"]), "--device", "cpu", "--quiet", "--task-option", option])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0]


def test_spread_takes_items_over_the_whole_list_not_its_head():
    assert spread(10, 3) == [0, 3, 6]
    assert spread(2000, 2) == [0, 1000]  # edges2shoes_handbags: one shoe, one bag
    assert spread(5, None) == [0, 1, 2, 3, 4]
    assert spread(3, 10) == [0, 1, 2]
    assert spread(0, 4) == []
