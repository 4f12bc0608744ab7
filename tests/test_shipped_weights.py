"""The weights in weights/ load by name, fit the size budget, and behave as their kind promises.
Parametrised over whatever is shipped, so a newly committed weights file is tested the moment it exists."""

from __future__ import annotations

import json

import pytest
import torch

from img2img.inference import Translator, default_weights_dir
from img2img.weights import read_info

SHIPPED = sorted(default_weights_dir().glob("*.safetensors"))
MAX_BYTES = 20 * 2**20


def test_weights_folder_is_where_the_loader_looks():
    assert default_weights_dir().name == "weights"


@pytest.mark.skipif(not SHIPPED, reason="no weights shipped yet")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_weights(path, host):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name} is over the 20 MB budget"
    info = read_info(path)
    assert path.stem == f"{info.task}-{info.model}"
    assert {"data", "training_seconds", "hardware"} <= set(info.extra), "model card facts missing from metadata"
    task = host.get(info.task)
    translator = Translator(task, path, backend="torch")
    example = task.examples()[0]
    y = translator.condition(example, **{c.name: c.default for c in task.app.controls})
    a, b = translator.sample(y, samples=2, seed=0), translator.sample(y, samples=2, seed=1)
    assert a.shape[1] == task.out_channels and a.shape[2:] == y.shape[2:]
    assert torch.isfinite(a).all() and a.std() > 0.02, "a blank or constant output"
    if info.model == "cgan":
        assert (a[0] - b[0]).abs().mean() > 1e-3, "cGAN samples for two seeds are identical"
    else:
        assert a.shape[0] == 1 and torch.equal(a, translator.sample(y, samples=2, seed=5)), "baseline not deterministic"


@pytest.mark.parametrize("task", ["sketch2photo", "restore", "uncrop", "facades"])
def test_every_built_in_task_ships_both_models_and_a_card(task):
    folder = default_weights_dir()
    for model in ("cgan", "regression"):
        assert (folder / f"{task}-{model}.safetensors").is_file(), f"{task}-{model} is not shipped"
    card = (folder / f"{task}.md").read_text()
    for heading in ("Model details", "Intended use", "Training data", "Training procedure", "Evaluation",
                    "Limitations and what is seen by eye", "Versions"):
        assert f"\n## {heading}\n" in card, f"{task}.md lacks its '{heading}' section"
    assert (folder / f"{task}.json").is_file()


