"""Write a copy of a generator weights file with another output function (``generator.output``: tanh | clip).

    .venv/bin/python scripts/switch_output.py IN.safetensors OUT.safetensors [--output clip]

The parameters are copied unchanged: only the function after the last layer changes (a clip to [-1, 1] has
tanh's parameters), so this measures what the output function alone does to a trained generator
(docs/performance.md, "The tanh output"). A residual generator has no output function to switch. OUT must not
exist: nothing the user had is overwritten.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

from img2img.config import GENERATOR_OUTPUTS  # noqa: E402
from img2img.errors import Img2ImgError  # noqa: E402
from img2img.models import build_generator  # noqa: E402
from img2img.weights import load_generator, save_generator  # noqa: E402


def switch(source: Path, target: Path, output: str) -> Path:
    if target.exists():
        raise Img2ImgError(f"{target} exists; pick a new name (nothing is overwritten)")
    generator, info = load_generator(source)
    if generator.config.residual:
        raise Img2ImgError(f"{source} is a residual generator: it ends in its input plus a clipped correction, with no output function to switch")
    config = replace(generator.config, output=output)
    config.validate()
    switched = build_generator(config, size=info.train_size)
    switched.load_state_dict(generator.state_dict())
    with safe_open(source, "pt") as stored:  # keep the file's precision (shipped files are fp16)
        half = any(stored.get_tensor(key).dtype == torch.float16 for key in stored.keys())
    return save_generator(target, switched, task=info.task, model=info.model, train_size=info.train_size, step=info.step,
                          task_options=info.task_options, dtype=torch.float16 if half else None, extra=info.extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--output", default="clip", choices=GENERATOR_OUTPUTS)
    args = parser.parse_args(argv)
    try:
        print(switch(args.source, args.target, args.output))
    except Img2ImgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
