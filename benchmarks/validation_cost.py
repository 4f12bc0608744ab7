"""What training-time validation costs: seconds per validation against seconds of training between two.

    .venv/bin/python benchmarks/validation_cost.py [--config weights/configs/sketch2photo-cgan.json]
        [--threads 1] [--steps 60] [--val-images 64] [--val-native 0] [--repeats 3]

Builds the config's trainer (its data, size and models), times ``--steps`` training steps with the real data
loader (after 5 warm-up steps), then validation on the fixed ``--val-images`` inputs: the first call (which
also loads the inputs and builds the feature networks, once per run) and the median of ``--repeats`` more.
``--val-native N`` adds the native-size scores on N whole validation images (``val_native``).
Prints one markdown table row per cadence: the share of wall-clock time validation adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

from img2img.config import TrainConfig, apply_dict, load_config_file  # noqa: E402
from img2img.engine.trainer import Trainer  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "weights/configs/sketch2photo-cgan.json"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--val-images", type=int, default=64)
    parser.add_argument("--val-native", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cfg = TrainConfig()
    apply_dict(cfg, load_config_file(args.config))
    apply_dict(cfg, {"threads": args.threads, "val_images": args.val_images, "val_native": args.val_native, "steps": 10**6, "epochs": None})
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, load_plugins().get(cfg.task), Path(out), progress=False)
        batches = trainer._batches()
        for _ in range(5):
            trainer.train_step(batches)
        start = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step(batches)
        per_step = (time.perf_counter() - start) / args.steps

        def validate() -> float:
            start = time.perf_counter()
            trainer.validation.run(trainer.ema.model, 0, lambda metadata: None)
            return time.perf_counter() - start

        first = validate()
        again = statistics.median(validate() for _ in range(args.repeats))
        keys = sorted(trainer.validation.measure(trainer.ema.model))

    print(f"\n{Path(args.config).name}: {cfg.size} px, batch {cfg.batch_size}, {trainer.precision}, "
          f"torch threads {torch.get_num_threads()}; validation on {trainer.validation.count} images "
          + (f"and {trainer.validation.native_count} at native size " if trainer.validation.native_count else "")
          + 
          f"({', '.join(keys)})\n")
    print(f"training step: {per_step:.3f} s; validation: first {first:.2f} s, then {again:.2f} s (median of "
          f"{args.repeats})\n")
    print("| validate every | training between (s) | validation share of wall time |\n|---|---|---|")
    for every in (cfg.checkpoint_every, 2 * cfg.checkpoint_every, 4 * cfg.checkpoint_every):
        training = every * per_step
        print(f"| {every} steps | {training:.0f} | {again / (training + again):.1%} |")


if __name__ == "__main__":
    main()
