"""Train (or resume) the shipped models the way they were made: each one's recipe, stage after stage.

    .venv/bin/python scripts/train_shipped.py sketch2photo-cgan [uncrop-regression ...] [--runs ../runs] [--print]

Most shipped weights are a chain: a from-scratch run, then fine-tunes that start from the weights the stage
before shipped (``train --init``), some stopped before their schedule's end (``train --until``: the step the
weights were taken at, by the run's validation or by eval). ``weights/recipes/TASK-MODEL.json`` lists the
stages, each with the full training config its run had (read from the shipped files' metadata in git
history) and the step its weights were taken at. Stage K of NAME runs in ``RUNS/NAME.stages/K-STAGE`` and
resumes from its newest checkpoint, so the same command continues after a crash or on another day; a finished
stage is skipped. When the last stage is done, ``RUNS/NAME`` links to its folder, which is where
``scripts/ship_weights.py`` looks (a real folder already there is left alone). ``--print`` only shows the commands. A model without a recipe trains ``weights/configs/NAME.json``
from scratch. One thread per process: on a busy 2-core machine two OpenMP threads per process were up to 6x
slower than one.

The result is the last stage's ``TASK-MODEL.safetensors``: the same recipe as the shipped file, not the same
bits (another machine sums in another order, and bf16 or a GPU changes the numbers); ``scripts/ship_weights.py``
ships it and ``img2img eval`` compares it with the card.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from img2img.config import TrainConfig  # noqa: E402
from img2img.errors import Img2ImgError, WeightsError  # noqa: E402
from img2img.weights import read_info  # noqa: E402


class RecipeError(Img2ImgError):
    """A recipe file that cannot be run; one line for the user."""


RECIPES = ROOT / "weights" / "recipes"


def load_recipe(name: str, recipes: Path = RECIPES) -> list[dict[str, Any]]:
    """The stages of ``name`` (``TASK-MODEL``): from its recipe file, or one from-scratch stage of its config."""
    path = recipes / f"{name}.json"
    if not path.is_file():
        config = ROOT / "weights" / "configs" / f"{name}.json"
        if not config.is_file():
            raise RecipeError(f"no recipe or config for '{name}' (weights/recipes/{name}.json, weights/configs/{name}.json)")
        return [{"name": "scratch", "config": json.loads(config.read_text("utf-8")), "until": None}]
    try:
        stages = json.loads(path.read_text("utf-8"))["stages"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RecipeError(f"{path}: not a recipe ({exc})") from None
    if not isinstance(stages, list) or not stages:
        raise RecipeError(f"{path}: 'stages' must be a non-empty list")
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict) or not isinstance(stage.get("config"), dict) or not stage.get("name"):
            raise RecipeError(f"{path}: stage {i} needs a 'name' and a 'config' object")
        until, steps = stage.get("until"), stage["config"].get("steps")
        if until is not None and not (isinstance(until, int) and isinstance(steps, int) and 0 < until <= steps):
            raise RecipeError(f"{path}: stage {i} ('{stage['name']}'): until must be a step in 1..steps, got {until}")
        # A stage records its run's whole config as it was; keys added to the engine since keep the engine's
        # defaults (the behaviour the run had), not the task's current recipe, which `img2img train` would put under
        # a config file.
        stage["config"] = _complete(TrainConfig().to_dict(), stage["config"])
    return stages


def _complete(defaults: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in config.items():
        out[key] = _complete(defaults[key], value) if isinstance(value, dict) and isinstance(defaults.get(key), dict) else value
    return out


def plan(name: str, runs: Path, stages: list[dict[str, Any]], python: str = sys.executable) -> list[dict[str, Any]]:
    """One entry per stage: its run folder, config file, target step, weights file and ``img2img train`` command.
    Stage K's config is its recipe config with ``init`` set to stage K-1's weights (the first keeps its own)."""
    out, init = [], None
    for k, stage in enumerate(stages, 1):
        config = dict(stage["config"])
        if k > 1:
            config["init"] = str(init)
        folder = runs / f"{name}.stages" / f"{k}-{stage['name']}"
        config_file = runs / f"{name}.stages" / f"{k}-{stage['name']}.json"
        weights = folder / f"{config['task']}-{config['model']}.safetensors"
        target = stage.get("until") or config["steps"]
        command = [python, "-m", "img2img", "train", "--config", str(config_file), "--out", str(folder), "--resume",
                   "--quiet", "--threads", "1"] + (["--until", str(stage["until"])] if stage.get("until") else [])
        out.append({"name": stage["name"], "folder": folder, "config_file": config_file, "config": config,
                    "target": target, "weights": weights, "command": command})
        init = weights
    return out


def finished(entry: dict[str, Any]) -> bool:
    """Whether the stage's weights exist at its target step (then it is skipped)."""
    try:
        return entry["weights"].is_file() and read_info(entry["weights"]).step >= entry["target"]
    except WeightsError:
        return False


def run(name: str, runs: Path, dry: bool, recipes: Path = RECIPES) -> Path:
    entries = plan(name, runs, load_recipe(name, recipes))
    for k, entry in enumerate(entries, 1):
        head = f"{name} stage {k}/{len(entries)} ({entry['name']}, to step {entry['target']})"
        if not dry and finished(entry):
            print(f"{head}: done, {entry['weights']}", file=sys.stderr)
            continue
        print(f"{head}: {shlex.join(entry['command'])}", file=sys.stderr)
        if dry:
            continue
        entry["config_file"].parent.mkdir(parents=True, exist_ok=True)
        entry["config_file"].write_text(json.dumps(entry["config"], indent=1) + "\n", "utf-8")
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        if subprocess.run(entry["command"], cwd=ROOT, env=env).returncode != 0:
            raise RecipeError(f"{head} failed; run the same command again to resume it")
    if not dry:
        link = runs / name
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            link.symlink_to(entries[-1]["folder"].relative_to(runs), target_is_directory=True)
        else:
            print(f"{name}: {link} is a folder of its own; the result is in {entries[-1]['folder']}", file=sys.stderr)
    return entries[-1]["weights"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", metavar="TASK-MODEL", help="e.g. sketch2photo-cgan uncrop-regression")
    parser.add_argument("--runs", type=Path, default=Path(os.environ.get("RUNS", ROOT.parent / "runs")),
                        help="where the runs live (default ../runs, outside the repository; or $RUNS)")
    parser.add_argument("--recipes", type=Path, default=RECIPES, help="recipe folder (default weights/recipes)")
    parser.add_argument("--print", dest="dry", action="store_true", help="show the commands, train nothing")
    args = parser.parse_args(argv)
    try:
        for name in args.names:
            weights = run(name, args.runs.resolve(), args.dry, args.recipes)
            if not args.dry:
                print(f"{name}: {weights}")
    except Img2ImgError as exc:
        print(f"train_shipped: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