CONFIGS = sorted((default_weights_dir() / "configs").glob("*-cgan.json"))
# What a shipped config may say beyond its task's built-in recipe (the plugin's ``defaults``): the data, the model,
# the length, the baseline a cGAN starts from, and bookkeeping that changes no weight.
CONFIG_KEYS = {"task", "model", "data", "steps", "init", "seed", "num_workers", "val_fraction", "val_images",
               "val_native", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints"}


@pytest.mark.parametrize("cgan_config", CONFIGS, ids=lambda p: p.stem.removesuffix("-cgan"))
def test_shipped_configs_are_the_task_recipe_and_the_baseline_keeps_the_cgans_generator(cgan_config, host):
    # One command per model: `img2img train --config weights/configs/TASK-MODEL.json`. The recipe lives in the task
    # (so `img2img train --task TASK --data DIR` gets it); the file adds only data, length and bookkeeping. The
    # comparison is fair only if the MSE baseline's generator is the cGAN's minus the latent paths it drops.
    from img2img.config import load_config_file, task_config

    configs = {}
    for model in ("cgan", "regression"):
        path = cgan_config.with_name(cgan_config.name.replace("cgan", model))
        file_cfg = load_config_file(path)
        assert set(file_cfg) <= CONFIG_KEYS, f"{path.name} sets recipe keys {set(file_cfg) - CONFIG_KEYS}: they belong in the task's defaults"
        cfg = task_config(host.get(file_cfg["task"]), file_cfg)
        cfg.validate()
        assert cfg.model == model
        configs[model] = cfg
    gan, reg = configs["cgan"], configs["regression"]
    assert gan.task == reg.task and gan.data == reg.data
    assert reg.init is None
    if gan.init:  # a fine-tuned pair: the cGAN starts from the file the baseline's command writes
        assert gan.init == f"runs/{reg.task}-regression/{reg.task}-regression.safetensors"
    # Noise inputs and FiLM are functions of z, so they go with the latent too.
    latent = {"nz": None, "noise": None, "film": None}
    assert vars(gan.generator) | latent == vars(reg.generator) | latent


def test_card_gives_one_command_per_model_baseline_first_with_its_cost():
    ship_weights = _ship_weights_module()
    config = {"val_fraction": 0.1, "steps": 2500, "batch_size": 4, "data": "DIR", "model": "cgan"}
    row = {"file": "x.safetensors", "mb": 4.8, "params": 2.5e6, "steps": 2500, "run_steps": 2500, "hours": 0.7,
           "picked": "last step", "config": config, "init": None, "init_step": None}
    tuned = {**row, "model": "cgan", "init": "runs/x-regression/x-regression.safetensors", "init_step": 4000}
    base = {**row, "model": "regression", "hours": 0.4, "config": {**config, "model": "regression", "steps": 4000}}
    text = ship_weights.card("x", [tuned, base], "TABLE", "DIR", "img2img eval")
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("img2img train --config"))
    assert lines[first].startswith("img2img train --config weights/configs/x-regression.json")
    assert "# 4000 steps, 0.4 h on a " in lines[first]
    assert lines[first + 1].startswith("img2img train --config weights/configs/x-cgan.json")
    assert "# 2500 steps, 0.7 h on a " in lines[first + 1] and "starts from the baseline's file" in lines[first + 1]
    assert "The cgan run is a fine-tune of the baseline" in text and "trained 4000 steps" in text
    assert "regression run is a fine-tune" not in text and "weights/recipes" not in text


def test_shipping_refuses_a_run_that_is_not_its_configs_command():
    ship_weights = _ship_weights_module()
    shipped = ship_weights.shipped_config("restore", "cgan")
    assert ship_weights.recipe_differences(dict(shipped), shipped) == []
    assert ship_weights.recipe_differences({**shipped, "threads": 2, "device": "cpu"}, shipped) == []  # bookkeeping
    odd = {**shipped, "steps": 10, "loss": {**shipped["loss"], "l1_weight": 1.0}}
    assert ship_weights.recipe_differences(odd, shipped) == ["loss.l1_weight", "steps"]
    # the run records every task option; only those the shipped config sets must agree
    options = {**shipped, "task_options": {**shipped["task_options"], "blur": True}}
    assert ship_weights.recipe_differences(options, shipped) == []


def _ship_weights_module():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ship_weights", Path(__file__).parents[1] / "scripts" / "ship_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_kept_model_keeps_its_card_row_and_gets_its_config():
    ship_weights = _ship_weights_module()
    card = (ship_weights.ROOT / "weights" / "uncrop.md").read_text(encoding="utf-8")
    kept = ship_weights.kept("uncrop", "regression")
    assert kept["row"].startswith("| regression | `uncrop-regression.safetensors` |") and kept["row"] in card
    assert kept["config"]["model"] == "regression" and kept["config"]["task_options"]["mask"] == "mixed"
    config = {"val_fraction": 0.1, "steps": 2500, "batch_size": 4, "data": "DIR", "model": "cgan"}
    row = {"model": "cgan", "file": "x.safetensors", "mb": 4.8, "params": 2.5e6, "steps": 2500, "run_steps": 2500,
           "hours": 0.7, "picked": "last step", "config": config, "init": None, "init_step": None}
    text = ship_weights.card("uncrop", [row, kept], "TABLE", "DIR", "img2img eval")
    assert kept["row"] in text
    # a kept model made by a chain of fine-tunes names its recipe; one trained by its config's command does not
    recipe = ship_weights.recipe_file("uncrop", "regression")
    assert ("weights/recipes/uncrop-regression.json" in text) == recipe.is_file()
    # ... and gets its command line, its cost read from its card row, baseline first
    cells = dict(zip(ship_weights.DETAIL_COLUMNS, ship_weights._row_cells(kept["row"])))
    line = next((line for line in text.splitlines() if "weights/configs/uncrop-regression.json" in line), "")
    assert recipe.is_file() or (f"# {kept['config']['steps']} steps, {cells['wall time']} on {cells['hardware']}" in line
                                and text.index(line) < text.index("weights/configs/uncrop-cgan.json"))
    assert kept["config"]["steps"] == json.loads((ship_weights.ROOT / "weights" / "configs" / "uncrop-regression.json")
                                                 .read_text())["steps"] or recipe.is_file()
    # a kept model that was a fine-tune keeps the sentence that says so
    tuned = {**kept, "tuned": ["The regression run is a fine-tune (`--init X`: ...); its steps and wall time count from there."]}
    assert tuned["tuned"][0] in ship_weights.card("uncrop", [row, tuned], "TABLE", "DIR", "img2img eval")


