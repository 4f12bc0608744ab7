"""Where a sketch2photo cGAN's missing sharpness is: by scale, and as the blur of the real photos it equals.

    .venv/bin/python benchmarks/sharpness_gap.py WEIGHTS.safetensors [MORE.safetensors ...] [--data FOLDER] [--limit 100]

`img2img eval`'s sharpness is one ratio: the mean squared Laplacian of the samples' luminance over the
targets'. It says how much detail is missing, not where. For each weights file, on the validation split of
--data (default: edges2shoes, as `img2img eval --split val` takes it), two samples per input, this prints:

- the ratio at full size and after 2x2 and 4x4 average pooling of both sets (a deficit that shrinks as the
  images shrink is at the finest scales);
- the Gaussian blur (sigma, px) that brings the real photos down to the samples' ratio: what the deficit
  looks like;
- the spread of the per-image energy (10th, 50th, 90th percentiles), samples and photos: one smooth
  surface everywhere, or a few plain images among detailed ones;
- the mean gap in log power between samples and their photos, ring by ring of spatial frequency (what
  ``loss.spectral_weight`` trains on), per octave of frequency up to Nyquist: negative = too little;
- the tonal range over the object (pixels away from the white background, as benchmarks/sample_variety.py finds
  them): the share of its pixels with a luminance below 0.1 (near black) and above 0.8, samples and photos.
  The squared Laplacian grows with the square of a contrast, so a model that shuns black loses sharpness at
  every edge of a dark object.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from kornia.color import rgb_to_grayscale  # noqa: E402
from kornia.filters import gaussian_blur2d  # noqa: E402
from sample_variety import conditions, object_mask  # noqa: E402

from img2img.inference import Translator  # noqa: E402
from img2img.losses import ring_power  # noqa: E402
from img2img.metrics.sharpness import sharpness, sharpness_ratio as ratio  # noqa: E402
from img2img.models import sample_latent  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402
from img2img.seeding import make_generator, stable_seed  # noqa: E402


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    size = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur2d(images, (size, size), (sigma, sigma)) if sigma > 0 else images


def equivalent_blur(real: torch.Tensor, target: float) -> float:
    """The sigma (px) at which the blurred photos' sharpness ratio to themselves is ``target`` (bisection)."""
    if target >= 1:
        return 0.0
    low, high = 0.0, 4.0
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if ratio(blur(real, mid), real) > target else (low, mid)
    return (low + high) / 2


def octave_gaps(fake: torch.Tensor, real: torch.Tensor) -> list[tuple[int, int, float]]:
    """(first ring, last ring, mean log-power gap) per octave of frequency, from 2 cycles per image to Nyquist."""
    gap = (torch.log(ring_power(fake) + 1e-8) - torch.log(ring_power(real) + 1e-8)).mean(0)
    nyquist = min(real.shape[-2:]) // 2
    out, first = [], 2
    while first < nyquist:
        last = min(2 * first, nyquist)
        out.append((first, last, float(gap[first:last].mean())))
        first = last
    return out


def tonal_range(images: torch.Tensor) -> tuple[float, float]:
    """Shares of the object's pixels with luminance < 0.1 and > 0.8 (in [0, 1])."""
    luma = rgb_to_grayscale((images + 1) / 2)
    values = luma[object_mask(images) > 0]
    return float((values < 0.1).float().mean()), float((values > 0.8).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="+")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "edges2shoes_handbags" / "train"))
    parser.add_argument("--limit", type=int, default=100, help="validation inputs, spread over the split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = load_plugins().get("sketch2photo")
    for path in args.weights:
        gan = Translator(task, Path(path), device="cpu", backend="torch")
        fakes, reals = [], []
        for name, y, x in conditions(gan, Path(args.data), "val", args.limit):
            z = sample_latent(2, gan.generator.nz, make_generator(stable_seed(args.seed, "eval-z", name)), gan.device)
            with torch.no_grad():
                fakes.append(gan.sample(y, z=z).float())
            reals.append(x.float().expand(2, -1, -1, -1))
        fake, real = torch.cat(fakes), torch.cat(reals)
        full = ratio(fake, real)
        pooled = [ratio(torch.nn.functional.avg_pool2d(fake, k), torch.nn.functional.avg_pool2d(real, k)) for k in (2, 4)]
        quantiles = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
        spread = [sharpness(t).double().quantile(quantiles).tolist() for t in (fake, real)]
        print(f"{path}: {fake.shape[0] // 2} inputs x 2 samples")
        print(f"  sharpness ratio: {full:.3f} at full size, {pooled[0]:.3f} at 1/2, {pooled[1]:.3f} at 1/4")
        print(f"  = the photos blurred by sigma {equivalent_blur(real[0::2], full):.2f} px")
        print("  per-image energy (10/50/90%): samples " + " ".join(f"{v:.4f}" for v in spread[0])
              + ", photos " + " ".join(f"{v:.4f}" for v in spread[1]))
        print("  log-power gap, samples - photos, by octave (cycles per image): "
              + ", ".join(f"{a}-{b}: {g:+.2f}" for a, b, g in octave_gaps(fake, real)))
        (fake_dark, fake_light), (real_dark, real_light) = tonal_range(fake), tonal_range(real[0::2])
        print(f"  object pixels darker than 0.1: samples {fake_dark:.1%}, photos {real_dark:.1%}; "
              f"lighter than 0.8: samples {fake_light:.1%}, photos {real_light:.1%}")


if __name__ == "__main__":
    main()
