"""Time to quality: what the pretrained priors buy per CPU-minute, on a task's real data.

    .venv/bin/python benchmarks/time_to_quality.py [--task TASK | --config FILE] [--data DIR ...] [--minutes 30]
        [--eval-every MIN] [--threads 2] [--val-images 256] [--recipe NAME=JSON ...] [--recipes A,B,...]
        [--concurrent] [--out FILE.json] [--keep DIR | --no-keep]
    .venv/bin/python benchmarks/time_to_quality.py --show FILE.json   # the table of a saved run

Trains the same generator (a task's shipped cGAN config, ``weights/configs/TASK-cgan.json``: data, size, batch,
architecture; sketch2photo's by default) with each
recipe for the same wall-clock budget of *training* time, and scores the EMA generator (the weights a run
ships) at fixed times: ``fd`` and ``kid`` (Frechet distance and unbiased KID on EfficientNet-Lite0 pooled
features), ``lpips`` (AlexNet LPIPS to the target) and ``swd`` (Laplacian-pyramid sliced Wasserstein distance
x1e3 to the targets: no pretrained network, so a check on recipes whose priors are the metrics' own networks,
the LPIPS term on LPIPS, the projected discriminator on Lite0) and ``sharpness`` (the ratio of the samples'
Laplacian energy to the targets': 1 = as sharp, shown beside the others, no speed-up), on the same ``--val-images`` validation images for every
recipe (training-time validation, :mod:`img2img.engine.validation`). Evaluation time is not counted: the clock
stops while a recipe is scored. The learning rate stays constant (the run is nominally 10^6 steps long), as a
time-budgeted run has no end to decay towards.

Recipes (``--recipe`` adds or replaces one, as a JSON object of config overrides):

- ``pix2pix``: L1 x 100 + the PatchGAN, no pretrained priors (and the mode-seeking term both recipes keep,
  so that the comparison is about the priors);
- ``default``: the config as it is (the engine's and the task's defaults under the file), i.e. the recipe a user gets;
- ``lite0``: the default recipe with the ImageNet EfficientNet-Lite0 encoder (``generator.encoder=lite0``,
  encoder at ``optim.encoder_lr_mult`` x the learning rate; the U-Net's context blocks off; latent FiLM on, as
  instance norm erases a concatenated z);
- ``lite0-nogan``: the same generator trained first as the regression baseline (MSE only) for
  ``baseline_fraction`` of the budget, then as the cGAN started from that baseline's EMA weights (``--init``:
  ESRGAN's start from its PSNR model, DeOldify's "NoGAN"). The baseline's minutes count in the budget, so the
  comparison with ``lite0`` is at equal total CPU time. A recipe's ``baseline_fraction`` key (0-1) is this
  schedule, not a config key. The GAN phase gains the config's latent input with zero weights (``adopt_init``),
  so it starts as exactly the baseline and its recipe is the config's own.

The issue-36 arms on the three tasks (``--data`` replaces the config's folders for every recipe):

    .venv/bin/python benchmarks/time_to_quality.py --task sketch2photo --recipes default,lite0,lite0-nogan \
        --concurrent --minutes 30 --out benchmarks/results/ttq-sketch2photo-lite0.json
    .venv/bin/python benchmarks/time_to_quality.py --task restore --data ../shared/data/landscapes \
        ../shared/data/bsds500/images --recipes default,lite0,lite0-nogan --concurrent --minutes 30 \
        --out benchmarks/results/ttq-restore-lite0.json
    (uncrop: the same with --task uncrop)

Speed-up, per metric, on best-so-far curves (fd, kid, lpips, swd: lower is better): the time the first recipe needs
to reach the best value it reaches within the budget, divided by the time each other recipe needs to reach
that same value (">" when it does not within the budget). Times are those of the scoring points, so the
resolution is ``--eval-every``; the largest speed-up it can show is ``minutes / eval-every``.

Each recipe trains in its own process with ``--threads`` torch threads. ``--concurrent`` runs them side by
side (on a small machine: 1 thread each, so they share one load and finish together); otherwise one after
another. Needs the ``perceptual`` extra and ../shared/data (the config's data folders).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

METRICS = ("fd", "kid", "lpips", "swd", "sharpness")
SPEEDUP_METRICS = METRICS[:4]  # lower is better; sharpness is a ratio whose target is 1, shown beside them
KEYS = {"fd": "val/fd_lite0", "kid": "val/kid_lite0", "lpips": "val/lpips", "swd": "val/swd",
        "sharpness": "val/sharpness"}
FORMATS = {"fd": "{:.1f}", "kid": "{:.4f}", "lpips": "{:.4f}", "swd": "{:.1f}", "sharpness": "{:.3f}"}
RECIPES: dict[str, dict[str, Any]] = {
    "pix2pix": {"loss": {"l1_weight": 100.0, "adversarial_weight": 1.0, "perceptual_weight": 0.0,
                         "feature_matching_weight": 0.0}, "discriminator": {"kind": "patch"}},
    "default": {},
    "lite0": {"generator": {"encoder": "lite0", "context_blocks": 0, "film": True}},
    "lite0-nogan": {"generator": {"encoder": "lite0", "context_blocks": 0, "film": True}, "baseline_fraction": 0.5},
}
# Recipe keys that are the benchmark's schedule, not config overrides.
SCHEDULE_KEYS = ("baseline_fraction",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time per recipe (default 30)")
    parser.add_argument("--eval-every", type=float, default=None, help="minutes between scores (default minutes/10)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per recipe (default: 1 with --concurrent, else all cores)")
    parser.add_argument("--val-images", type=int, default=256)
    parser.add_argument("--task", help="use weights/configs/TASK-cgan.json (default sketch2photo; --config overrides)")
    parser.add_argument("--config", default=None, help="the config every recipe starts from")
    parser.add_argument("--data", nargs="+", help="training folders for every recipe (default: the config's)")
    parser.add_argument("--recipe", action="append", default=[], metavar="NAME=JSON",
                        help="a recipe as config overrides; the first one listed in --recipes is the reference")
    parser.add_argument("--recipes", default="pix2pix,default", help="comma-separated names, reference first")
    parser.add_argument("--concurrent", action="store_true", help="train the recipes side by side")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/time_to_quality.json"))
    parser.add_argument("--keep", metavar="DIR", help="save each recipe's final EMA generator as DIR/NAME/cgan/TASK-cgan."
                        "safetensors, for `img2img eval --cgan` (diversity, hand-drawn inputs, contact sheets; "
                        "default runs/time_to_quality/OUT's name)")
    parser.add_argument("--no-keep", action="store_true", help="keep no weights")
    parser.add_argument("--show", metavar="FILE.json", help="print the table of a saved run and exit")
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # internal: train one recipe, write its curve
    parser.add_argument("--overrides", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.show:
        report = json.loads(Path(args.show).read_text("utf-8"))
        print(render(report, list(report["recipes"])))
        return
    if args.eval_every is None:
        args.eval_every = args.minutes / 10
    if args.keep is None and not args.no_keep and not args.arm:
        args.keep = str(ROOT / "runs/time_to_quality" / Path(args.out).stem)
    if args.config is None:
        args.config = str(ROOT / f"weights/configs/{args.task or 'sketch2photo'}-cgan.json")
    if args.arm:
        curve = train_arm(args, json.loads(args.overrides))
        Path(args.result).write_text(json.dumps(curve), "utf-8")
        return

    recipes = dict(RECIPES)
    for item in args.recipe:
        name, _, overrides = item.partition("=")
        recipes[name] = json.loads(overrides)
    names = [n for n in args.recipes.split(",") if n]
    missing = [n for n in names if n not in recipes]
    if missing or len(names) < 2:
        raise SystemExit(f"time_to_quality: need two or more known recipes, got {names} (unknown: {missing})")
    threads = args.threads or (1 if args.concurrent else os.cpu_count() or 1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for name in names:
            result = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, __file__, "--arm", name, "--overrides", json.dumps(recipes[name]), "--result",
                   str(result), "--minutes", str(args.minutes), "--eval-every", str(args.eval_every), "--threads",
                   str(threads), "--val-images", str(args.val_images), "--config", args.config]
            cmd += ["--keep", args.keep] if args.keep else []
            cmd += ["--data", *args.data] if args.data else []
            procs.append((name, result, subprocess.Popen(cmd)))
            if not args.concurrent:
                procs[-1][2].wait()
        for name, result, proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"time_to_quality: recipe {name} failed (exit {proc.returncode})")
            results[name] = json.loads(result.read_text("utf-8"))
    report = {"minutes": args.minutes, "eval_every": args.eval_every, "threads": threads,
              "concurrent": args.concurrent, "val_images": args.val_images, "config": Path(args.config).name,
              "data": args.data,
              "recipes": {n: recipes[n] for n in names}, "curves": results,
              "speedup": {m: speedups(results, names, m) for m in SPEEDUP_METRICS
                          if all(m in r["points"][0] for r in results.values())}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), "utf-8")
    print(render(report, names))


def train_arm(args: argparse.Namespace, overrides: dict[str, Any]) -> dict[str, Any]:
    """Train one recipe for ``args.minutes`` of training time; score it every ``args.eval_every`` minutes. A recipe
    with ``baseline_fraction`` trains the regression baseline for that part of the budget first, then the cGAN
    from the baseline's EMA weights, on one clock."""
    import torch

    from img2img.config import TrainConfig, apply_dict, load_config_file, task_config
    from img2img.engine.trainer import Trainer
    from img2img.plugins import load_plugins

    overrides = dict(overrides)
    schedule = {key: overrides.pop(key) for key in SCHEDULE_KEYS if key in overrides}
    baseline_fraction = float(schedule.get("baseline_fraction", 0.0))
    if not 0.0 <= baseline_fraction < 1.0:
        raise SystemExit(f"time_to_quality: baseline_fraction must be in [0, 1), got {baseline_fraction}")

    def config(**extra: Any) -> TrainConfig:
        file_cfg = load_config_file(args.config)
        cfg = task_config(load_plugins().get(file_cfg.get("task", TrainConfig().task)), file_cfg)  # + its defaults
        apply_dict(cfg, overrides)
        apply_dict(cfg, {"threads": args.threads, "val_images": args.val_images, "steps": 10**6, "epochs": None}
                   | ({"data": list(args.data)} if args.data else {}) | extra)
        return cfg

    points: list[dict[str, float]] = []
    budget, every = args.minutes * 60, args.eval_every * 60
    clock = {"trained": 0.0, "steps": 0}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) / args.arm if args.keep else Path(tmp)
        phases = [("cgan", budget, {})]
        if baseline_fraction:
            phases = [("regression", baseline_fraction * budget, {"model": "regression"}),
                      ("cgan", budget, {})]
        trainer = None
        for phase, until, extra in phases:
            if trainer is not None:  # the GAN phase starts from the baseline's EMA weights
                trainer.out.mkdir(parents=True, exist_ok=True)
                trainer._save_weights()
                extra = extra | {"init": str(trainer.out / f"{trainer.task.name}-{trainer.cfg.model}.safetensors")}
            cfg = config(**extra)
            trainer = Trainer(cfg, load_plugins().get(cfg.task), out / phase, progress=False)
            batches = trainer._batches()

            def score() -> None:
                values = trainer.validation.measure(trainer.ema.model, swd=True)
                points.append({"minutes": clock["trained"] / 60, "step": clock["steps"], "phase": phase}
                              | {m: values[k] for m, k in KEYS.items() if k in values})
                print(f"  {args.arm} ({phase}): {clock['trained'] / 60:5.1f} min, step {clock['steps']}: "
                      + ", ".join(f"{m} {points[-1].get(m, float('nan')):.4g}" for m in METRICS), flush=True)

            if not points:
                score()
            while clock["trained"] < until:
                start = time.perf_counter()
                trainer.train_step(batches)
                trainer.step += 1
                clock["steps"] += 1
                clock["trained"] += time.perf_counter() - start
                if clock["trained"] >= every * len(points) or clock["trained"] >= until:
                    score()
        if args.keep:
            trainer.out.mkdir(parents=True, exist_ok=True)
            trainer._save_weights()
    return {"points": points, "threads": torch.get_num_threads(), "precision": trainer.precision,
            "seconds_per_step": args.minutes * 60 / max(clock["steps"], 1)}


