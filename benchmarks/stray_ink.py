"""Dark blotches painted on a product photo's white background, away from the object (sketch2photo).

    .venv/bin/python benchmarks/stray_ink.py WEIGHTS.safetensors [MORE.safetensors ...] \
        [--data ../shared/data/edges2shoes_handbags/train] [--limit 200] [--samples 8]

edges2shoes targets are objects on white. For each validation pair, the background is every pixel where the
target photo is near-white (all channels > 0.85 of full scale) and at least 8 px from any non-white pixel; a
sample's stray ink is the fraction of those pixels it paints dark (luminance < 0.6). FD and KID barely see a
blotch beside a bag; a person sees it at once. Prints, per weights file, the mean stray-ink fraction and the
share of samples with a blotch (stray ink over 1% of the background). Same inputs, latents and seeds as
`img2img eval` (the validation split by file-name hash, --limit files spread over the sorted list).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from img2img.evaluate import spread  # noqa: E402
from img2img.inference import Translator  # noqa: E402
from img2img.models import sample_latent  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402
from img2img.seeding import make_generator, stable_seed  # noqa: E402
from img2img.task import eval_inputs  # noqa: E402


def background(x: torch.Tensor, margin: int = 8) -> torch.Tensor:
    """(N, 1, H, W) bool: near-white pixels of the targets x (in [-1, 1]) at least ``margin`` px from the object."""
    white = ((x + 1) / 2 > 0.85).all(dim=1, keepdim=True)
    near_object = F.max_pool2d((~white).float(), 2 * margin + 1, stride=1, padding=margin) > 0
    return white & ~near_object


def stray_ink(fakes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, K) fraction of each sample's background pixels painted dark; fakes (N, K, 3, H, W) in [-1, 1]."""
    rgb = (fakes.clamp(-1, 1) + 1) / 2
    luma = 0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2]
    dark = (luma < 0.6) & mask  # mask (N, 1, H, W) broadcasts over the K samples
    return dark.flatten(2).sum(-1) / mask.flatten(1).sum(-1, keepdim=True).clamp(min=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="+")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "edges2shoes_handbags" / "train"))
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = load_plugins().get("sketch2photo")
    for path in args.weights:
        gan = Translator(task, Path(path), device="cpu", backend="torch")
        val_fraction = float(gan.info.extra.get("val_fraction", 0.1))  # the split the weights were trained with
        dataset = gan.task.build_dataset(Path(args.data), "val", gan.info.train_size, val_fraction)
        items = [dataset[i] for i in spread(len(dataset), args.limit)]
        count = len(items)
        fractions = []
        for first in range(0, count, 16):
            batch = items[first : first + 16]
            x, y = eval_inputs(gan.task, batch, gan.device)
            keys = [str(item["key"]) for item in batch]
            z = torch.cat([sample_latent(args.samples, gan.generator.nz, make_generator(stable_seed(args.seed, "eval-z", k)),
                                         gan.device) for k in keys])
            with torch.no_grad():
                fakes = gan.sample(y.repeat_interleave(args.samples, dim=0), z=z).float().unflatten(0, (len(keys), args.samples))
            fractions.append(stray_ink(fakes, background(x.float())))
        ink = torch.cat(fractions)
        print(f"{path}: {count} inputs x {args.samples} samples; stray ink {ink.mean():.4f} of the background; "
              f"{(ink > 0.01).float().mean():.1%} of samples with a blotch (> 1%)")


if __name__ == "__main__":
    main()
