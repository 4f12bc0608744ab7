"""How much of the variety between a cGAN's samples is more than a tint (colour, material, texture, shape).

    .venv/bin/python benchmarks/sample_variety.py WEIGHTS.safetensors [MORE.safetensors ...] \
        [--data FOLDER] [--split val|all] [--limit 200] [--samples 4]

`img2img eval`'s LPIPS-div is the mean LPIPS between two samples of one input. A model whose samples differ
only in hue (one shoe, in four colours) scores well there, though a person sees one shoe four times. Here each
pair (a, b) is also scored after a's colours are matched to b's: per RGB channel the affine map s * a + t
closest to b (least squares over the image), the most a global tint, brightness or contrast change can do. What
LPIPS still sees after the match is the part of the variety no tint explains: material, texture, details,
shape. Prints, per weights file: LPIPS between samples, LPIPS after the colour match ("beyond tint"), and their
ratio; and the lattice score of the samples over the object (uncrop's fill_lattice measure without the photo's
own part: the correlation of the fine detail with itself shifted 16 px, across and down, over the non-white
pixels; a GAN's stride grid on a flat surface raises it, and a tint can also be had by painting one).

--split val (the default): the validation split of --data, as `img2img eval --split val` takes it (default:
edges2shoes). --split all: every image of --data is an input (e.g. hand-drawn sketches from
scripts/link_held_out_sketches.py), made into a condition as `img2img eval --reference` makes it. Latents are
eval's (seeded by the input's name), so the numbers are those of the samples eval draws.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from img2img.eval_inputs import _at_scale, _image_files, _load_square, spread  # noqa: E402
from img2img.features import lpips  # noqa: E402
from img2img.inference import Translator  # noqa: E402
from img2img.models import sample_latent  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402
from img2img.seeding import make_generator, stable_seed  # noqa: E402
from img2img.task import eval_inputs  # noqa: E402
from img2img_plugins.uncrop import _lattice_correlation  # noqa: E402


def object_mask(images: torch.Tensor, margin: int = 4) -> torch.Tensor:
    """(N, 1, H, W): pixels of the object (not near-white in some channel), ``margin`` px in from its outline."""
    ink = ((images + 1) / 2 < 0.85).any(dim=1, keepdim=True).float()
    return 1 - torch.nn.functional.max_pool2d(1 - ink, 2 * margin + 1, stride=1, padding=margin)


def match_colours(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (N, C, H, W) with each channel mapped by the affine s * a + t that is closest to b (least squares)."""
    a_flat, b_flat = a.flatten(2), b.flatten(2)
    a_mean, b_mean = a_flat.mean(-1, keepdim=True), b_flat.mean(-1, keepdim=True)
    a_centred = a_flat - a_mean
    scale = (a_centred * (b_flat - b_mean)).sum(-1, keepdim=True) / a_centred.pow(2).sum(-1, keepdim=True).clamp(min=1e-8)
    return (scale * a_centred + b_mean).view_as(a).clamp(-1, 1)


def conditions(gan: Translator, data: Path, split: str, limit: int
               ) -> list[tuple[str, torch.Tensor, torch.Tensor | None]]:
    """(name, condition (1, C, H, W), target photo or None) for each input, as eval takes them."""
    size = gan.info.train_size
    if split == "val":
        val_fraction = float(gan.info.extra.get("val_fraction", 0.1))
        dataset = gan.task.build_dataset(data, "val", size, val_fraction)
        items = [dataset[i] for i in spread(len(dataset), limit)]
        out = []
        for first in range(0, len(items), 16):
            batch = items[first : first + 16]
            x, y = eval_inputs(gan.task, batch, gan.device)
            out += [(str(item["key"]), y[i : i + 1], x[i : i + 1]) for i, item in enumerate(batch)]
        return out
    images = _load_square(_image_files(data, "--data", limit), size)
    return [(name, _at_scale(gan.task, gan.task.prepare_input(image[None].to(gan.device)), size), None)
            for name, image in images]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="+")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "edges2shoes_handbags" / "train"))
    parser.add_argument("--split", choices=("val", "all"), default="val")
    parser.add_argument("--limit", type=int, default=200, help="inputs, spread over the sorted list (0: all)")
    parser.add_argument("--samples", type=int, default=4, help="samples per input (an even number: pairs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.samples < 2 or args.samples % 2:
        parser.error("--samples must be an even number >= 2")
    task = load_plugins().get("sketch2photo")
    metric = lpips("alexnet", "cpu")
    for path in args.weights:
        gan = Translator(task, Path(path), device="cpu", backend="torch")
        raw, matched, lattice, real_lattice = [], [], [], []
        inputs = conditions(gan, Path(args.data), args.split, args.limit or None)
        for name, y, x in inputs:
            z = sample_latent(args.samples, gan.generator.nz, make_generator(stable_seed(args.seed, "eval-z", name)),
                              gan.device)
            with torch.no_grad():
                fakes = gan.sample(y, z=z).float()
                a, b = fakes[0::2], fakes[1::2]
                raw.append(metric(a, b).flatten())
                matched.append(metric(match_colours(a, b), b).flatten())
                lattice.append(_lattice_correlation(fakes, object_mask(fakes)))
                if x is not None:
                    real_lattice.append(_lattice_correlation(x.float(), object_mask(x.float())))
        raw_mean, matched_mean = torch.cat(raw).mean(), torch.cat(matched).mean()
        print(f"{path}: {len(inputs)} inputs x {args.samples} samples; LPIPS between samples {raw_mean:.4f}, "
              f"after matching colours {matched_mean:.4f} (beyond tint: {matched_mean / raw_mean:.0%}); "
              f"lattice over the object {torch.cat(lattice).mean():.4f}"
              + (f" (the target photos': {torch.cat(real_lattice).mean():.4f})" if real_lattice else ""))


if __name__ == "__main__":
    main()
