"""Contact sheet of restore's training damage on real photos: what the model is taught to undo.

Rows: photos. Columns: clean, light, medium, heavy (the task's presets, camera noise included), then camera
noise alone (medium's ranges, at its strongest shot gain) as a 2x zoom of the photo's centre, and the clean
centre at the same zoom next to it, so a phone photo's noise can be held against the synthetic one.

    python benchmarks/degradation_sheet.py PHOTO_DIR --out sheet.png [--count 4] [--size 256] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from img2img.data.io import list_images, load_image
from img2img_plugins.restore.degradations import DegradationConfig, degrade

COLUMNS = ("clean", "light", "medium", "heavy", "camera 2x", "clean 2x")


def camera_only() -> DegradationConfig:
    """Medium's camera noise on every photo, at the top of its shot range, and nothing else."""
    first = DegradationConfig.for_severity("medium").first
    hi = first.camera_shot[1]
    stage = dataclasses.replace(first, camera_noise_prob=1.0, camera_shot=(hi / 2, hi))
    return DegradationConfig(first=stage, blur=False, resize=False, jpeg=False, second_order=False)


def zoom2(x: torch.Tensor) -> torch.Tensor:
    """The central half of each image, at twice the size (nearest: pixels stay pixels)."""
    h, w = x.shape[-2:]
    centre = x[..., h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2]
    return F.interpolate(centre, scale_factor=2, mode="nearest")


def load(paths: list[Path], size: int) -> torch.Tensor:
    out = []
    for p in paths:
        img = load_image(p)
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
        out.append(torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 127.5 - 1)
    return torch.stack(out)


def sheet(photos: torch.Tensor, seed: int) -> Image.Image:
    columns = [photos]
    for i, severity in enumerate(("light", "medium", "heavy")):
        columns.append(degrade(photos, torch.Generator().manual_seed(seed + i), DegradationConfig.for_severity(severity)))
    columns.append(zoom2(degrade(photos, torch.Generator().manual_seed(seed + 3), camera_only())))
    columns.append(zoom2(photos))
    n, _, h, w = photos.shape
    pad, label = 4, 16
    canvas = Image.new("RGB", (len(columns) * (w + pad) + pad, label + n * (h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for c, (name, images) in enumerate(zip(COLUMNS, columns)):
        draw.text((pad + c * (w + pad) + 2, 2), name, fill="black")
        for r in range(n):
            arr = ((images[r].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
            canvas.paste(Image.fromarray(arr), (pad + c * (w + pad), label + pad + r * (h + pad)))
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--out", type=Path, default=Path("degradation_sheet.png"))
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = list_images(args.photos)[: args.count]
    if not paths:
        raise SystemExit(f"no images in {args.photos}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet(load(paths, args.size), args.seed).save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
