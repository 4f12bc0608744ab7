"""Hand-drawn sketches (QMUL-Shoe / QMUL-Handbag) and the one split everyone uses.

The folder ``qmul_sketches`` holds ``{shoes,handbags}/sketch/NNN.png`` (drawn by people) and
``{shoes,handbags}/photo_edges/NNN.png`` (the machine edge map of the photo the sketch was drawn from). A fixed
quarter of the pairs is **held out**: nothing may be fitted or tuned on it (augmentation parameters, normalisers,
model selection); it is only for judging. Which pair is held out depends on nothing but ``"category/index"``
through a stable hash (:func:`img2img.seeding.unit_interval`), so the split is the same on every machine and
run, and adding files never moves an existing pair to the other side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from img2img.errors import DataError
from img2img.seeding import unit_interval

CATEGORIES: tuple[str, ...] = ("shoes", "handbags")
PARTS: tuple[str, ...] = ("fit", "held_out", "all")
HELD_OUT_FRACTION = 0.25
_SPLIT_SALT = "qmul-held-out-v1"  # part of the hash: changing it would silently change the held-out set


@dataclass(frozen=True)
class SketchPair:
    """One object: a person's sketch of it and the machine edge map of its photo."""

    category: str
    index: int
    sketch: Path
    edges: Path

    @property
    def key(self) -> str:
        return f"{self.category}/{self.index}"


def held_out(category: str, index: int) -> bool:
    """Whether the pair ``category/index`` belongs to the held-out part (about :data:`HELD_OUT_FRACTION`)."""
    return unit_interval(_SPLIT_SALT, f"{category}/{int(index)}") < HELD_OUT_FRACTION


def human_sketch_pairs(root: str | Path, part: str = "fit") -> list[SketchPair]:
    """The (sketch, edge map) pairs of ``part`` ("fit", "held_out" or "all") under ``root``, in a fixed order.

    ``root`` is the ``qmul_sketches`` folder. Only indices that have both files count. Raises DataError when
    the folder holds no pairs.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    root = Path(root)
    pairs = []
    for category in CATEGORIES:
        sketch_dir, edge_dir = root / category / "sketch", root / category / "photo_edges"
        if not sketch_dir.is_dir():
            continue
        for path in sorted(sketch_dir.glob("*.png")):
            if not path.stem.isdigit() or not (edge_dir / path.name).is_file():
                continue
            index = int(path.stem)
            if part == "all" or held_out(category, index) == (part == "held_out"):
                pairs.append(SketchPair(category, index, path, edge_dir / path.name))
    if not pairs:
        raise DataError(f"no sketch/photo_edges pairs found under {root} (expected {{shoes,handbags}}/sketch/NNN.png)")
    return pairs


def link_pairs(pairs: list[SketchPair], out: str | Path, kind: str = "sketch") -> int:
    """Symbolic links in ``out`` to each pair's ``kind`` image ("sketch" or "photo_edges"), named
    ``<category>_<index>.png`` so a sketch and its edge map share a name across two folders; nothing of the
    dataset is copied. Existing entries are never replaced. Returns how many links were made."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    made = 0
    for pair in pairs:
        link = out / f"{pair.category}_{pair.index:03d}.png"
        if link.exists() or link.is_symlink():
            continue
        link.symlink_to((pair.sketch if kind == "sketch" else pair.edges).resolve())
        made += 1
    return made
