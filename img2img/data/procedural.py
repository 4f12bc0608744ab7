"""The embedded default dataset: procedural landscape scenes rendered in pure torch.

Each scene is fixed by an integer seed: a sky gradient (day, dusk, night or overcast) with a sun or moon,
perspective clouds, layered mountain ridges fading into the haze, a grass / sand / snow field or a lake
that mirrors the sky, and trees, houses and rocks scaled by their distance. Structure at several scales
(value-noise octaves) gives an uncropping or restoration model something real to learn without any file
or download. How each part is drawn is in :mod:`.scenery`; here a seed picks the parts and composes them.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import ConfigError
from ..seeding import make_generator, stable_seed
from .folders import parse_item
from .scenery import (
    LIGHT,
    Canvas,
    Rng,
    Spot,
    draw_clouds,
    draw_ground,
    draw_mountains,
    draw_objects,
    draw_sky,
    draw_stars,
    draw_sun_or_moon,
    draw_water,
    fractal_1d,
)

TRAIN_SCENES = 20_000
VAL_SCENES = 500
VAL_SEED_OFFSET = 1_000_000  # val seeds start here: far from every train seed, so the splits never overlap
TRAIN_OVERSCAN = 1.125  # train renders this much larger and random-crops back (pix2pix-style jitter)


def render_scene(seed: int, height: int, width: int) -> Tensor:
    """The landscape of ``seed`` as Tensor[3, height, width] in [0, 1]; identical on every call."""
    if height < 1 or width < 1:
        raise ValueError(f"scene size must be positive, got {height}x{width}")
    rng = Rng(stable_seed("procedural-scene", seed))
    cv = Canvas(height, width)
    time = rng.choice(["day", "dusk", "night", "overcast"], [0.45, 0.25, 0.15, 0.15])
    light = rng.colour(LIGHT[time], 0.03)
    horizon = rng.uniform(0.5, 0.72)
    haze = draw_sky(rng, cv, time, horizon)
    if time == "night":
        draw_stars(rng, cv, horizon)
    sun_x, _ = draw_sun_or_moon(rng, cv, time, horizon) if time != "overcast" else (cv.aspect / 2, 0.0)
    draw_clouds(rng, cv, time, horizon, haze)
    kind = rng.choice(["grass", "sand", "snow"], [0.7, 0.15, 0.15])
    draw_mountains(rng, cv, horizon, haze, light, snowy=kind == "snow" or rng.chance(0.4))
    edge = fractal_1d(rng, 1, cv.xs[0], 2.0, 4, 0.5).view(1, -1)
    if rng.chance(0.35):
        shore = horizon + rng.uniform(0.08, 0.25) + 0.04 * edge
        draw_water(rng, cv, horizon, shore, sun_x, time)
        draw_ground(rng, cv, kind, shore, horizon, haze, light)
        land_top = float(shore.max())
    else:
        draw_ground(rng, cv, kind, torch.full((1, width), horizon), horizon, haze, light)
        land_top = horizon
    look = Spot(x=0.0, ground_y=0.0, size=0.0, fog=0.0, light=light, haze=haze)
    draw_objects(rng, cv, time, land_top, horizon, kind, look)
    return cv.image.clamp_(0, 1)


class ProceduralScenes(Dataset):
    """Procedural landscapes as ``{"x": Tensor[3, size, size] in [-1, 1], "key": "scene-000042"}``.

    Train holds scenes 0..19999 and val 500 scenes from a disjoint seed range. In training each scene is
    rendered a little larger and randomly cropped and flipped; with an ``(index, seed)`` item that jitter is
    fixed by the seed.
    """

    def __init__(self, split: str = "train", size: int = 128, train: bool = True, length: int | None = None) -> None:
        if split not in ("train", "val"):
            raise ConfigError(f"unknown split '{split}' for the procedural scenes (expected train or val)")
        if size < 1:
            # Eval's --size 0 means "each image at its own size": code-drawn scenes have none to keep.
            raise ConfigError(f"the embedded procedural scenes have no native size (got size {size}): pass "
                              "--size N, or --data DIR to evaluate photos at their own size")
        self.split = split
        self.size = size
        self.train = train
        self.first_seed = 0 if split == "train" else VAL_SEED_OFFSET
        self.length = length if length is not None else (TRAIN_SCENES if split == "train" else VAL_SCENES)
        if self.length < 1:
            raise ConfigError(f"length must be positive, got {self.length}")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, object]:
        index, seed = parse_item(item, self.length)
        scene = self.first_seed + index
        if not self.train:
            image = render_scene(scene, self.size, self.size)
        else:
            big = max(self.size + 1, int(round(self.size * TRAIN_OVERSCAN)))
            rendered = render_scene(scene, big, big)
            gen = make_generator(seed) if seed is not None else None
            top, left = (int(v) for v in torch.randint(0, big - self.size + 1, (2,), generator=gen))
            image = rendered[:, top : top + self.size, left : left + self.size]
            if bool(torch.rand((), generator=gen) < 0.5):
                image = image.flip(-1)
        return {"x": image.contiguous() * 2 - 1, "key": f"scene-{scene:06d}"}
