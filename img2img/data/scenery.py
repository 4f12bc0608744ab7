"""Drawing landscape scenery in pure torch: the parts the embedded procedural scenes are made of.

The building blocks: one scene's random draws (:class:`Rng`, fixed by its seed), value-noise octaves, the
palettes, and a :class:`Canvas` with anti-aliased coverage; then the parts themselves, each painted onto the
canvas in turn: sky, stars, sun or moon, clouds, mountain ridges, a ground field, a lake mirroring the sky,
and trees, houses and rocks. :func:`img2img.data.procedural.render_scene` composes them from a seed.
Everything is vectorised over pixels; only the handful of objects are a Python loop.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Sequence, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from ..seeding import make_generator

__all__ = [
    "LIGHT",
    "Canvas",
    "Rng",
    "Spot",
    "draw_clouds",
    "draw_ground",
    "draw_mountains",
    "draw_objects",
    "draw_sky",
    "draw_stars",
    "draw_sun_or_moon",
    "draw_water",
    "fractal_1d",
]

T = TypeVar("T")


# -- randomness ------------------------------------------------------------------------------------------
class Rng:
    """All draws of one scene, fixed by its seed.

    Scalars come from Python's ``random.Random`` (an int seed gives the same stream on every platform, and a
    scalar draw costs a fraction of a torch call); arrays come from a torch generator seeded alongside.
    """

    def __init__(self, seed: int) -> None:
        self.scalars = random.Random(seed)
        self.gen = make_generator(seed)

    def uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * self.scalars.random()

    def randint(self, lo: int, hi: int) -> int:
        """Inclusive of both ends."""
        return lo + int(self.scalars.random() * (hi - lo + 1))

    def chance(self, p: float) -> bool:
        return self.scalars.random() < p

    def choice(self, options: Sequence[T], weights: Sequence[float]) -> T:
        return self.scalars.choices(options, weights)[0]

    def rand(self, *shape: int) -> Tensor:
        return torch.rand(shape, generator=self.gen)

    def colour(self, rgb: Sequence[float], jitter: float = 0.05) -> Tensor:
        """An RGB colour [3, 1, 1] near ``rgb``: palettes vary a little from scene to scene."""
        varied = [min(1.0, max(0.0, c + (self.scalars.random() * 2 - 1) * jitter)) for c in rgb]
        return torch.tensor(varied, dtype=torch.float32).view(3, 1, 1)


# -- noise -----------------------------------------------------------------------------------------------
def _fractal_2d(rng: Rng, channels: int, height: int, width: int, cells: int, octaves: int) -> Tensor:
    """Value-noise octaves (each lattice twice as fine and half as strong), zero mean, unit std.

    The octaves are summed on the lattices themselves, each sum upsampled onto the next finer lattice, so
    only one interpolation runs at full resolution: that is most of the speed of a scene.
    """
    cells_y = cells
    cells_x = max(2, round(cells * width / height))
    total = rng.rand(1, channels, cells_y + 1, cells_x + 1)
    amplitude = 1.0
    for _ in range(1, octaves):
        if cells_y * 2 > height:
            break  # finer than a pixel adds nothing but cost
        cells_y, cells_x, amplitude = cells_y * 2, cells_x * 2, amplitude * 0.5
        finer = F.interpolate(total, size=(cells_y + 1, cells_x + 1), mode="bilinear", align_corners=True)
        total = finer + amplitude * rng.rand(1, channels, cells_y + 1, cells_x + 1)
    total = F.interpolate(total, size=(height, width), mode="bicubic", align_corners=True)[0]
    centred = total - total.mean(dim=(1, 2), keepdim=True)
    # population std: a 1x1 render (no spread at all) must give zeros, not NaN
    return centred / centred.square().mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-6)


def fractal_1d(rng: Rng, rows: int, xs: Tensor, cells: float, octaves: int, roughness: float) -> Tensor:
    """``rows`` independent 1-D fractal profiles over positions ``xs`` [W], roughly in [0, 1]."""
    total = torch.zeros(rows, xs.shape[0])
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        pos = xs * cells * 2**octave
        left = pos.floor().long()
        frac = pos - left
        if octave < 2:
            frac = frac * frac * (3 - 2 * frac)  # smooth large shapes; finer octaves stay jagged like rock
        lattice = rng.rand(rows, int(left.max()) + 2)
        total += amplitude * torch.lerp(lattice[:, left], lattice[:, left + 1], frac)
        norm += amplitude
        amplitude *= roughness
    return total / norm


def _smoothstep(lo: float, hi: float, value: Tensor) -> Tensor:
    t = ((value - lo) / (hi - lo)).clamp(0, 1)
    return t * t * (3 - 2 * t)


# -- palettes --------------------------------------------------------------------------------------------
# zenith, middle and horizon sky colours; the horizon colour doubles as the haze of distant things.
_SKIES = {
    "day": ((0.16, 0.38, 0.78), (0.42, 0.64, 0.90), (0.78, 0.87, 0.94)),
    "dusk": ((0.14, 0.14, 0.36), (0.72, 0.36, 0.42), (1.00, 0.70, 0.38)),
    "night": ((0.01, 0.02, 0.07), (0.04, 0.07, 0.18), (0.12, 0.17, 0.32)),
    "overcast": ((0.50, 0.53, 0.58), (0.64, 0.66, 0.70), (0.80, 0.81, 0.83)),
}
# How bright the lit world is: night scenes are dark, dusk warm.
LIGHT = {
    "day": (1.0, 1.0, 1.0),
    "dusk": (0.85, 0.62, 0.52),
    "night": (0.22, 0.26, 0.40),
    "overcast": (0.8, 0.82, 0.86),
}
# lit and shadowed sides of clouds
_CLOUD_LIGHT = {
    "day": (1.0, 1.0, 1.0),
    "dusk": (1.0, 0.72, 0.62),
    "night": (0.32, 0.34, 0.42),
    "overcast": (0.88, 0.88, 0.9),
}
_CLOUD_DARK = {
    "day": (0.62, 0.66, 0.74),
    "dusk": (0.42, 0.28, 0.40),
    "night": (0.10, 0.11, 0.16),
    "overcast": (0.50, 0.52, 0.56),
}
_GROUNDS = {
    "grass": [(0.30, 0.52, 0.20), (0.45, 0.58, 0.22), (0.22, 0.40, 0.18), (0.55, 0.50, 0.25)],
    "sand": [(0.84, 0.70, 0.46), (0.76, 0.58, 0.38)],
    "snow": [(0.90, 0.92, 0.96), (0.80, 0.85, 0.93)],
}
_ROCK = [(0.42, 0.40, 0.42), (0.36, 0.33, 0.30), (0.30, 0.36, 0.32), (0.50, 0.42, 0.36)]
_WALLS = [(0.92, 0.88, 0.78), (0.80, 0.30, 0.22), (0.55, 0.70, 0.82), (0.95, 0.80, 0.45), (0.70, 0.62, 0.52)]
_ROOFS = [(0.55, 0.18, 0.14), (0.30, 0.28, 0.30), (0.45, 0.30, 0.20), (0.22, 0.30, 0.45)]


class Canvas:
    """Pixel-centre coordinates in units of the image height (x spans [0, width/height]) plus the image."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.aspect = width / height
        self.px = 1.0 / height  # one pixel, for anti-aliased edges
        self.ys = ((torch.arange(height, dtype=torch.float32) + 0.5) / height).view(height, 1)
        self.xs = ((torch.arange(width, dtype=torch.float32) + 0.5) / height).view(1, width)
        self.image = torch.zeros(3, height, width)

    def paint(self, colour: Tensor, alpha: Tensor, rows: slice = slice(None), cols: slice = slice(None)) -> None:
        """Blend ``colour`` ([3,1,1] or [3,h,w]) into the region with coverage ``alpha`` ([h,w])."""
        region = self.image[:, rows, cols]
        region.lerp_(colour.expand_as(region), alpha.unsqueeze(0).expand_as(region))

    def box(self, left: float, top: float, right: float, bottom: float) -> tuple[slice, slice, Tensor, Tensor]:
        """Pixel slices covering a rectangle (height units) and the coordinates inside it."""
        r0 = max(0, int(math.floor(top * self.height)) - 1)
        r1 = min(self.height, int(math.ceil(bottom * self.height)) + 1)
        c0 = max(0, int(math.floor(left * self.height)) - 1)
        c1 = min(self.width, int(math.ceil(right * self.height)) + 1)
        rows, cols = slice(r0, max(r0, r1)), slice(c0, max(c0, c1))
        return rows, cols, self.ys[rows], self.xs[:, cols]

    def coverage(self, signed_distance: Tensor) -> Tensor:
        """Anti-aliased inside-ness from a signed distance (negative inside)."""
        return (0.5 - signed_distance / self.px).clamp(0, 1)


