"""ONNX export: parity with torch, dynamic H x W through one file, the CLI, and the Translator's ONNX path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from img2img.cli import main  # noqa: E402
from img2img.config import GeneratorConfig  # noqa: E402
from img2img.export import OnnxGenerator, export_onnx, max_abs_diff  # noqa: E402
from img2img.inference import Translator  # noqa: E402
from img2img.models import UNetGenerator  # noqa: E402
from img2img.weights import read_info, save_generator  # noqa: E402

TOL = 1e-4  # fp32 torch vs ONNX Runtime: measured ~1e-6 for these nets


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # The auto backend caches exports; keep them out of the user's ~/.cache.
    monkeypatch.setenv("IMG2IMG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IMG2IMG_BACKEND", raising=False)


def _weights(tmp_path: Path, host, model: str = "cgan", norm: str = "instance", context_blocks: int = 0,
             context_kind: str = "dilated", noise: bool = False, residual: bool = False, film: bool = False,
             output: str = "tanh") -> Path:
    task = host.get("uncrop")
    cfg = GeneratorConfig(in_channels=task.in_channels, out_channels=task.out_channels, ngf=8, max_mult=4,
                          nz=8 if model == "cgan" else 0, norm=norm, context_blocks=context_blocks,
                          context_kind=context_kind, noise=noise, residual=residual, film=film, output=output)
    torch.manual_seed(0)
    g = UNetGenerator(cfg, size=32)
    with torch.no_grad():  # move off the N(0, 0.02) init so the outputs are not all ~0
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return save_generator(tmp_path / f"uncrop-{model}.safetensors", g, task="uncrop", model=model, train_size=32, step=0)


def _export(weights: Path, out: Path) -> tuple[UNetGenerator, Path]:
    from img2img.weights import load_generator

    g, info = load_generator(weights)
    return g, export_onnx(g, info, out)


@pytest.mark.parametrize("model", ["cgan", "regression"])
def test_export_matches_torch_at_two_non_square_sizes(tmp_path, host, model):
    g, path = _export(_weights(tmp_path, host, model), tmp_path / "g.onnx")
    runner = OnnxGenerator(path)
    assert runner.inputs == (["y", "z"] if model == "cgan" else ["y"])
    assert runner.info.task == "uncrop" and runner.info.model == model
    # One file, several sizes: non-square, needing padding on one or both axes, and a batch of 3; (12, 50)
    # is shorter than 2**depth / 2 and goes through the host-side edge padding.
    for batch, height, width in ((1, 40, 72), (3, 96, 24), (2, 64, 64), (1, 12, 50)):
        y = torch.rand(batch, 4, height, width) * 2 - 1
        z = torch.randn(batch, 8) if model == "cgan" else None
        with torch.inference_mode():
            expected = g(y, z)
        got = runner(y, z)
        assert got.shape == expected.shape == (batch, 3, height, width)
        assert float((got - expected).abs().max()) < TOL
    assert max_abs_diff(g, path) < TOL


@pytest.mark.parametrize("kind", ["dilated", "fourier"])
def test_context_blocks_survive_saving_and_export(tmp_path, host, kind):
    from img2img.weights import load_generator

    weights = _weights(tmp_path, host, context_blocks=4, context_kind=kind)
    g, _ = load_generator(weights)
    assert g.context is not None and len(g.context.blocks) == 4 and g.config.context_kind == kind
    g, path = _export(weights, tmp_path / "g.onnx")
    assert max_abs_diff(g, path) < TOL
    # The Fourier blocks build their DFT matrices from the map's size: one exported file serves every size.
    runner = OnnxGenerator(path)
    for height, width in ((40, 72), (96, 24)):
        y, z = torch.rand(1, 4, height, width) * 2 - 1, torch.randn(1, 8)
        with torch.inference_mode():
            expected = g(y, z)
        assert float((runner(y, z) - expected).abs().max()) < TOL


def test_noise_inputs_survive_saving_and_export(tmp_path, host):
    g, path = _export(_weights(tmp_path, host, noise=True), tmp_path / "g.onnx")
    assert g.noise is not None and float(g.noise[0].strength.detach().abs().sum()) > 0
    assert max_abs_diff(g, path) < TOL
    # The noise fields are hashed from pixel positions in the graph: the exported file draws the same noise at
    # every size, and a different z gives a different sample.
    runner = OnnxGenerator(path)
    y = torch.rand(1, 4, 40, 72) * 2 - 1
    z1, z2 = torch.randn(1, 8), torch.randn(1, 8)
    with torch.inference_mode():
        expected = g(y, z1)
        assert float((g(y, z2) - expected).abs().max()) > 10 * TOL
    assert float((runner(y, z1) - expected).abs().max()) < TOL


def test_latent_film_survives_saving_and_export(tmp_path, host):
    g, path = _export(_weights(tmp_path, host, film=True, noise=True), tmp_path / "g.onnx")
    assert g.film is not None and g.config.film and len(g.film) == g.depth - 1
    runner = OnnxGenerator(path)
    y = torch.rand(2, 4, 32, 48) * 2 - 1
    z = torch.randn(2, 8)
    with torch.inference_mode():
        expected = g(y, z)
        assert float((g(y, torch.randn(2, 8)) - expected).abs().max()) > 10 * TOL
    assert float((runner(y, z) - expected).abs().max()) < TOL


def test_residual_generator_survives_saving_and_export(tmp_path, host):
    g, path = _export(_weights(tmp_path, host, residual=True), tmp_path / "g.onnx")
    assert g.residual and g.config.residual
    assert max_abs_diff(g, path) < TOL


def test_clip_output_generator_survives_saving_and_export(tmp_path, host):
    g, path = _export(_weights(tmp_path, host, output="clip"), tmp_path / "g.onnx")
    assert g.config.output == "clip" and g.clip
    assert max_abs_diff(g, path) < TOL
    runner = OnnxGenerator(path)
    out = runner(torch.rand(1, 4, 32, 32) * 20 - 10, torch.randn(1, 8))
    assert float(out.min()) >= -1 and float(out.max()) <= 1


def test_batch_norm_generator_exports_in_eval_mode(tmp_path, host):
    g, path = _export(_weights(tmp_path, host, norm="batch"), tmp_path / "g.onnx")
    assert max_abs_diff(g, path) < TOL


def test_cli_export_then_predict_with_the_onnx_file(tmp_path, host, capsys):
    weights = _weights(tmp_path, host)
    out = tmp_path / "uncrop.onnx"
    assert main(["export", "--task", "uncrop", "--weights", str(weights), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "max |torch - onnxruntime|" in printed and out.is_file()
    assert float(printed.rsplit("= ", 1)[1]) < TOL
    Image.fromarray((np.random.default_rng(0).random((30, 44, 3)) * 255).astype("uint8")).save(tmp_path / "in.png")
    results = {}
    for name, w, backend in (("onnx", out, "auto"), ("torch", weights, "torch")):
        target = tmp_path / f"{name}.png"
        assert main(["predict", "--task", "uncrop", "--weights", str(w), "--input", str(tmp_path / "in.png"),
                     "--output", str(target), "--seed", "3", "--backend", backend]) == 0
        results[name] = np.asarray(Image.open(target), dtype=np.int16)
    assert results["onnx"].shape == results["torch"].shape
    assert np.abs(results["onnx"] - results["torch"]).max() <= 1  # 8-bit rounding of ~1e-6 differences
    # An existing --out is refused (one line), as is a wrong suffix.
    assert main(["export", "--task", "uncrop", "--weights", str(weights), "--out", str(out)]) == 2
    assert main(["export", "--task", "uncrop", "--weights", str(weights), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert "exists; use --force" in err and "must end in .onnx" in err and "Traceback" not in err


def test_translator_auto_backend_uses_onnxruntime_on_cpu_and_matches_torch(tmp_path, host, monkeypatch):
    weights = _weights(tmp_path, host)
    task = host.get("uncrop")
    auto = Translator(task, weights, device="cpu")
    assert auto.backend == "onnxruntime"
    assert list((tmp_path / "cache" / "onnx").glob("uncrop-cgan-*.onnx"))  # exported once, then reused
    monkeypatch.setenv("IMG2IMG_BACKEND", "torch")
    eager = Translator(task, weights, device="cpu")
    assert eager.backend == "torch"
    image = torch.rand(1, 3, 36, 52) * 2 - 1
    a = auto.translate(image, samples=3, seed=5)
    b = eager.translate(image, samples=3, seed=5)
    assert a.shape == b.shape and float((a - b).abs().max()) < TOL
    assert read_info(weights).model == auto.model == "cgan"
