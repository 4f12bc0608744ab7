"""``evaluate`` and ``img2img eval`` on two tiny models trained for a few steps (the numbers mean nothing;
their presence, layout and reproducibility do)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import tiny_config
from img2img.cli import main
from img2img.engine.trainer import Trainer
from img2img.evaluate import COLUMNS, evaluate

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
    for title in ("PSNR↑", "SSIM↑", "SWD↓", "sharpness→1", "diversity↑", "FID↓", "KID↓"):
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
    assert report.fid_note == "" and "unavailable" not in report.table()


def test_task_metrics_may_ask_for_the_condition(tiny_weights):
    # Two-argument metrics get (fake, real); three-argument ones also the condition y (uncrop's fill_psnr).
    report = evaluate(tiny_weights["task"], cgan=tiny_weights["cgan"], regression=tiny_weights["regression"],
                      samples=2, limit=3, device="cpu")
    for model in ("cgan", "regression"):
        assert 0 < report.models[model]["task"]["fill_psnr"] <= 100
    assert "fill_psnr" in report.table()