# -- scene parts -----------------------------------------------------------------------------------------
def draw_sky(rng: Rng, cv: Canvas, time: str, horizon: float) -> Tensor:
    """Fill the canvas with the sky gradient; returns the horizon colour, the haze of distant things."""
    zenith, middle, low = (rng.colour(c, 0.05) for c in _SKIES[time])
    t = (cv.ys / horizon).clamp(0, 1).pow(rng.uniform(0.8, 1.6))
    upper = torch.lerp(zenith, middle, (t * 2).clamp(0, 1))
    sky = torch.lerp(upper, low, (t * 2 - 1).clamp(0, 1))
    cv.image.copy_(sky.expand(3, cv.height, cv.width))
    return low


def draw_stars(rng: Rng, cv: Canvas, horizon: float) -> None:
    sparkle = rng.rand(cv.height, cv.width)
    strength = ((sparkle - 0.994) / 0.006).clamp(0, 1) * (1 - _smoothstep(0.3, 1.0, cv.ys / horizon))
    cv.paint(torch.tensor([0.95, 0.95, 1.0]).view(3, 1, 1), strength * rng.uniform(0.6, 1.0))


def draw_sun_or_moon(rng: Rng, cv: Canvas, time: str, horizon: float) -> tuple[float, float]:
    x = rng.uniform(0.1, 0.9) * cv.aspect
    if time == "dusk":
        y, radius = horizon - rng.uniform(0.02, 0.15), rng.uniform(0.04, 0.07)
        disc, glow, reach = rng.colour((1.0, 0.78, 0.45), 0.04), rng.colour((1.0, 0.5, 0.25), 0.05), 0.25
    elif time == "night":
        y, radius = rng.uniform(0.08, horizon * 0.6), rng.uniform(0.025, 0.045)
        disc, glow, reach = rng.colour((0.92, 0.92, 0.85), 0.03), torch.tensor([0.3, 0.35, 0.5]).view(3, 1, 1), 0.12
    else:
        y, radius = rng.uniform(0.06, horizon * 0.6), rng.uniform(0.025, 0.045)
        disc, glow = torch.tensor([1.0, 0.98, 0.9]).view(3, 1, 1), torch.tensor([1.0, 0.95, 0.8]).view(3, 1, 1)
        reach = 0.18
    distance = ((cv.xs - x) ** 2 + (cv.ys - y) ** 2).sqrt()
    halo = torch.exp(-(distance - radius).clamp_min(0) / reach) * (0.4 if time != "night" else 0.3)
    cv.image.add_(glow * halo).clamp_(0, 1)
    alpha = cv.coverage(distance - radius)
    if time == "night" and rng.chance(0.6):
        # a crescent: cut a second, offset disc out of the moon
        shift = radius * rng.uniform(0.4, 0.9)
        cut = ((cv.xs - x - shift) ** 2 + (cv.ys - y + shift * 0.3) ** 2).sqrt() - radius
        alpha = alpha * (1 - cv.coverage(cut) * 0.85)
    cv.paint(disc, alpha)
    return x, y


