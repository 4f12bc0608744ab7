"""Put the held-out hand-drawn sketches (or their edge maps) in one folder of symbolic links, for
``img2img eval --task sketch2photo --data DIR --reference PHOTOS`` and for looking at outputs by eye.

    .venv/bin/python scripts/link_held_out_sketches.py OUT_DIR [--root ../shared/data/qmul_sketches]
        [--kind sketch|photo_edges] [--part held_out|fit]

Links, not copies: nothing of the dataset is duplicated (keep OUT_DIR outside the repository). Names are
``<category>_<index>.png``, so a sketch and the edge map of the same object share a name across two folders.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from img2img_plugins.sketch2photo.human_sketches import human_sketch_pairs, link_pairs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "qmul_sketches"))
    parser.add_argument("--kind", choices=("sketch", "photo_edges"), default="sketch")
    parser.add_argument("--part", choices=("held_out", "fit"), default="held_out")
    args = parser.parse_args()
    pairs = human_sketch_pairs(args.root, args.part)
    made = link_pairs(pairs, args.out, args.kind)
    print(f"{args.out}: {made} new links to the {args.part} {args.kind} images ({len(pairs)} in that part)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