def test_the_card_hardware_says_the_precision_the_run_trained_in(monkeypatch):
    ship_weights = _ship_weights_module()
    assert ", fp32, " in ship_weights.hardware({"precision": "fp32"})
    monkeypatch.setenv("IMG2IMG_CPU_BF16", "1")
    assert ", bf16, 2 threads" in ship_weights.hardware({"precision": "auto", "threads": 2})
    monkeypatch.setenv("IMG2IMG_CPU_BF16", "0")
    assert ", fp32, 1 thread per run" in ship_weights.hardware({"precision": "auto"})


def test_training_seconds_up_to_a_picked_step():
    ship_weights = _ship_weights_module()
    rows = [{"step": s, "time": t} for s, t in ((50, 0.0), (100, 60.0), (150, 120.0), (200, 5000.0), (250, 5060.0))]
    assert ship_weights.training_seconds(rows) == 180.0  # the 4880 s pause (a resume) is not counted
    assert ship_weights.training_seconds(rows, until_step=150) == 120.0


def test_shipping_checks_both_models_before_writing_either(tmp_path, monkeypatch, cached_uncrop):
    # A bad --pick for the baseline used to stop ship_weights after it had written the new cGAN file beside
    # the old card. Now both are read and checked first, and weights/ is left as it was.
    import shutil
    import sys

    from conftest import tiny_config

    from img2img.engine.trainer import Trainer

    ship_weights = _ship_weights_module()
    root = tmp_path / "repo"
    (root / "weights" / "recipes").mkdir(parents=True)
    for name in ("uncrop-cgan.safetensors", "uncrop-regression.safetensors", "uncrop.md"):
        shutil.copy(ship_weights.ROOT / "weights" / name, root / "weights" / name)
    for name in ("uncrop-cgan.json", "uncrop-regression.json"):  # an old fine-tune chain, which must survive too
        (root / "weights" / "recipes" / name).write_text('{"stages": []}')
    before = {p: p.read_bytes() for p in (root / "weights").rglob("*") if p.is_file()}
    runs = tmp_path / "runs"
    for model in ("cgan", "regression"):
        Trainer(tiny_config(steps=2, model=model), cached_uncrop, runs / f"uncrop-{model}", progress=False).fit()
    monkeypatch.setattr(ship_weights, "ROOT", root)
    monkeypatch.setattr(ship_weights, "trained_recipe", lambda task, model, init: {})  # tiny runs stand for the real ones
    monkeypatch.setattr(ship_weights, "recipe_differences", lambda run, shipped: [])
    wrong = runs / "uncrop-cgan" / "uncrop-cgan.safetensors"  # a cGAN file picked for the baseline
    monkeypatch.setattr(sys, "argv", ["ship_weights.py", "uncrop", "--runs", str(runs), "--pick", f"regression={wrong}"])
    with pytest.raises(SystemExit, match="--pick regression=.*a cgan at step 2"):
        ship_weights.main()
    assert {p: p.read_bytes() for p in (root / "weights").rglob("*") if p.is_file()} == before