def draw_clouds(rng: Rng, cv: Canvas, time: str, horizon: float, haze: Tensor) -> None:
    cover = {"day": 0.45, "dusk": 0.45, "night": 0.3, "overcast": 0.85}[time] * rng.uniform(0.2, 1.4)
    if cover < 0.12:
        return
    # Clouds sit on a flat layer seen in perspective: large overhead, thin strips near the horizon.
    texture = _fractal_2d(rng, 2, 48, 48, 3, 4).unsqueeze(0)
    above = (horizon - cv.ys).clamp_min(0.02)
    depth = 0.4 / above
    grid_x = ((cv.xs - cv.aspect / 2) * depth * rng.uniform(0.8, 1.4) + rng.uniform(-1, 1)).expand(cv.height, cv.width)
    grid_y = (depth * 0.6 - 1.2 + rng.uniform(-0.3, 0.3)).expand(cv.height, cv.width)
    grid = torch.stack([grid_x, grid_y], dim=-1).unsqueeze(0)
    sampled = F.grid_sample(texture, grid, mode="bilinear", padding_mode="reflection", align_corners=False)[0]
    density_field, shade_field = sampled[0], sampled[1]
    threshold = 1.0 - 2.0 * cover
    density = _smoothstep(threshold, threshold + 0.7, density_field)
    density = density * (1 - _smoothstep(horizon - 0.04, horizon, cv.ys)) * rng.uniform(0.75, 0.95)
    lit, shadow = rng.colour(_CLOUD_LIGHT[time], 0.03), rng.colour(_CLOUD_DARK[time], 0.03)
    colour = torch.lerp(shadow, lit, (0.6 + 0.3 * shade_field - 0.35 * density).clamp(0, 1).unsqueeze(0))
    # far clouds melt into the haze
    colour = torch.lerp(colour, haze, _smoothstep(0.5, 1.0, cv.ys / horizon).unsqueeze(0) * 0.6)
    cv.paint(colour, density)


