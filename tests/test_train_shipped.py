"""scripts/train_shipped.py: the shipped models' recipes (stage chains) load, match the shipped files, and run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from img2img.config import task_config
from img2img.plugins import load_plugins
from img2img.weights import read_info

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_shipped", ROOT / "scripts" / "train_shipped.py")
train_shipped = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_shipped)

RECIPES = sorted((ROOT / "weights" / "recipes").glob("*.json"))


def test_every_shipped_model_has_a_recipe_or_is_its_configs_one_command():
    """A shipped file not yet retrained with one command keeps its fine-tune chain (a recipe); one that was
    (scripts/ship_weights.py retires its recipe) records the run of weights/configs/NAME.json that made it."""
    shipped = {p.stem for p in (ROOT / "weights").glob("*.safetensors")}
    recipes = {p.stem for p in RECIPES}
    assert shipped and recipes <= shipped
    for name in sorted(shipped - recipes):
        config = json.loads((ROOT / "weights" / "configs" / f"{name}.json").read_text())
        trained = json.loads(read_info(ROOT / "weights" / f"{name}.safetensors").extra["train_config"])
        for key in ("task", "model", "steps", "data", "init", "seed"):
            assert trained.get(key) == config.get(key), f"{name}: {key} {trained.get(key)!r}, config {config.get(key)!r}"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_stages_are_valid_configs_and_end_at_the_shipped_file(recipe):
    stages = train_shipped.load_recipe(recipe.stem)
    tasks = load_plugins()
    for stage in stages:
        config = stage["config"]
        task = tasks.get(config["task"]).configure(**config.get("task_options", {}))
        task_config(task, config).validate()  # keys and values the current code accepts
    assert stages[0]["config"].get("init") is None  # the chain starts from scratch
    info = read_info(ROOT / "weights" / f"{recipe.stem}.safetensors")
    last = stages[-1]
    assert info.step == (last["until"] or last["config"]["steps"])
    assert (info.task, info.model) == (last["config"]["task"], last["config"]["model"])
    assert {k: v for k, v in info.task_options.items()} == last["config"]["task_options"]
    for key, value in last["config"]["generator"].items():
        assert info.generator.get(key, value) == value, key


def test_plan_chains_each_stage_to_the_weights_of_the_one_before(tmp_path):
    stages = [{"name": "a", "config": {"task": "uncrop", "model": "cgan", "steps": 8}, "until": 4},
              {"name": "b", "config": {"task": "uncrop", "model": "cgan", "steps": 6, "init": "x"}, "until": None}]
    first, second = train_shipped.plan("uncrop-cgan", tmp_path, stages, python="py")
    assert first["config"].get("init") is None and second["config"]["init"] == str(first["weights"])
    assert first["target"] == 4 and first["command"][-2:] == ["--until", "4"]
    assert second["target"] == 6 and "--until" not in second["command"]
    assert first["weights"] == tmp_path / "uncrop-cgan.stages" / "1-a" / "uncrop-cgan.safetensors"


def _tiny(steps: int) -> dict:
    return {"task": "uncrop", "model": "cgan", "size": 32, "batch_size": 2, "steps": steps, "num_workers": 0,
            "precision": "fp32", "checkpoint_every": 2, "val_images": 0, "sample_every": 1000,
            "generator": {"ngf": 8, "max_mult": 2}, "discriminator": {"ndf": 8, "n_layers": 2, "kind": "patch"},
            "loss": {"perceptual_weight": 0.0}}


def test_a_two_stage_recipe_runs_resumes_and_links_its_result(tmp_path, capsys):
    recipes, runs = tmp_path / "recipes", tmp_path / "runs"
    recipes.mkdir()
    stages = [{"name": "scratch", "config": _tiny(6), "until": 2}, {"name": "tune", "config": _tiny(2), "until": None}]
    (recipes / "uncrop-cgan.json").write_text(json.dumps({"stages": stages}))
    weights = train_shipped.run("uncrop-cgan", runs, dry=False, recipes=recipes)
    assert read_info(weights).step == 2 and weights.parent.name == "2-tune"
    first = runs / "uncrop-cgan.stages" / "1-scratch" / "uncrop-cgan.safetensors"
    assert read_info(first).step == 2  # stopped at `until`, not at its schedule's 6
    tuned = json.loads((weights.parent / "config.json").read_text())
    assert tuned["init"] == str(first)
    assert (runs / "uncrop-cgan").resolve() == weights.parent.resolve()
    capsys.readouterr()
    train_shipped.run("uncrop-cgan", runs, dry=False, recipes=recipes)  # everything done: nothing trains
    err = capsys.readouterr().err
    assert err.count(": done, ") == 2 and "img2img train" not in err


@pytest.mark.parametrize("text, message", [
    ("{", "not a recipe"),
    ('{"stages": []}', "non-empty list"),
    ('{"stages": [{"name": "a"}]}', "needs a 'name' and a 'config'"),
    ('{"stages": [{"name": "a", "config": {"steps": 4}, "until": 9}]}', "until must be a step in 1..steps"),
])
def test_a_bad_recipe_is_one_line(tmp_path, capsys, text, message):
    (tmp_path / "uncrop-cgan.json").write_text(text)
    code = train_shipped.main(["uncrop-cgan", "--recipes", str(tmp_path), "--runs", str(tmp_path / "runs"), "--print"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("train_shipped: error: ") and message in lines[0]
