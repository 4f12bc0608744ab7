"""The weights in weights/ load by name, fit the size budget, and behave as their kind promises.
Parametrised over whatever is shipped, so a newly committed weights file is tested the moment it exists."""

from __future__ import annotations

import json

import pytest
import torch

from img2img.inference import Translator, default_weights_dir
from img2img.weights import read_info

SHIPPED = sorted(default_weights_dir().glob("*.safetensors"))
MAX_BYTES = 12 * 2**20


def test_weights_folder_is_where_the_loader_looks():
    assert default_weights_dir().name == "weights"


@pytest.mark.skipif(not SHIPPED, reason="no weights shipped yet")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_weights(path, host):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name} is over the 12 MB budget"
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
    assert "## Seen by eye" in card, f"{task}.md lacks what a person saw in the sample grids"
    assert (folder / f"{task}.json").is_file()


CONFIGS = sorted((default_weights_dir() / "configs").glob("*-cgan.json"))


@pytest.mark.parametrize("cgan_config", CONFIGS, ids=lambda p: p.stem.removesuffix("-cgan"))
def test_shipped_configs_are_valid_and_the_baseline_keeps_the_cgans_generator(cgan_config):
    # scripts/train_shipped.sh trains these; the comparison is fair only if the MSE baseline's generator is the
    # cGAN's (minus the latent input, which the regression model drops).
    from img2img.config import TrainConfig, apply_dict, load_config_file

    configs = {}
    for model in ("cgan", "regression"):
        cfg = TrainConfig()
        apply_dict(cfg, load_config_file(cgan_config.with_name(cgan_config.name.replace("cgan", model))))
        cfg.validate()
        assert cfg.model == model
        configs[model] = cfg
    # Noise inputs are a function of z, so they go with the latent too.
    gan, reg = (vars(configs[m].generator) | {"nz": None, "noise": None} for m in ("cgan", "regression"))
    assert gan == reg
    assert configs["cgan"].task == configs["regression"].task and configs["cgan"].data == configs["regression"].data


def test_card_says_when_a_run_is_a_fine_tune():
    ship_weights = _ship_weights_module()
    config = {"val_fraction": 0.1, "steps": 2500, "batch_size": 4, "data": "DIR", "model": "cgan"}
    row = {"file": "x.safetensors", "mb": 4.8, "params": 2.5e6, "steps": 2500, "run_steps": 2500, "hours": 0.7,
           "picked": "last step", "config": config, "init": None, "init_step": None}
    tuned = {**row, "model": "cgan", "init": "weights/x-cgan.safetensors", "init_step": 6000}
    text = ship_weights.card("x", [tuned, {**row, "model": "regression", "config": {**config, "model": "regression"}}],
                             "TABLE", "DIR", "img2img eval")
    assert "The cgan run is a fine-tune (`--init weights/x-cgan.safetensors`" in text and "trained 6000 steps" in text
    assert "regression run is a fine-tune" not in text


def test_shipping_a_run_writes_its_recipe():
    ship_weights = _ship_weights_module()
    from pathlib import Path

    runs = Path("runs")
    scratch = {"steps": 8000, "epochs": None, "init": None, "model": "cgan", "task": "x"}
    first = ship_weights.next_recipe(None, scratch, 4000, runs / "x-scratch", chained=False)
    assert [(s["name"], s["until"]) for s in first["stages"]] == [("x-scratch", 4000)]  # stopped before its end
    tune = {**scratch, "steps": 3000, "init": "weights/x-cgan.safetensors"}
    second = ship_weights.next_recipe(first, tune, 3000, runs / "x-tune", chained=True)
    assert [(s["name"], s["until"]) for s in second["stages"]] == [("x-scratch", 4000), ("x-tune", None)]
    assert second["stages"][1]["config"]["init"] is None and second["stages"][1]["config"]["steps"] == 3000
    again = ship_weights.next_recipe(second, scratch, 8000, runs / "x-new", chained=False)  # from scratch: a new chain
    assert [(s["name"], s["until"]) for s in again["stages"]] == [("x-new", None)]
    with pytest.raises(SystemExit, match="not of the shipped file"):
        ship_weights.next_recipe(second, {**tune, "init": "../runs/elsewhere.safetensors"}, 3000, runs / "x-odd",
                                 chained=False)
    # scripts/train_shipped.sh re-made the recipe: its last stage starts from stage 1's file in the runs folder,
    # not from the shipped file, and shipping it keeps the recipe as it is
    remade = {**tune, "init": "runs/x-cgan.stages/1-x-scratch/x-cgan.safetensors"}
    assert ship_weights.next_recipe(second, remade, 3000, runs / "x-cgan.stages" / "2-x-tune", chained=False) == second
    with pytest.raises(SystemExit, match="not of the shipped file"):  # a stage that is not the recipe's last
        ship_weights.next_recipe(second, remade, 3000, runs / "x-cgan.stages" / "1-x-scratch", chained=False)


def _ship_weights_module():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ship_weights", Path(__file__).parents[1] / "scripts" / "ship_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_kept_model_keeps_its_card_row_and_gets_its_recipe_config():
    ship_weights = _ship_weights_module()
    card = (ship_weights.ROOT / "weights" / "uncrop.md").read_text(encoding="utf-8")
    kept = ship_weights.kept("uncrop", "regression")
    assert kept["row"].startswith("| regression | `uncrop-regression.safetensors` |") and kept["row"] in card
    assert kept["config"]["model"] == "regression" and kept["config"]["task_options"]["mask"] == "mixed"
    config = {"val_fraction": 0.1, "steps": 2500, "batch_size": 4, "data": "DIR", "model": "cgan"}
    row = {"model": "cgan", "file": "x.safetensors", "mb": 4.8, "params": 2.5e6, "steps": 2500, "run_steps": 2500,
           "hours": 0.7, "picked": "last step", "config": config, "init": None, "init_step": None}
    text = ship_weights.card("uncrop", [row, kept], "TABLE", "DIR", "img2img eval")
    assert kept["row"] in text and "the baseline's run, the last stage of weights/recipes/uncrop-regression.json, " \
        "differs in" in text
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


def test_training_seconds_up_to_a_picked_step(tmp_path):
    ship_weights = _ship_weights_module()
    log = tmp_path / "log.jsonl"
    rows = [{"step": s, "time": t} for s, t in ((50, 0.0), (100, 60.0), (150, 120.0), (200, 5000.0), (250, 5060.0))]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert ship_weights.training_seconds(log) == 180.0  # the 4880 s pause (a resume) is not counted
    assert ship_weights.training_seconds(log, until_step=150) == 120.0
