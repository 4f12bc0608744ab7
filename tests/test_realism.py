"""Realism a = 0..1: the weight interpolation between a cGAN and the MSE baseline it was fine-tuned from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import tiny_config
from img2img import load_model
from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError, WeightsError
from img2img.inference import Translator
from img2img.realism import RealismPair, check_pair, load_pair, realism_generator
from img2img.weights import ID_KEY, INIT_ID_KEY, content_id, load_generator, read_info, save_generator, weights_id


@pytest.fixture(scope="module")
def pair(tmp_path_factory, host) -> dict[str, Path]:
    """A tiny fine-tuned pair in one folder (as shipped: TASK-regression beside TASK-cgan), and a cGAN of the
    same architecture trained from scratch."""
    task = host.get("uncrop")
    runs = tmp_path_factory.mktemp("runs")
    baseline = Trainer(tiny_config(model="regression", steps=2), task, runs / "regression", progress=False).fit()
    tuned = Trainer(tiny_config(model="cgan", steps=3, init=str(baseline)), task, runs / "cgan", progress=False).fit()
    scratch = Trainer(tiny_config(model="cgan", steps=2, generator__nz=0), task, runs / "scratch", progress=False).fit()
    folder = tmp_path_factory.mktemp("weights")
    shutil.copy(baseline, folder / "uncrop-regression.safetensors")
    shutil.copy(tuned, folder / "uncrop-cgan.safetensors")
    return {"dir": folder, "cgan": folder / "uncrop-cgan.safetensors",
            "baseline": folder / "uncrop-regression.safetensors", "scratch": scratch}


@pytest.fixture
def picture() -> Image.Image:
    image = Image.new("RGB", (48, 40), (40, 120, 200))
    image.paste((230, 200, 60), (10, 8, 30, 30))
    return image


def _pixels(translator: Translator, picture: Image.Image, k: int = 2) -> list[bytes]:
    return [p.tobytes() for p in translator.translate_pil(picture, samples=k, seed=3, sides="left+right")]


def test_every_file_carries_an_id_and_a_fine_tune_its_origin(pair, tmp_path):
    base, tuned = read_info(pair["baseline"]), read_info(pair["cgan"])
    generator, _ = load_generator(pair["baseline"])
    assert base.extra[ID_KEY] == content_id({k: v for k, v in generator.state_dict().items()})
    assert tuned.extra[INIT_ID_KEY] == base.extra[ID_KEY] and INIT_ID_KEY not in base.extra
    assert INIT_ID_KEY not in read_info(pair["scratch"]).extra
    # The fp16 shipping copy (scripts/ship_weights.py passes the metadata on) is the same model: same id.
    half = save_generator(tmp_path / "half.safetensors", generator, task=base.task, model=base.model,
                          train_size=base.train_size, step=base.step, dtype=torch.float16, extra=base.extra)
    assert weights_id(half) == base.extra[ID_KEY]
    # A file written before ids: its id is the hash of its tensors, computed on demand.
    from safetensors.torch import load_file, save_file

    with safe_open(str(pair["baseline"]), framework="pt") as f:
        legacy = {k: v for k, v in f.metadata().items() if k != ID_KEY}
    save_file(load_file(str(pair["baseline"])), str(tmp_path / "legacy.safetensors"), metadata=legacy)
    assert weights_id(tmp_path / "legacy.safetensors") == base.extra[ID_KEY]


def test_a_1_is_the_cgan_and_a_0_the_baseline_pixel_for_pixel(pair, host, picture):
    task = host.get("uncrop")
    today = Translator(task, pair["cgan"])  # the default backend (ONNX Runtime where installed)
    at_one = Translator(task, pair["cgan"], realism=1)
    assert at_one.backend == today.backend and _pixels(at_one, picture) == _pixels(today, picture)
    baseline = Translator(task, pair["baseline"], backend="torch")
    at_zero = Translator(task, pair["cgan"], realism=0.0)
    assert at_zero.backend == "torch" and at_zero.realism == 0.0
    assert _pixels(at_zero, picture, 1) == _pixels(baseline, picture, 1)
    # Between the two, a third answer, exactly the interpolated weights run by a plain generator.
    half = Translator(task, pair["cgan"], realism=0.5)
    assert _pixels(half, picture, 1) not in (_pixels(at_zero, picture, 1), _pixels(at_one, picture, 1))
    g0, _ = load_generator(pair["baseline"])
    g1, _ = load_generator(pair["cgan"])
    # The baseline's missing latent paths count as zero: z input channels (the cGAN gained them, zero-started, when
    # it was fine-tuned from the baseline), FiLM maps and noise strengths.
    base = g0.state_dict()

    def baseline_value(key: str, like: torch.Tensor) -> torch.Tensor:
        if key not in base:
            return torch.zeros_like(like)
        value = base[key]
        if value.shape != like.shape:  # z concatenated after the features: extra input channels at the end
            value = torch.cat([value, value.new_zeros((value.shape[0], like.shape[1] - value.shape[1],
                                                       *value.shape[2:]))], dim=1)
        return value

    expected = {k: 0.5 * baseline_value(k, v1) + 0.5 * v1 for k, v1 in g1.state_dict().items()}
    g1.load_state_dict(expected)
    y = torch.rand(1, 4, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(half.generator(y), g1(y), atol=1e-5)


def test_load_model_and_translate_take_realism(pair, picture):
    model = load_model("uncrop", weights=pair["cgan"], realism=0.25)
    assert model.realism == 0.25 and model.backend == "torch"
    explicit = load_model("uncrop", weights=pair["cgan"], realism=0.25, baseline=pair["baseline"])
    assert _pixels(model, picture, 1) == _pixels(explicit, picture, 1)
    assert load_model("uncrop", weights=pair["cgan"]).realism is None


def test_interpolation_happens_once_per_a_and_switching_reads_no_file(pair, host, monkeypatch):
    pairing = RealismPair(pair["cgan"], pair["baseline"], cached=2)
    first = pairing.generator(0.3)
    monkeypatch.setattr("img2img.realism.load_generator", lambda *a, **k: pytest.fail("a file was read again"))
    monkeypatch.setattr("img2img.weights.load_file", lambda *a, **k: pytest.fail("a file was read again"))
    assert pairing.generator(0.3) is first
    pairing.generator(0.6)
    pairing.generator(0.9)  # the cache keeps two: 0.3 is dropped, 0.9 and 0.6 stay
    assert pairing.generator(0.6) is pairing.generator(0.6) and pairing.generator(0.3) is not first
    # The one-line entry point for eval: the pair is shared while the files are unchanged.
    monkeypatch.undo()
    assert realism_generator(pair["cgan"], pair["baseline"], 0.5) is realism_generator(pair["cgan"], pair["baseline"], 0.5)
    assert load_pair(pair["cgan"], pair["baseline"]) is load_pair(pair["cgan"], pair["baseline"])
    # A Translator's view at another a shares the loaded pair; back at 1 it is the cGAN as loaded.
    cgan = Translator(host.get("uncrop"), pair["cgan"], backend="torch")
    view = cgan.at_realism(0.4)
    assert view.realism == 0.4 and cgan.realism is None and view.generator is not cgan.generator
    assert view.at_realism(1).generator is cgan.generator and cgan.at_realism(0.4).generator is view.generator


def test_files_that_are_not_a_fine_tuned_pair_are_refused_with_the_reason(pair, host, tmp_path):
    with pytest.raises(WeightsError, match="not fine-tuned from a baseline"):
        check_pair(pair["scratch"], pair["baseline"])
    with pytest.raises(WeightsError, match="is a regression model, not a cGAN"):
        check_pair(pair["baseline"], pair["baseline"])
    with pytest.raises(WeightsError, match="not the MSE baseline"):
        check_pair(pair["cgan"], pair["cgan"])
    other = tmp_path / "other-regression.safetensors"
    generator, info = load_generator(pair["baseline"])
    with torch.no_grad():
        next(generator.parameters()).add_(1.0)
    save_generator(other, generator, task=info.task, model="regression", train_size=info.train_size, step=2)
    with pytest.raises(WeightsError, match=r"fine-tuned from other weights \(id .*\), not from other-regression"):
        check_pair(pair["cgan"], other)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(pair["cgan"], lonely / "uncrop-cgan.safetensors")
    with pytest.raises(WeightsError, match="uncrop-regression.safetensors not found; pass --baseline FILE"):
        Translator(host.get("uncrop"), lonely / "uncrop-cgan.safetensors", realism=0.5)
    for bad in (-0.1, 1.5, float("nan"), "much"):
        with pytest.raises(ConfigError, match="realism must be"):
            Translator(host.get("uncrop"), pair["cgan"], realism=bad)
    with pytest.raises(ConfigError, match="runs with torch"):
        Translator(host.get("uncrop"), pair["cgan"], realism=0.5, backend="onnx")


def test_eval_realism_draws_the_perception_distortion_curve(pair, tmp_path, capsys):
    from img2img.cli import main

    out = tmp_path / "curve" / "uncrop-realism.json"
    argv = ["eval", "--task", "uncrop", "--cgan", str(pair["cgan"]), "--regression", str(pair["baseline"]),
            "--limit", "4", "--samples", "2", "--quiet", "--realism", "0,0.5,1", "--json", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert [p["realism"] for p in report["points"]] == [0.0, 0.5, 1.0]
    assert out.with_suffix(".png").is_file() and Image.open(out.with_suffix(".png")).size[0] > 400
    table = capsys.readouterr().out
    assert "| a |" in table and "| 0.5 |" in table
    # a = 0 is the baseline: the same PSNR as the regression scored on the same inputs by a plain eval.
    plain = tmp_path / "plain.json"
    assert main(argv[:-4] + ["--json", str(plain)]) == 0
    regression = json.loads(plain.read_text())["models"]["regression"]
    assert report["points"][0]["psnr"] == pytest.approx(regression["psnr"], abs=1e-6)
    cgan = json.loads(plain.read_text())["models"]["cgan"]
    assert report["points"][-1]["psnr"] == pytest.approx(cgan["psnr"], abs=1e-6)  # a = 1 is the cGAN


def test_eval_realism_refuses_in_one_line(pair, capsys):
    from img2img.cli import main

    base = ["eval", "--task", "uncrop", "--cgan", str(pair["cgan"]), "--regression", str(pair["baseline"]),
            "--limit", "2", "--quiet"]
    for extra, message in ((["--realism", "0,1"], "add --json"), (["--realism", "0,2"], "from 0"),
                           (["--realism", "0.5,0.5", "--json", "x.json"], "twice")):
        assert main(base + extra) != 0
        assert message in capsys.readouterr().err
    scratch = ["eval", "--task", "uncrop", "--cgan", str(pair["scratch"]), "--regression", str(pair["baseline"]),
               "--limit", "2", "--quiet", "--realism", "0.5"]
    assert main(scratch) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fine-tuned" in err[0]


# -- the in-place working generator ------------------------------------------------------------------------------


def _deepcopy_reference(pair: dict[str, Path], values: tuple[float, ...]) -> dict[float, torch.nn.Module]:
    """The interpolation as first built (a deepcopy of the folded cGAN per a, its tensors set to lerp(baseline,
    cGAN, a)): what the in-place path must match."""
    import copy

    from img2img.models.unet import fold_resize_upsampling
    from img2img.weights import load_init

    cgan, _ = load_generator(pair["cgan"])
    zero = copy.deepcopy(cgan)
    with torch.no_grad():
        for tensor in zero.state_dict().values():
            tensor.zero_()
    load_init(zero, pair["baseline"])
    for module in (cgan, zero):
        fold_resize_upsampling(module)
        module.eval()
    start, end = zero.state_dict(), cgan.state_dict()
    models = {}
    for a in values:
        model = copy.deepcopy(cgan)
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                if tensor.is_floating_point():
                    tensor.copy_(torch.lerp(start[name], end[name], a))
        models[a] = model
    return models


def _inputs(pairing: RealismPair) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(2, 4, 32, 32, generator=gen) * 2 - 1, torch.randn(2, pairing.nz, generator=gen)


def test_in_place_interpolation_matches_a_copy_per_a_and_its_ends_are_exact(pair, monkeypatch):
    values = (0.0, 0.1, 0.35, 0.5, 0.8, 1.0)
    reference = _deepcopy_reference(pair, values)
    pairing = RealismPair(pair["cgan"], pair["baseline"])
    y, z = _inputs(pairing)
    # After construction no module is copied again: a switch only rewrites tensors.
    monkeypatch.setattr("img2img.realism.copy.deepcopy", lambda *a, **k: pytest.fail("a generator was copied"))
    with torch.inference_mode():
        expected = {a: reference[a](y, z) for a in values}
        # Back and forth, each a several times, in an order that switches at every call.
        for a in (0.35, 1.0, 0.1, 0.0, 0.8, 0.5, 0.35, 0.0, 1.0, 0.8):
            out = pairing.generator(a)(y, z)
            if a in (0.0, 1.0):
                assert torch.equal(out, expected[a]), f"a = {a} is not exactly its end"
            else:
                assert torch.allclose(out, expected[a], atol=1e-6, rtol=0), f"a = {a}"
    # The weights themselves: lerp's, and the ends bit for bit.
    for a in values:
        mine = pairing.generator(a).state_dict()
        theirs = {k: v for k, v in reference[a].state_dict().items() if v.is_floating_point()}
        assert mine.keys() == theirs.keys()
        for name, tensor in mine.items():
            assert torch.equal(tensor, theirs[name]) if a in (0.0, 1.0) else torch.allclose(tensor, theirs[name],
                                                                                            atol=1e-7, rtol=0)
    # a = 1 is the cGAN as loaded and folded, a = 0 the baseline in its architecture (the Translator's own checks
    # against the baseline's file are in test_a_1_is_the_cgan_and_a_0_the_baseline_pixel_for_pixel).
    calls = pairing.switches
    pairing.generator(0.5)(y, z)
    pairing.generator(0.5)(y, z)
    assert pairing.switches == calls + 1  # the same a twice writes once


def test_two_threads_at_two_values_of_a_each_see_their_own(pair):
    import threading

    pairing = RealismPair(pair["cgan"], pair["baseline"])
    y, z = _inputs(pairing)
    values = (0.2, 0.9)
    with torch.inference_mode():
        sequential = {a: pairing.generator(a)(y, z) for a in values}
    results: dict[float, list[torch.Tensor]] = {a: [] for a in values}
    start = threading.Barrier(len(values))

    def worker(a: float) -> None:
        start.wait()
        view = pairing.generator(a)
        with torch.inference_mode():
            for _ in range(15):
                results[a].append(view(y, z))

    threads = [threading.Thread(target=worker, args=(a,)) for a in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a in values:
        assert len(results[a]) == 15 and all(torch.equal(out, sequential[a]) for out in results[a]), f"a = {a}"


def test_translators_at_two_values_of_a_share_one_pair_and_stay_apart(pair, host, picture):
    cgan = Translator(host.get("uncrop"), pair["cgan"], backend="torch")
    low, high = cgan.at_realism(0.2), cgan.at_realism(0.7)
    assert low.realism_pair() is high.realism_pair()
    first = (_pixels(low, picture, 1), _pixels(high, picture, 1))
    assert first[0] != first[1]
    assert (_pixels(low, picture, 1), _pixels(high, picture, 1)) == first  # alternating gives the same answers
    assert _pixels(cgan.at_realism(1), picture) == _pixels(cgan, picture)


def test_curves_of_several_pairs_share_one_figure(tmp_path):
    from img2img.metrics import tradeoff

    points = [{"realism": a, "psnr": 24 - 2 * a, "lpips": 0.5 - 0.2 * a, "fd_lite0": 160 - 60 * a} for a in (0, 0.5, 1)]
    single = Image.open(tradeoff.draw_curve(points, tmp_path / "one.png"))
    both = Image.open(tradeoff.draw_curves([("restore", points), ("uncrop", points[::-1])], tmp_path / "two.png"))
    assert both.size == (single.width, 2 * single.height)
    assert both.crop((0, 0, single.width, single.height)).tobytes() != both.crop(
        (0, single.height, single.width, 2 * single.height)).tobytes()  # each row its own title and curve
    with pytest.raises(ValueError, match="no curve"):
        tradeoff.draw_curves([], tmp_path / "none.png")