def test_what_a_shipped_file_records_of_its_run(tmp_path, monkeypatch, cached_uncrop):
    # The whole training config goes into the file's metadata (losses, optimiser, steps, init), so a weights
    # file says how it was trained without its card. A cGAN started from its baseline ships beside the very file
    # it started from, and shipping retires the model's old fine-tune chain.
    import sys

    from conftest import tiny_config

    from img2img.engine.trainer import Trainer

    ship_weights = _ship_weights_module()
    root = tmp_path / "repo"
    (root / "weights" / "recipes").mkdir(parents=True)
    (root / "weights" / "recipes" / "uncrop-cgan.json").write_text(json.dumps({"about": "", "stages": []}))
    runs = tmp_path / "runs"
    base = Trainer(tiny_config(model="regression", steps=2), cached_uncrop, runs / "uncrop-regression",
                   progress=False).fit()
    Trainer(tiny_config(steps=2, init=str(base)), cached_uncrop, runs / "uncrop-cgan", progress=False).fit()
    monkeypatch.setattr(ship_weights, "ROOT", root)
    monkeypatch.setattr(ship_weights, "trained_recipe", lambda task, model, init: {})  # tiny runs stand for the real ones
    monkeypatch.setattr(ship_weights, "recipe_differences", lambda run, shipped: [])
    prepared = ship_weights.prepare("uncrop", "cgan", runs)
    assert prepared["init"] == str(base) and prepared["init_step"] == 2
    assert not (root / "weights" / "uncrop-cgan.safetensors").exists()  # prepared, nothing written yet
    ship_weights.write(prepared)
    info = read_info(root / "weights" / "uncrop-cgan.safetensors")
    config = json.loads(info.extra["train_config"])
    assert config["init"] == str(base) and config["steps"] == 2 and config["loss"]["l1_weight"] == 100.0
    assert prepared["mb"] > 0 and not (root / "weights" / "recipes" / "uncrop-cgan.json").exists()
    # main(): the baseline shipped is the cGAN's start, even where the run kept a better-scoring file
    (runs / "uncrop-regression" / "uncrop-regression-best.safetensors").write_bytes(b"not the start")
    monkeypatch.setattr(ship_weights, "data_folders", lambda data: ["DIR"])  # tiny runs train on procedural scenes
    monkeypatch.setattr(ship_weights, "evaluate", lambda *a, **k: (_ for _ in ()).throw(SystemExit("evaluated")))
    monkeypatch.setattr(sys, "argv", ["ship_weights.py", "uncrop", "--runs", str(runs)])
    with pytest.raises(SystemExit, match="evaluated"):
        ship_weights.main()
    shipped = read_info(root / "weights" / "uncrop-regression.safetensors")
    assert shipped.extra["id"] == read_info(base).extra["id"]


def test_a_fine_tune_is_checked_against_its_config_as_the_trainer_settles_it(tmp_path):
    """A run's config.json records what the trainer made of its config: "auto" priors resolved and a fine-tune's
    generator adopted from its init file (the encoder U-Net's depth). The shipped config, read raw, has neither:
    the check settles it the same way, from the run's own init file."""
    from img2img.config import TrainConfig
    from img2img.engine.settle import settle_config
    from img2img.models import build_generator
    from img2img.weights import save_generator

    ship_weights = _ship_weights_module()
    raw = ship_weights.shipped_config("restore", "cgan")
    base_cfg = TrainConfig.from_dict(ship_weights.shipped_config("restore", "regression"))
    baseline = tmp_path / "restore-regression.safetensors"
    save_generator(baseline, build_generator(base_cfg.generator, base_cfg.size), task="restore", model="regression",
                   train_size=base_cfg.size, step=1, task_options=base_cfg.task_options)
    run_cfg = TrainConfig.from_dict(raw)
    run_cfg.init = str(baseline)
    run_config = settle_config(run_cfg).to_dict() | {"init": raw["init"]}  # what the run's config.json holds
    assert ship_weights.recipe_differences(run_config, raw)  # read raw, the shipped config does not match its run
    settled = ship_weights.trained_recipe("restore", "cgan", baseline)
    assert ship_weights.recipe_differences(run_config, settled) == []
    assert settled["generator"]["depth"] is not None and settled["init"] == raw["init"]
    with pytest.raises(SystemExit, match="fine-tuned from"):
        ship_weights.trained_recipe("restore", "cgan", tmp_path / "missing.safetensors")