def best_so_far(points: list[dict[str, float]], metric: str) -> list[tuple[float, float]]:
    best, curve = float("inf"), []
    for p in points:
        best = min(best, p[metric])
        curve.append((p["minutes"], best))
    return curve


def first_time(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, v in curve if v <= target), None)


def speedups(results: dict[str, Any], names: list[str], metric: str) -> dict[str, Any]:
    """For each recipe after the first: minutes the first needs to reach its own best / minutes this one needs."""
    reference = best_so_far(results[names[0]]["points"], metric)
    target = reference[-1][1]
    t_ref = first_time(reference, target)
    out: dict[str, Any] = {"target": target, "reference_minutes": t_ref}
    for name in names[1:]:
        t = first_time(best_so_far(results[name]["points"], metric), target)
        # A reference whose best is its untrained score (t_ref == 0) never improves: there is no speed-up to give.
        out[name] = {"minutes": t, "speedup": None if t is None or not t_ref else (t_ref / t if t else float("inf"))}
    return out


def render(report: dict[str, Any], names: list[str]) -> str:
    lines = [f"time to quality on {report['config']}: {report['minutes']:g} min of training per recipe, scored every "
             f"{report['eval_every']:g} min on {report['val_images']} validation images, {report['threads']} thread(s) "
             f"per recipe, {'side by side' if report['concurrent'] else 'one after another'}", ""]
    metrics = [m for m in METRICS if all(m in c["points"][0] for c in report["curves"].values())]
    header = "| minutes | " + " | ".join(f"{n} step | " + " | ".join(f"{n} {m}" for m in metrics) for n in names) + " |"
    lines += [header, "|" + "---|" * (1 + (1 + len(metrics)) * len(names))]
    curves = [report["curves"][n]["points"] for n in names]
    for i in range(max(len(c) for c in curves)):
        cells = [f"{curves[0][min(i, len(curves[0]) - 1)]['minutes']:.1f}"]
        for c in curves:
            p = c[i] if i < len(c) else None
            cells += [str(p["step"]), *(FORMATS[m].format(p[m]) for m in metrics)] if p else [""] * (1 + len(metrics))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"speed-up of each recipe over {names[0]} (best-so-far curves; time for {names[0]} to reach its best "
              f"value / time for the recipe to reach it):", ""]
    for metric in [m for m in metrics if m in report["speedup"]]:
        s = report["speedup"][metric]
        if not s["reference_minutes"]:
            lines.append(f"- {metric} (target {s['target']:.4g}): {names[0]} never improves on its untrained score; "
                         "no speed-up to compute")
            continue
        parts = []
        for name in names[1:]:
            t = s[name]["minutes"]
            parts.append(f"{name} does not reach it in {report['minutes']:g} min" if t is None else
                         f"{name} {s['reference_minutes']:.1f}/{t:.1f} min = {s[name]['speedup']:.2f}x")
        lines.append(f"- {metric} (target {s['target']:.4g}): " + "; ".join(parts))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
