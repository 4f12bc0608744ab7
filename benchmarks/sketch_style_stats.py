"""How close do sketch2photo's training conditions come to what people draw? Statistics of machine edge maps,
with and without the human-style augmentation, against sketches drawn by people (``qmul_sketches``).

    .venv/bin/python benchmarks/sketch_style_stats.py [--root ../shared/data/qmul_sketches] [--size 128]
        [--search] [--sheet /tmp/sheet.png]

Both sides are taken to what the model sees: an edge map as a paired training condition (area-downscaled to
``--size``, binarised by the task's ink rule); a person's sketch as ``predict`` and the app prepare it
(``prepare_input``: cropped to its strokes, thinned, then ``resize_condition`` to ``--size``).

Per image: ink fraction, stroke ends (skeleton pixels with one neighbour: fragmented edges have many), the share
of ink deeper than 6 px at 128 inside the silhouette (interior detail), and the bounding box's share of the
canvas (framing). Distance between
two sets = Wasserstein-1 between their per-image distributions, divided by the spread (std) of the human one;
"style" = the mean of the four. "chamfer" = symmetric chamfer distance (px at ``--size``, capped at 16) between a
person's sketch and the edge map of the same object, both cropped to their strokes as prepare_input does.

``--search`` picks the augmentation strength by "style" + chamfer / 4 on the FIT part only (a small grid around
the shipped :data:`HUMAN_STYLE`); the table is always printed for FIT and HELD-OUT. ``--sheet`` writes a contact
sheet (sketch | edges | humanised edges) of a few FIT pairs for looking at, never to be committed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from img2img.seeding import make_generator, stable_seed  # noqa: E402
from img2img_plugins.sketch2photo import INK_THRESHOLD, Sketch2PhotoTask  # noqa: E402
from img2img_plugins.sketch2photo.human_sketches import human_sketch_pairs  # noqa: E402
from img2img_plugins.sketch2photo.sketch_style import HUMAN_STYLE, SketchStyle, apply_style, silhouette  # noqa: E402
from img2img_plugins.sketch2photo.strokes import thin_strokes  # noqa: E402

CAP = 16


def _grey(path: Path) -> torch.Tensor:
    arr = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr)[None, None]


def load(pairs, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(people's sketches as the model sees them, edge maps as paired training conditions)."""
    task = Sketch2PhotoTask()
    human, edges = [], []
    for p in pairs:
        sketch = task.resize_condition(task.prepare_input(_grey(p.sketch).expand(-1, 3, -1, -1)), (size, size))
        e = _grey(p.edges)
        e_small = F.interpolate(e, size=(size, size), mode="area")
        human.append(sketch)
        edges.append(torch.where(e_small > INK_THRESHOLD, 1.0, -1.0))
    return torch.cat(human), torch.cat(edges)


def endpoints(strokes: torch.Tensor) -> torch.Tensor:
    """Stroke ends per image: skeleton pixels with exactly one 8-neighbour (a broken line has two more)."""
    skeleton = (thin_strokes(1 - 2 * strokes, max_iters=4) < 0).float()
    neighbours = F.avg_pool2d(skeleton, 3, stride=1, padding=1, count_include_pad=True) * 9 - skeleton
    return (skeleton * (neighbours.round() == 1).float()).flatten(1).sum(1)


def distance_to(strokes: torch.Tensor) -> torch.Tensor:
    """Chessboard distance (capped) of every pixel to the nearest ink pixel."""
    dist = torch.full_like(strokes, float(CAP))
    reach = strokes
    for d in range(CAP):
        dist = torch.where((reach > 0) & (dist == CAP), torch.full_like(dist, float(d)), dist)
        reach = F.max_pool2d(reach, 3, stride=1, padding=1)
    return dist


