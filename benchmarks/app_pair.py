"""The app's latency target: one cGAN sample + the MSE baseline at 256x256, shipped weights, both backends.

    .venv/bin/python benchmarks/app_pair.py [--task sketch2photo] [--size 256] [--runs 21]

Prints median and p95 ms per backend (ONNX Runtime needs onnxruntime; exports are cached as the app does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import img2img  # noqa: E402,F401  (before torch: sets OMP_WAIT_POLICY)
import torch  # noqa: E402

from img2img.inference import Translator, default_weights_path  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="sketch2photo")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    task = load_plugins().get(args.task)
    y = torch.rand(1, task.in_channels, args.size, args.size) * 2 - 1
    print(f"{args.task}: cGAN (1 sample) + baseline at {args.size}px, {torch.get_num_threads()} threads, {args.runs} runs")
    print("| backend | median ms | p95 ms |\n|---|---|---|")
    for backend in ("onnx", "torch"):
        cgan = Translator(task, default_weights_path(args.task, "cgan"), backend=backend)
        baseline = Translator(task, default_weights_path(args.task, "regression"), backend=backend)
        for _ in range(3):
            cgan.sample(y), baseline.sample(y)
        times = []
        for i in range(args.runs):
            start = time.perf_counter()
            cgan.sample(y, seed=i)
            baseline.sample(y)
            times.append((time.perf_counter() - start) * 1000)
        p95 = sorted(times)[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"| {backend} | {statistics.median(times):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
