"""Draw the README's figures from the shipped weights:

- the comparison, on inputs the project makes itself (code-drawn sketches and facade label maps, procedural scenes):
  one row per input, columns input | MSE baseline | 3 cGAN samples;
- the perception-distortion curves of every shipped fine-tuned pair, one row per task, from the scores
  scripts/ship_weights.py kept in weights/TASK-realism.json (no model runs for it).

    .venv/bin/python scripts/make_figures.py [--weights-dir weights] [--out docs/figures/comparison.png]
        [--realism-out docs/figures/realism.png]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import json  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from img2img.data.io import make_grid, save_image  # noqa: E402
from img2img.data.procedural import render_scene  # noqa: E402
from img2img.inference import Translator, default_weights_path  # noqa: E402
from img2img.metrics import tradeoff  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402

TILE = 160
CONTROLS = {"uncrop": {"sides": "left+right", "amount": 0.25}, "restore": {"degrade_first": True, "severity": "medium"}}


def inputs_for(task_name: str, task) -> list[torch.Tensor]:
    if task_name == "sketch2photo":
        return task.examples()
    if task_name == "facades":
        return task.examples()[:2]  # code-drawn label maps, never the dataset's
    scenes = [render_scene(seed, 192, 192 if task_name == "restore" else 144) * 2 - 1 for seed in (5, 23)]
    return [s.unsqueeze(0) for s in scenes]


def fit(image: torch.Tensor) -> torch.Tensor:
    """Letterbox to a TILE x TILE square on white so rows of different sizes share one grid."""
    _, _, h, w = image.shape
    scale = TILE / max(h, w)
    resized = F.interpolate(image, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="bilinear",
                            antialias=True, align_corners=False)
    canvas = torch.ones(1, 3, TILE, TILE)
    top, left = (TILE - resized.shape[2]) // 2, (TILE - resized.shape[3]) // 2
    canvas[:, :, top : top + resized.shape[2], left : left + resized.shape[3]] = resized[:, :3]
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights-dir", default=str(ROOT / "weights"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "comparison.png"))
    parser.add_argument("--realism-out", default=str(ROOT / "docs" / "figures" / "realism.png"))
    parser.add_argument("--tasks", nargs="*", default=["sketch2photo", "uncrop", "restore", "facades"])
    args = parser.parse_args()
    realism_figure(Path(args.weights_dir), args.tasks, Path(args.realism_out))
    host = load_plugins()
    tiles: list[torch.Tensor] = []
    for name in args.tasks:
        paths = {m: default_weights_path(name, m, Path(args.weights_dir)) for m in ("cgan", "regression")}
        if not all(p.exists() for p in paths.values()):
            print(f"skipping {name}: no shipped weights yet")
            continue
        task = host.get(name)
        cgan, regression = Translator(task, paths["cgan"]), Translator(task, paths["regression"])
        for image in inputs_for(name, task):
            y = cgan.condition(image, **CONTROLS.get(name, {}))
            samples = cgan.sample(y, samples=3, seed=1)
            baseline = regression.sample(y)
            row = [cgan.task.condition_preview(y), baseline, *samples.split(1)]
            tiles += [fit(t.cpu().float()) for t in row]
    if not tiles:
        raise SystemExit("no task has shipped weights")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(torch.cat(tiles), nrow=5, padding=4), args.out)
    print(f"wrote {args.out}: columns input | MSE baseline | 3 cGAN samples")


def realism_figure(weights_dir: Path, tasks: list[str], out: Path) -> None:
    """One row per task whose shipped pair has a curve (weights/TASK-realism.json)."""
    curves = []
    for name in tasks:
        path = weights_dir / f"{name}-realism.json"
        if not path.is_file():
            print(f"realism: no {path.name} ({name} ships no fine-tuned pair yet)")
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        curves.append((f"{name}: from the MSE baseline (a=0) to the cGAN (a=1), {record['images']} validation images",
                       record["points"]))
    if curves:
        tradeoff.draw_curves(curves, out)
        print(f"wrote {out}: one row per task, PSNR and LPIPS against FD-Lite0, one point per realism a")


if __name__ == "__main__":
    main()