def stats(sketch: torch.Tensor) -> dict[str, torch.Tensor]:
    strokes = (sketch < 0).float()
    size = sketch.shape[-1]
    ink = strokes.flatten(1).sum(1).clamp_min(1)
    depth = max(1, round(6 * size / 128))
    inside = 1 - F.max_pool2d(1 - silhouette(strokes), 2 * depth + 1, stride=1, padding=depth)
    rows, cols = strokes.amax(dim=3).flatten(1), strokes.amax(dim=2).flatten(1)
    extent = lambda m: (m.shape[1] - m.argmax(1) - m.flip(1).argmax(1)).clamp_min(0).float()  # noqa: E731
    return {
        "ink": strokes.flatten(1).mean(1),
        "endpoints": endpoints(strokes),
        "interior": (strokes * inside).flatten(1).sum(1) / ink,
        "bbox": extent(rows) * extent(cols) / size**2,
    }


def chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    sa, sb = (a < 0).float(), (b < 0).float()
    ab = (distance_to(sb) * sa).flatten(1).sum(1) / sa.flatten(1).sum(1).clamp_min(1)
    ba = (distance_to(sa) * sb).flatten(1).sum(1) / sb.flatten(1).sum(1).clamp_min(1)
    return (ab + ba) / 2


def w1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Wasserstein-1 between two 1-D samples (quantile matching on a common grid)."""
    q = torch.linspace(0, 1, 101)
    return float((torch.quantile(a, q) - torch.quantile(b, q)).abs().mean())


def augment(edges: torch.Tensor, style: str, human: SketchStyle, tag: str) -> torch.Tensor:
    # One generator per image (seeded by position), as the trainer seeds one per step.
    return torch.cat([apply_style(edges[i : i + 1], make_generator(stable_seed("style-stats", tag, i)), style, human)
                      for i in range(edges.shape[0])])


def compare(human: torch.Tensor, cond: torch.Tensor, human_cropped_ref: torch.Tensor | None,
            cond_cropped: torch.Tensor | None) -> dict[str, float]:
    hs, cs = stats(human), stats(cond)
    row = {k: w1(hs[k], cs[k]) / float(hs[k].std().clamp_min(1e-6)) for k in hs}
    row["style"] = sum(row.values()) / len(hs)
    if human_cropped_ref is not None and cond_cropped is not None:
        row["chamfer"] = float(chamfer(human_cropped_ref, cond_cropped).mean())
    row.update({f"mean_{k}": float(v.mean()) for k, v in cs.items()})
    return row


def crop_like_user(sketch: torch.Tensor, size: int) -> torch.Tensor:
    """Each sketch cropped to its strokes, padded square with prepare_input's 8% margin, back at ``size``
    (no thinning: the chamfer distance hardly depends on the width, and this keeps the search fast)."""
    out = []
    for one in (sketch < 0).float():
        rows, cols = one[0].amax(1).nonzero().flatten(), one[0].amax(0).nonzero().flatten()
        if rows.numel() == 0:
            out.append(torch.ones(1, 1, size, size))
            continue
        top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        box = max(bottom - top + 1, right - left + 1)
        side = box + 2 * max(2, round(0.08 * box))
        y0, x0 = (top + bottom + 1 - side) // 2, (left + right + 1 - side) // 2
        canvas = torch.zeros(1, 1, side, side)
        sy0, sx0, sy1, sx1 = max(0, y0), max(0, x0), min(size, y0 + side), min(size, x0 + side)
        canvas[..., sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = one[:, sy0:sy1, sx0:sx1]
        small = F.interpolate(canvas, size=(size, size), mode="area" if side > size else "nearest")
        out.append(torch.where(small > 0.25, -1.0, 1.0))
    return torch.cat(out)


def evaluate_style(human, edges, style: str, params: SketchStyle, size: int, tag: str) -> dict[str, float]:
    cond = augment(edges, style, params, tag)
    return compare(human, cond, human, crop_like_user(cond, size))


def objective(row: dict[str, float]) -> float:
    return row["style"] + row["chamfer"] / 4


def search(human, edges, size: int) -> SketchStyle:
    """Coordinate search over a few strengths on FIT pairs: each parameter in turn, keep what lowers the objective."""
    best = HUMAN_STYLE
    best_score = objective(evaluate_style(human, edges, "human", best, size, "search"))
    grid = {"zoom": (1.0, 1.1, 1.2), "thick_share": (0.0, 0.5, 1.0), "fragment_ink": (5.0, 9.0, 14.0, 20.0),
            "interior_drop": (0.3, 0.7, 1.0), "interior_depth": (6.0, 12.0, 20.0), "wobble_px": (1.5, 3.0, 5.0),
            "rotate_deg": (2.0, 5.0, 8.0), "scale": (0.04, 0.08, 0.15), "break_density": (0.0, 0.0015, 0.004)}
    for name, values in grid.items():
        for value in values:
            cand = dataclasses.replace(best, **{name: value})
            score = objective(evaluate_style(human, edges, "human", cand, size, "search"))
            print(f"  {name}={value}: {score:.3f}", file=sys.stderr)
            if score < best_score - 1e-3:
                best, best_score = cand, score
    print(f"best on FIT: {best} (objective {best_score:.3f})", file=sys.stderr)
    return best


def sheet(human, edges, params: SketchStyle, path: str, count: int = 8) -> None:
    styled = augment(edges[:count], "human", params, "sheet")
    rows = [torch.cat([human[i, 0], edges[i, 0], styled[i, 0]], dim=1) for i in range(min(count, len(edges)))]
    grid = ((torch.cat(rows, dim=0) + 1) * 127.5).clamp(0, 255).byte().numpy()
    Image.fromarray(grid).save(path)


def timing(size: int, params: SketchStyle) -> str:
    torch.set_num_threads(1)
    task = Sketch2PhotoTask()
    photos = torch.rand(4, 3, size, size) * 2 - 1
    photos = F.avg_pool2d(photos, 9, stride=1, padding=4)  # some structure for the detectors to find
    out = []
    for style in ("machine", "mixed", "human"):
        t = task.configure(sketch_style=style)
        t.make_condition(photos, make_generator(0))
        start = time.perf_counter()
        for k in range(20):
            t.make_condition(photos, make_generator(k))
        out.append(f"{style} {1000 * (time.perf_counter() - start) / 20:.1f} ms")
    return "make_condition, batch of 4 at %d px, 1 thread: " % size + ", ".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "qmul_sketches"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--search", action="store_true", help="re-pick the strengths on the FIT part")
    parser.add_argument("--search-limit", type=int, default=170, help="FIT pairs the search looks at")
    parser.add_argument("--sheet", help="write a FIT contact sheet here (outside the repository)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    fit_h, fit_e = load(human_sketch_pairs(args.root, "fit"), args.size)
    if args.search:
        # A spread-out subset (shoes and bags alike) keeps the search to minutes; still FIT pairs only.
        every = max(1, len(fit_h) // args.search_limit)
        params = search(fit_h[::every], fit_e[::every], args.size)
    else:
        params = HUMAN_STYLE
    if args.sheet:
        sheet(fit_h, fit_e, params, args.sheet)
    held_h, held_e = load(human_sketch_pairs(args.root, "held_out"), args.size)

    cols = ("ink", "endpoints", "interior", "bbox", "style", "chamfer")
    print(f"| part | condition | n | {' | '.join(cols)} | mean ink | mean ends | mean interior | mean bbox |")
    print("|" + "---|" * (len(cols) + 7))
    for part, h, e in (("fit", fit_h, fit_e), ("held-out", held_h, held_e)):
        people = compare(h, h, None, None)
        print(f"| {part} | people's sketches | {len(h)} | " + " | ".join("0" for _ in cols[:-1]) + " | - | "
              + " | ".join(f"{people[f'mean_{k}']:.3f}" for k in ("ink", "endpoints", "interior", "bbox")) + " |")
        for style in ("machine", "mixed", "human"):
            row = evaluate_style(h, e, style, params, args.size, part)
            print(f"| {part} | edges, {style} | {len(e)} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " | "
                  + " | ".join(f"{row[f'mean_{k}']:.3f}" for k in ("ink", "endpoints", "interior", "bbox")) + " |")
    print(timing(args.size, params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