def draw_mountains(rng: Rng, cv: Canvas, horizon: float, haze: Tensor, light: Tensor, snowy: bool) -> None:
    """2-5 fractal ridges painted far to near, farther ones paler and bluer (atmospheric perspective)."""
    layers = rng.randint(2, 5)
    xs = cv.xs[0]
    ridged = rng.chance(0.5)
    profiles = fractal_1d(rng, layers, xs, rng.uniform(1.5, 3.5), 6, rng.uniform(0.42, 0.58))
    if ridged:  # sharp alpine peaks instead of rolling hills
        profiles = 1 - (profiles * 2 - 1).abs()
    texture = _fractal_2d(rng, 1, cv.height, cv.width, 4, 5)[0]
    rock = rng.colour(_ROCK[rng.randint(0, len(_ROCK) - 1)], 0.04)
    green = rng.colour((0.18, 0.30, 0.16), 0.04)
    peak_height = rng.uniform(0.12, 0.36)
    for layer in range(layers):
        nearness = (layer + 1) / layers  # 1/layers for the farthest ridge, 1 for the nearest
        amplitude = peak_height * (1.15 - 0.55 * nearness) * rng.uniform(0.7, 1.2)
        base = horizon - 0.01 * (1 - nearness)
        profile = profiles[layer]
        lo, hi = profile.min(), profile.max()
        profile = (profile - lo) / (hi - lo).clamp_min(1e-6)
        top = (base - amplitude * (0.25 + 0.75 * profile)).view(1, -1)
        inside = cv.coverage(top - cv.ys) * (cv.ys < horizon + 0.02)
        body = torch.lerp(rock, green, nearness * 0.7) * light
        # Slopes facing the light are brighter: the ridge's steepness tells which way a column faces.
        slope = torch.zeros_like(profile)
        slope[1:-1] = (profile[2:] - profile[:-2]) * amplitude / (2 * cv.px)
        reach = max(1, cv.height // 40)  # faces, not single jagged columns, catch the light
        slope = F.avg_pool1d(
            slope.view(1, 1, -1), 2 * reach + 1, stride=1, padding=reach, count_include_pad=False
        ).view(-1)
        below = (cv.ys - top).clamp_min(0)
        shading = 1 + 0.25 * slope.view(1, -1).clamp(-1.5, 1.5) * torch.exp(-below / 0.12)
        colour = body * (shading * (1 + 0.12 * texture)).unsqueeze(0)
        if snowy and layer < max(1, layers - 1):
            snow_line = top + 0.03 + 0.04 * amplitude / peak_height + 0.02 * texture
            snow = cv.coverage(cv.ys - snow_line) * _smoothstep(0.35, 0.7, profile).view(1, -1)
            colour = torch.lerp(colour, rng.colour((0.93, 0.94, 0.97), 0.02) * light, snow.unsqueeze(0) * 0.9)
        # atmospheric perspective: farther is paler and bluer, and valleys fill with mist
        mist = _smoothstep(0.0, 1.0, (cv.ys - top) / (amplitude + 1e-3)) * 0.25
        fade = ((1 - nearness) * 0.75 + 0.08 + mist).clamp(0, 0.92).unsqueeze(0)
        cv.paint(torch.lerp(colour, haze, fade), inside)


def draw_ground(
    rng: Rng, cv: Canvas, kind: str, start: Tensor, horizon: float, haze: Tensor, light: Tensor
) -> None:
    """A textured field from the row profile ``start`` [1, W] down, its texture receding in perspective."""
    palette = _GROUNDS[kind]
    near = rng.colour(palette[rng.randint(0, len(palette) - 1)], 0.05)
    other = rng.colour(palette[rng.randint(0, len(palette) - 1)], 0.07) * rng.uniform(0.75, 1.05)
    texture = _fractal_2d(rng, 3, 64, 64, 2, 6).unsqueeze(0)
    below = (cv.ys - horizon).clamp_min(0.004)
    depth = 0.12 / below  # distance along the ground plane
    grid_x = ((cv.xs - cv.aspect / 2) * depth * 1.2).expand(cv.height, cv.width)
    grid_y = (1.0 - depth * 0.5).expand(cv.height, cv.width)
    grid = torch.stack([grid_x, grid_y], dim=-1).unsqueeze(0)
    sampled = F.grid_sample(texture, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    patches, detail, fine = sampled[0]
    # Texture contrast falls off with distance (also hides the aliasing of far texture).
    clarity = torch.exp(-depth / 2.5)
    field = torch.lerp(near, other, _smoothstep(-0.4, 0.6, patches).unsqueeze(0))
    field = field * (1 + (0.18 * detail + 0.10 * fine) * clarity).unsqueeze(0)
    if kind == "grass":
        # blades: noise that changes every pixel across and slowly downwards
        streaks = rng.rand(1, 1, max(2, cv.height // 12), cv.width) * 2 - 1
        blades = F.interpolate(streaks, size=(cv.height, cv.width), mode="bilinear", align_corners=False)[0, 0]
        field = field * (1 + 0.3 * blades * _smoothstep(horizon + 0.15, 1.0, cv.ys)).unsqueeze(0)
    field = field * light * (0.9 + 0.12 * (1 - cv.ys)).unsqueeze(0)
    field = torch.lerp(field, haze, (0.55 * torch.exp(-(cv.ys - horizon).clamp_min(0) / 0.05)).unsqueeze(0))
    cv.paint(field, cv.coverage(start - cv.ys))


def draw_water(rng: Rng, cv: Canvas, horizon: float, shore: Tensor, sun_x: float, time: str) -> None:
    """Mirror everything above the horizon into a lake from the horizon to ``shore`` [1, W]."""
    ripples = _fractal_2d(rng, 1, cv.height, max(4, cv.width // 4), 8, 3)[0]
    ripples = F.interpolate(ripples[None, None], size=(cv.height, cv.width), mode="bilinear", align_corners=False)[0, 0]
    below = (cv.ys - horizon).clamp_min(0)
    mirror_y = (horizon - below - 0.004).clamp_min(0)
    wobble = ripples * below * rng.uniform(0.05, 0.12)
    grid_x = ((cv.xs + wobble) / cv.aspect) * 2 - 1
    grid_y = (mirror_y * 2 - 1).expand(cv.height, cv.width)
    grid = torch.stack([grid_x.expand(cv.height, cv.width), grid_y], dim=-1).unsqueeze(0)
    scene = cv.image.unsqueeze(0)
    mirrored = F.grid_sample(scene, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
    tint = rng.colour((0.10, 0.22, 0.30), 0.04) * torch.tensor(LIGHT[time]).view(3, 1, 1)
    # Looking down (near the viewer) shows more of the water's own colour than of the sky.
    reflectivity = (0.85 - 1.6 * below).clamp(0.3, 0.85).unsqueeze(0)
    water = torch.lerp(tint, mirrored * 0.92, reflectivity)
    if time in ("day", "dusk"):
        glitter = (ripples > 1.0) * torch.exp(-((cv.xs - sun_x) / 0.08) ** 2) * 0.5
        water = water + glitter.unsqueeze(0) * torch.tensor([1.0, 0.85, 0.6]).view(3, 1, 1)
    inside = cv.coverage(horizon - cv.ys) * cv.coverage(cv.ys - shore)
    cv.paint(water.clamp(0, 1), inside)


@dataclass
class Spot:
    """Where an object stands and how the scene's light and haze fall on it."""

    x: float
    ground_y: float
    size: float
    fog: float  # 0 near the viewer, up to 0.5 for the farthest objects
    light: Tensor
    haze: Tensor

    def tint(self, colour: Tensor, lit: bool = True) -> Tensor:
        """The colour as seen: scaled by the light (unless it glows itself) and faded into the haze."""
        return torch.lerp(colour * self.light if lit else colour, self.haze, self.fog)


_LEAVES = [(0.25, 0.45, 0.18), (0.55, 0.50, 0.15), (0.65, 0.30, 0.10)]  # summer green, yellowing, autumn
_LEAF_WEIGHTS = [3.0, 1.0, 1.0]
_CROWN_LUMPS = ((-0.6, 0.2), (0.6, 0.25), (0.0, -0.55))  # offsets of the round tree's lumps, in radii


def _tree(rng: Rng, cv: Canvas, spot: Spot) -> None:
    x, ground_y, size = spot.x, spot.ground_y, spot.size
    conifer = rng.chance(0.55)
    trunk_w, trunk_h = size * 0.07, size * (0.25 if conifer else 0.45)
    leaf = rng.colour((0.12, 0.30, 0.14) if conifer else rng.choice(_LEAVES, _LEAF_WEIGHTS), 0.05)
    bark = rng.colour((0.30, 0.20, 0.12), 0.03)
    width = size * (0.32 if conifer else 0.38)
    rows, cols, ys, xs = cv.box(x - width, ground_y - size, x + width, ground_y)
    if ys.numel() == 0 or xs.numel() == 0:
        return
    trunk = cv.coverage(torch.maximum((xs - x).abs() - trunk_w / 2, (ys - ground_y).abs() - trunk_h))
    cv.paint(spot.tint(bark), trunk * (ys <= ground_y), rows, cols)
    if conifer:
        # three stacked triangles, wider at the bottom
        crown = torch.zeros(ys.shape[0], xs.shape[1])
        top = ground_y - size
        for tier, (start, end) in enumerate(((0.0, 0.45), (0.25, 0.72), (0.5, 0.95))):
            y_top, y_bottom = top + size * start, top + size * end
            half = width * (0.55 + 0.22 * tier) * (ys - y_top).clamp_min(0) / (y_bottom - y_top)
            sd = torch.maximum((xs - x).abs() - half, torch.maximum(y_top - ys, ys - y_bottom))
            crown = torch.maximum(crown, cv.coverage(sd))
        shade = 1 + 0.25 * ((x - xs) / width).clamp(-1, 1)  # lit from the left
    else:
        cy, radius = ground_y - size * 0.62, size * 0.34
        blob = ((xs - x) ** 2 + ((ys - cy) * 1.15) ** 2).sqrt() - radius
        for dx, dy in _CROWN_LUMPS:
            lump = ((xs - x - dx * radius) ** 2 + (ys - cy - dy * radius) ** 2).sqrt() - radius * 0.6
            blob = torch.minimum(blob, lump)
        crown = cv.coverage(blob)
        shade = 1 + 0.15 * ((cy - ys) / radius + (x - xs) / radius).clamp(-1, 1)
    texture = 1 + 0.15 * (rng.rand(ys.shape[0], xs.shape[1]) - 0.5)  # leaves, not a flat fill
    cv.paint(spot.tint(leaf * (shade * texture).unsqueeze(0)), crown, rows, cols)


def _house(rng: Rng, cv: Canvas, spot: Spot, lit_windows: bool) -> None:
    x, ground_y, size = spot.x, spot.ground_y, spot.size
    wall_h, half_w = size * 0.5, size * rng.uniform(0.35, 0.6)
    roof_h = size * rng.uniform(0.25, 0.45)
    rows, cols, ys, xs = cv.box(x - half_w * 1.2, ground_y - wall_h - roof_h, x + half_w * 1.2, ground_y)
    if ys.numel() == 0 or xs.numel() == 0:
        return
    wall = rng.colour(rng.choice(_WALLS, [1.0] * len(_WALLS)), 0.05)
    roof = rng.colour(rng.choice(_ROOFS, [1.0] * len(_ROOFS)), 0.04)
    body = cv.coverage(torch.maximum((xs - x).abs() - half_w, (ys - (ground_y - wall_h / 2)).abs() - wall_h / 2))
    side = torch.where(xs > x + half_w * 0.3, 0.78, 1.0)  # the right part is in shade
    cv.paint(spot.tint(wall * side.unsqueeze(0)), body, rows, cols)
    eave = ground_y - wall_h
    half = half_w * 1.15 * (ys - (eave - roof_h)).clamp_min(0) / roof_h
    slant = torch.maximum((xs - x).abs() - half, torch.maximum(eave - roof_h - ys, ys - eave - cv.px))
    cv.paint(spot.tint(roof), cv.coverage(slant), rows, cols)
    # lit windows glow at dusk and night, so they skip the scene's light
    glow = torch.tensor([1.0, 0.85, 0.45]).view(3, 1, 1)
    window = spot.tint(glow, lit=False) if lit_windows else spot.tint(rng.colour((0.20, 0.25, 0.32), 0.03))
    win = size * 0.09
    for offset in (-0.5, 0.5):
        wx, wy = x + offset * half_w, eave + wall_h * 0.4
        sd = torch.maximum((xs - wx).abs() - win, (ys - wy).abs() - win)
        cv.paint(window, cv.coverage(sd), rows, cols)
    door = torch.maximum((xs - x).abs() - win * 0.9, (ys - (ground_y - wall_h * 0.22)).abs() - wall_h * 0.22)
    cv.paint(spot.tint(roof * 0.7), cv.coverage(door), rows, cols)


def _rock(rng: Rng, cv: Canvas, spot: Spot) -> None:
    x, ground_y, size = spot.x, spot.ground_y, spot.size
    rx, ry = size * rng.uniform(0.3, 0.6), size * rng.uniform(0.18, 0.3)
    rows, cols, ys, xs = cv.box(x - rx, ground_y - ry * 2, x + rx, ground_y + ry * 0.3)
    if ys.numel() == 0 or xs.numel() == 0:
        return
    cy = ground_y - ry * 0.8
    sd = (((xs - x) / rx) ** 2 + ((ys - cy) / ry) ** 2).sqrt() - 1
    alpha = cv.coverage(sd * min(rx, ry)) * (ys <= ground_y + ry * 0.1)
    shade = 1 + 0.175 * ((cy - ys) / ry - (xs - x) / rx).clamp(-1, 1)
    colour = rng.colour(_ROCK[rng.randint(0, len(_ROCK) - 1)], 0.04) * shade.unsqueeze(0)
    cv.paint(spot.tint(colour), alpha, rows, cols)


def draw_objects(rng: Rng, cv: Canvas, time: str, land_top: float, horizon: float, kind: str, look: Spot) -> None:
    """Trees, houses and rocks on the land, drawn far to near; nearer ones are bigger and less hazy."""
    count = rng.randint(0, 9 if kind == "grass" else 4)
    weights = [0.6, 0.15, 0.25] if kind != "sand" else [0.2, 0.2, 0.6]
    placed = []
    for _ in range(count):
        ground_y = rng.uniform(land_top + 0.01, 1.05)
        placed.append((ground_y, rng.uniform(-0.05, cv.aspect + 0.05), rng.choice(["tree", "house", "rock"], weights)))
    lit_windows = time in ("night", "dusk")
    for ground_y, x, what in sorted(placed):
        nearness = (ground_y - horizon) / (1 - horizon)
        size = (0.06 + 0.5 * nearness**1.3) * rng.uniform(0.7, 1.3)
        fog = float(0.5 * math.exp(-nearness * 4))
        if what == "tree":
            _tree(rng, cv, replace(look, x=x, ground_y=ground_y, size=size, fog=fog))
        elif what == "house":
            _house(rng, cv, replace(look, x=x, ground_y=ground_y, size=size * 0.8, fog=fog), lit_windows)
        else:
            _rock(rng, cv, replace(look, x=x, ground_y=ground_y, size=size * 0.5, fog=fog))
