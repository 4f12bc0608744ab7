"""``img2img eval``: the cGAN against its MSE baseline on the validation split, in numbers and one picture.

The claim under test: a regression trained with MSE returns the conditional mean E[x|y], a blurry compromise
that wins the per-pair scores (PSNR, SSIM); a conditional GAN samples p(x|y), so its outputs look like the real
set (low SWD), are as sharp as it (sharpness ratio near 1) and differ from sample to sample (diversity > 0).

Everything random is fixed per image, never per batch: the condition comes from the task's
``make_eval_condition`` (seeded by the image key) and the K latents from ``(seed, key)``. Two runs with the
same arguments print the same numbers whatever the batch size.

Pretrained-feature metrics (when the weight packages are installed, see img2img.features): LPIPS to the
target, LPIPS diversity (BicycleGAN's mean pairwise LPIPS between the K samples of an input, measured where
the task lets outputs differ) and the Frechet distance / KID on EfficientNet-Lite0 pooled features
(``fd_lite0``, ``kid_lite0``: computed like FID/KID, on another network, so not comparable to them).

With ``reference`` (``--reference PHOTOS``) the inputs have no targets (hand-drawn sketches): set metrics
compare the outputs with a folder of real photos, and the paired ones are reported as not applicable.

``size=0`` (``--size 0``) evaluates every image at its native size: no resize, no crop, and the generator runs
at full resolution (``Translator(max_side=0)``), or with ``work_scale`` (``--work-scale``) at the task's working
scale, as ``predict`` and the app run it (uncrop paints its fill at the training photos' scale and upscales it). Images of one shape share a batch, others go alone. Per-image
metrics are unchanged; Lite0/FID features come from each image on its own (those networks pool globally);
SWD, which compares patch statistics of equal-sized sets, uses the central S x S crop of every image at its
native scale, S = the smallest side of the set. Images whose longest side exceeds ``max_side`` (default
1024 px) are scaled down to it first, so one huge photo cannot exhaust memory; the caption counts them. The grid
shows the central training-size square of each image at native scale, or with ``grid_crop=N`` (``--grid-crop``)
an N x N window of it, at the centre or where the target has the most detail (:class:`GridTiles`).

Several values of realism (:func:`evaluate_realism`) score only the cGAN again for each: the regression's outputs
and scores do not depend on a, so the first evaluation's are kept (:class:`Baseline`) and reused.

The three modes are three input builders (:mod:`img2img.eval_inputs`) feeding one scoring loop here; the
per-image and set-level metrics are :mod:`img2img.metrics.scoring`'s, which training-time validation shares.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from .data.io import make_grid, save_image
from .errors import ConfigError, DataError, WeightsError
from .eval_inputs import Inputs, native_inputs, paired_inputs, reference_inputs, resolve_split  # noqa: F401
from .eval_inputs import _at_scale, _image_files, _load_square  # noqa: F401  (used by scripts/)
from .inference import Translator, default_weights_path
from .metrics import load_feature_extractor, sharpness
from .metrics.fid import extract_features
from .metrics.perceptual import lite0_features, varying_region
from .metrics.report import COLUMNS, MODELS, NATIVE, NOT_APPLICABLE, SCORE_KEYS, EvalReport  # noqa: F401
from .metrics.scoring import (
    NATIVE_MAX_SIDE,
    UNAVAILABLE,
    Accumulator,
    center_crop,
    extractor_scores,
    lite0_scores,
    perceptual_networks,
    pooled_features,
    set_swd,
    spread,  # noqa: F401  (eval's --limit spreading, also used by scripts/)
    square,
    swd_crop_side,
)
from .models import sample_latent
from .seeding import make_generator, stable_seed
from .task import Task

GRID_SAMPLES = 4  # cGAN samples shown per row of the comparison grid
GRID_CROP_AT = ("center", "detail")  # where --grid-crop's window lies (--grid-crop-at)
GRID_CROP_MIN = 16  # the smallest --grid-crop, in px


def resolve_weights(task: str, model: str, explicit: str | Path | None, weights_dir: str | Path | None) -> Path:
    """The weights file of one model: the explicit path, else the default name in ``weights_dir``."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"--{model} weights file not found: {path}")
        return path
    path = default_weights_path(task, model, Path(weights_dir) if weights_dir else None)
    if not path.is_file():
        raise WeightsError(f"no {model} weights for task '{task}' at {path}: train one "
                           f"(`img2img train --task {task} --model {model}`) or pass --{model} FILE")
    return path


# -- one scoring loop --------------------------------------------------------------------------------------
@dataclass
class _Scored:
    """What the scoring loop gathers: per-image values per model, the targets, the grid's rows."""

    acc: dict[str, Accumulator] = field(default_factory=lambda: {name: Accumulator() for name in MODELS})
    reals: list[Tensor] = field(default_factory=list)
    real_energy: list[Tensor] = field(default_factory=list)
    grid_rows: list[Tensor] = field(default_factory=list)
    scaled_down: int = 0


@dataclass
class Baseline:
    """The regression's side of an evaluation, which does not depend on the cGAN (nor on its realism a). The
    first :func:`evaluate` given an empty one fills it; the next ones, on the same inputs with the same
    arguments, reuse it instead of running and scoring the regression again (:func:`evaluate_realism`)."""

    acc: Accumulator | None = None  # per-image values, and its outputs: ``acc.firsts``, one tensor per batch
    scores: dict[str, Any] | None = None  # its row of the report
    swd_levels: dict[str, float] | None = None


@dataclass
class GridTiles:
    """How the comparison grid cuts its ``rows``. At a fixed size a tile is the whole image. At native size
    (``native``) a grid still needs tiles of one size: the central training-size square of each image at native
    scale (the pixels that were measured, not a thumbnail of them), or with ``crop`` N an N x N window at
    native scale, never resampled, at the centre or, ``at="detail"``, where the target (the condition when there
    is none) has the most Laplacian energy. An image smaller than N is shown whole, centred on white. ``windows``
    records where each row's window lies, in the image as evaluated (after any --max-side)."""

    rows: int
    native: bool
    crop: int | None = None
    at: str = "center"
    windows: list[dict[str, Any]] = field(default_factory=list)

    def tile(self, key: str, row: Tensor, guide: Tensor, side: int) -> Tensor:
        """One row of tiles (T, C, H, W) as the grid shows it; ``guide`` (C, H, W) picks a detail window,
        ``side`` is the training size."""
        if not self.native:
            return row
        if self.crop is None:
            return square(center_crop(row, min(side, *row.shape[-2:])), side)
        height, width = min(self.crop, row.shape[-2]), min(self.crop, row.shape[-1])
        top, left = (detail_window(guide, height, width) if self.at == "detail" else
                     ((row.shape[-2] - height) // 2, (row.shape[-1] - width) // 2))
        self.windows.append({"image": key, "top": top, "left": left, "height": height, "width": width})
        pad_h, pad_w = self.crop - height, self.crop - width
        return F.pad(row[..., top : top + height, left : left + width],
                     (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=1.0)

    def record(self) -> dict[str, Any] | None:
        """What the report says of the grid's tiles (None: the default ones)."""
        return {"side": self.crop, "at": self.at, "windows": self.windows} if self.crop is not None else None


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def detail_window(image: Tensor, height: int, width: int) -> tuple[int, int]:
    """(top, left) of the ``height`` x ``width`` window of ``image`` (C, H, W) with the most detail: the largest
    sum of squared Laplacian of its grey levels, over windows on a stride of 1/8 of the window (plus those
    touching the far edges). An image with no detail at all gives its centre."""
    grey = image.detach().float().cpu().mean(dim=0)[None, None]
    energy = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), _LAPLACIAN)[0, 0].double() ** 2
    integral = F.pad(energy.cumsum(0).cumsum(1), (1, 0, 1, 0))  # integral[i, j] = sum of energy[:i, :j]
    stride = max(1, min(height, width) // 8)
    tops, lefts = (sorted(set(range(0, extent - size + 1, stride)) | {extent - size})
                   for extent, size in ((image.shape[-2], height), (image.shape[-1], width)))
    t, left = torch.tensor(tops)[:, None], torch.tensor(lefts)[None, :]
    bottom, right = t + height, left + width
    sums = integral[bottom, right] - integral[t, right] - integral[bottom, left] + integral[t, left]
    if float(sums.max()) <= 0:
        return (image.shape[-2] - height) // 2, (image.shape[-1] - width) // 2
    best = int(sums.flatten().argmax())  # the first of equal windows: top-most, then left-most
    return tops[best // len(lefts)], lefts[best % len(lefts)]


def _score(gan: Translator, reg: Translator, inputs: Inputs, k: int, seed: int, metric_fns: dict[str, Any],
           networks: tuple[Any, Any] | None, grid: GridTiles, timing: dict[str, float], bar: tqdm,
           baseline: Baseline | None) -> _Scored:
    """Generate K cGAN samples and two regression outputs per input, batch by batch, and gather their
    per-image values (and the grid's rows). A filled ``baseline`` stands for the regression's outputs and values."""
    out, lpips_metric = _Scored(), networks[0] if networks is not None else None
    known = baseline.acc if baseline is not None else None
    tick = time.perf_counter()
    for batch in inputs.batches:
        out.scaled_down += batch.scaled
        bar.update(batch.skipped)
        if not batch.keys:
            tick = time.perf_counter()
            continue
        keys, y = batch.keys, batch.y
        tock = time.perf_counter()
        timing["data"] += tock - tick

        # The K latents of an image depend only on (seed, key): batching never changes a sample.
        z = torch.cat([sample_latent(k, gan.generator.nz, make_generator(stable_seed(seed, "eval-z", key)), gan.device)
                       for key in keys])
        fakes = gan.sample(y.repeat_interleave(k, dim=0), z=z).float().cpu().unflatten(0, (len(keys), k))
        no_latent = torch.empty(len(keys), 0, device=reg.device)
        if known is None:
            # Two independent calls: the regression's "diversity" is measured, not assumed, to be 0.
            mean_a = reg.sample(y, z=no_latent, seed=seed).float().cpu()
            mean_b = reg.sample(y, z=no_latent, seed=seed + 1).float().cpu()
        else:
            mean_a = known.firsts[len(out.acc["cgan"].firsts)]  # this batch's outputs, from the first evaluation
        tick = time.perf_counter()
        timing["generate"] += tick - tock

        real = batch.x.float().cpu() if batch.x is not None else None
        y_cpu = y.float().cpu()
        # Diversity where outputs may differ: uncrop pastes the known photo back, so only its band counts.
        region = varying_region(gan.task.compose, y_cpu, fakes.shape[2]) if lpips_metric is not None else None
        out.acc["cgan"].add(fakes, real, y_cpu, metric_fns, lpips_metric=lpips_metric, region=region)
        if known is None:
            out.acc["regression"].add(mean_a[:, None], real, y_cpu, metric_fns,
                                      spread=torch.stack([mean_a, mean_b], dim=1), lpips_metric=lpips_metric,
                                      region=region)
        if real is not None:
            out.real_energy.append(sharpness(real))
            out.reals.append(real)
        if len(out.grid_rows) < grid.rows:
            out.grid_rows += _grid_rows(gan, keys, y, mean_a, fakes, real, grid, grid.rows - len(out.grid_rows))
        timing["metrics"] += time.perf_counter() - tick
        bar.update(len(keys))
        tick = time.perf_counter()
    if known is not None:
        out.acc["regression"] = known
    elif baseline is not None:
        baseline.acc = out.acc["regression"]
    return out


def _grid_rows(gan: Translator, keys: list[str], y: Tensor, mean: Tensor, fakes: Tensor, real: Tensor | None,
               grid: GridTiles, room: int) -> list[Tensor]:
    """Up to ``room`` rows of the comparison grid: condition | regression | cGAN samples | target."""
    preview = gan.task.condition_preview(y).float().cpu().clamp(-1, 1)
    rows = []
    for i in range(min(fakes.shape[0], room)):
        target = [real[i : i + 1]] if real is not None else []
        row = torch.cat([preview[i : i + 1], mean[i : i + 1], fakes[i, :GRID_SAMPLES], *target])
        rows.append(grid.tile(keys[i], row, (real if real is not None else preview)[i], gan.info.train_size))
    return rows


def _set_scores(scored: _Scored, photos: Tensor | None, size: int, native: bool, seed: int, metric_fns: dict[str, Any],
                networks: tuple[Any, Any] | None, extractor: Any, timing: dict[str, float],
                baseline: Baseline | None) -> tuple[Any, ...]:
    """(models, swd_levels, swd_crop, images): every model's scores, per image and over the set (the regression's
    from a filled ``baseline``: every score of a set is computed from that set alone)."""
    tick = time.perf_counter()
    # Sets as lists of (C, H, W) images: at native size their shapes differ.
    reals = [image for batch in scored.reals for image in batch] if photos is None else list(photos)
    real_energy = torch.cat(scored.real_energy) if photos is None else sharpness(photos)
    # Without targets the outputs take the photos' size and framing (uncrop's canvases are wider).
    firsts = {name: [image for batch in scored.acc[name].firsts
                     for image in (square(batch, size) if photos is not None else batch)] for name in MODELS}
    known = baseline is not None and baseline.scores is not None
    fresh = [name for name in MODELS if not (known and name == "regression")]
    swd_crop = swd_crop_side([reals, *firsts.values()]) if native else None
    swd_levels = set_swd({name: firsts[name] for name in fresh}, reals, seed=seed, crop=swd_crop)
    real_features = pooled_features(extract_features, extractor, reals) if extractor is not None else None
    real_lite0 = pooled_features(lite0_features, networks[1], reals) if networks is not None else None
    paired = NOT_APPLICABLE if photos is not None else None
    models = {}
    for name in fresh:
        values = scored.acc[name].scores(real_energy, metric_fns, networks is not None, paired)
        values |= {"swd": swd_levels[name]["swd_mean"], "fd_lite0": UNAVAILABLE, "kid_lite0": UNAVAILABLE,
                   "fid": UNAVAILABLE, "kid": UNAVAILABLE}
        if networks is not None:
            values |= lite0_scores(networks[1], firsts[name], real_lite0, seed=seed)
        if extractor is not None:
            values |= extractor_scores(extractor, firsts[name], real_features, seed=seed)
        models[name] = {key: values[key] for key in SCORE_KEYS}
    if known:
        models["regression"], swd_levels["regression"] = copy.deepcopy((baseline.scores, baseline.swd_levels))
    elif baseline is not None:
        baseline.scores, baseline.swd_levels = copy.deepcopy((models["regression"], swd_levels["regression"]))
    timing["metrics"] += time.perf_counter() - tick
    return ({name: models[name] for name in MODELS}, {name: swd_levels[name] for name in MODELS}, swd_crop,
            len(firsts["cgan"]))


def _save_grid(rows: list[Tensor], grid: str | Path | None) -> str | None:
    """Save the comparison grid (one input per row) to ``grid``; its path, or None when there is none."""
    if grid is None or not rows:
        return None
    # Rows may have fewer cGAN columns only if K < 4; all rows have the same count, so the layout is regular.
    save_image(make_grid(torch.cat(rows), nrow=rows[0].shape[0]), grid)
    return str(grid)


def _checked(samples: int, limit: int | None, batch_size: int, size: int | None, max_side: int | None,
             data_dir: str | Path | None, reference: str | Path | None, work_scale: bool = False) -> int | None:
    """Refuse bad arguments in one line; return the longest side allowed at native size (None: no cap, or
    not at native size)."""
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if size is not None and size < 0:
        raise ConfigError(f"size must be 0 (each image at its native size) or a size in pixels, got {size}")
    native = size == NATIVE
    if max_side is not None and not native:
        raise ConfigError("--max-side caps images evaluated at native size: use it with --size 0")
    if work_scale and not native:
        raise ConfigError("--work-scale runs the generator at the task's working scale on images at their native "
                          "size: use it with --size 0 (at one size the generator already runs at the training size)")
    if max_side is not None and max_side < 0:
        raise ConfigError(f"--max-side must be 0 (no cap) or a size in pixels, got {max_side}")
    if native and reference is not None:
        raise ConfigError("--reference compares outputs with photos of another folder, which have no native size in "
                          "common with the inputs: evaluate it at one size (--size N), not --size 0")
    if reference is not None and data_dir is None:
        raise ConfigError("--reference needs --data INPUTS: a folder of inputs (e.g. sketches) to translate")
    return (NATIVE_MAX_SIDE if max_side is None else max_side or None) if native else None


def _task(task: Task | str) -> Task:
    """A Task, or the registered task of that name."""
    if isinstance(task, str):
        from .plugins import load_plugins

        return load_plugins().get(task)
    return task


def _grid_tiles(grid: str | Path | None, rows: int, crop: int | None, at: str, native: bool) -> GridTiles:
    """How the grid cuts its rows; a grid crop that cannot apply is refused in one line."""
    if at not in GRID_CROP_AT:
        raise ConfigError(f"--grid-crop-at must be one of {', '.join(GRID_CROP_AT)}, got '{at}'")
    if crop is None:
        if at != GRID_CROP_AT[0]:
            raise ConfigError("--grid-crop-at places the --grid-crop window: give --grid-crop N too")
        return GridTiles(rows, native)
    if not native:
        raise ConfigError("--grid-crop shows each image at its own scale: use it with --size 0 (at --size N the grid "
                          "shows the whole N px images)")
    if crop < GRID_CROP_MIN:
        raise ConfigError(f"--grid-crop must be at least {GRID_CROP_MIN} px, got {crop}")
    if grid is None:
        raise ConfigError("--grid-crop sets the tiles of the comparison grid: add --grid OUT.png")
    return GridTiles(rows, native, crop, at)


def _inputs(gan: Translator, reg: Translator, paths: dict[str, Path], data_dir: str | Path | None,
            reference: str | Path | None, split: str, size: int, val_fraction: float | None, limit: int | None,
            batch_size: int, cap: int | None) -> Inputs:
    """The inputs of one of the three modes: without targets, at native size, or at one size."""
    if reference is not None:
        return reference_inputs(gan, data_dir, reference, size, limit, batch_size)
    if size == NATIVE:
        return native_inputs(gan, reg, paths, data_dir, split, val_fraction, limit, batch_size, cap)
    return paired_inputs(gan, reg, paths, data_dir, split, size, val_fraction, limit, batch_size)


def _translators(task: Task, paths: dict[str, Path], device: str, native: bool,
                 task_options: dict[str, Any], realism: float | None = None,
                 work_scale: bool = False) -> tuple[Translator, Translator]:
    """The cGAN's and the regression's Translators. Each configures the task once: the options its weights
    record, ``task_options`` on top (a bad one fails there, in one line). ``realism``: the cGAN interpolated with
    the regression file it was fine-tuned from (refused in one line when the two are not such a pair)."""
    # At native size the generator runs at full resolution, as `predict --max-side 0` does: evaluating a
    # downscaled-then-upscaled output would measure the working scale, not the photo's. ``work_scale`` asks for
    # just that: the output a user of predict or the app gets.
    translators = {name: Translator(task, path, device=device, max_side=0 if native and not work_scale else "auto",
                                    task_options=task_options, **(
                                        {"realism": realism, "baseline": paths["regression"]}
                                        if name == "cgan" and realism is not None else {}))
                   for name, path in paths.items()}
    for name, translator in translators.items():
        if translator.model != name:
            raise WeightsError(f"{paths[name]} holds a {translator.model} model; pass it as --{translator.model}")
    return translators["cgan"], translators["regression"]


@torch.inference_mode()
def evaluate(
    task: Task | str,
    data_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
    *,
    cgan: str | Path | None = None,
    regression: str | Path | None = None,
    samples: int = 8,
    size: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    device: str = "auto",
    fid_weights: str | Path | None = None,
    grid: str | Path | None = None,
    grid_rows: int = 8,
    grid_crop: int | None = None,
    grid_crop_at: str = "center",
    batch_size: int = 8,
    val_fraction: float | None = None,
    split: str = "auto",
    reference: str | Path | None = None,
    progress: bool = False,
    max_side: int | None = None,
    task_options: dict[str, Any] | None = None,
    realism: float | None = None,
    baseline: Baseline | None = None,
    work_scale: bool = False,
) -> EvalReport:
    """Evaluate a task's cGAN and regression on a folder's validation split or on all of its images.

    ``task``: a Task or a registered name. ``data_dir`` None = the task's embedded data. Weights: ``cgan`` /
    ``regression`` files, else ``<weights_dir>/<task>-<model>.safetensors``. ``size`` defaults to the cGAN's
    training size; 0 evaluates each image at its native size (see the module docstring), with images whose
    longest side exceeds ``max_side`` (default 1024; 0 = no cap) scaled down to it. ``limit`` caps the number
    of images, spread evenly over the sorted file list (None = all).
    ``batch_size`` inputs are generated at once (times K for the cGAN). ``grid``: where to save the
    comparison PNG; at native size ``grid_crop`` N shows an N x N window of each image, ``grid_crop_at`` "center"
    or "detail" (:class:`GridTiles`). ``split``: see :func:`resolve_split`; ``val_fraction`` defaults to the one
    the weights were trained with (else 0.1). ``reference``: a folder of real photos; ``data_dir`` then holds
    inputs without targets (each made into a condition by the task's ``prepare_input``, as ``predict`` does),
    and ``limit`` also caps the photos. ``task_options``: options of the task to override for this evaluation
    (on top of those the weights record), e.g. ``{"mask": "palette"}`` to score uncrop on one-side 50% masks.
    ``realism``: the cGAN at realism a (:mod:`img2img.realism`; several: :func:`evaluate_realism`).
    ``baseline``: the regression's outputs and scores, kept by the first call given it and reused by the next.
    ``work_scale``: at native size, the generator at the task's working scale (``Task.work_scale``), as predict
    and the app run it, instead of at full resolution."""
    start = time.perf_counter()
    task = _task(task)
    task_options = dict(task_options or {})
    native = size == NATIVE
    cap = _checked(samples, limit, batch_size, size, max_side, data_dir, reference, work_scale)
    tiles = _grid_tiles(grid, grid_rows, grid_crop, grid_crop_at, native)
    paths = {"cgan": resolve_weights(task.name, "cgan", cgan, weights_dir),
             "regression": resolve_weights(task.name, "regression", regression, weights_dir)}
    # A bad --fid-weights file should fail before minutes of generation, not after.
    extractor = load_feature_extractor(fid_weights) if fid_weights is not None else None
    gan, reg = _translators(task, paths, device, native, task_options, realism, work_scale)
    size = gan.info.train_size if size is None else size
    networks = perceptual_networks(gan.device)  # (LPIPS, Lite0), or why they are unavailable
    perceptual_note, networks = (networks, None) if isinstance(networks, str) else ("", networks)
    inputs = _inputs(gan, reg, paths, data_dir, reference, split, size, val_fraction, limit, batch_size, cap)
    k, metric_fns = samples if gan.stochastic else 1, gan.task.metrics()

    timing = {"data": 0.0, "generate": 0.0, "metrics": 0.0}
    with tqdm(total=inputs.count, desc=f"eval {task.name}", unit="img", disable=not progress,
              dynamic_ncols=True) as bar:
        scored = _score(gan, reg, inputs, k, seed, metric_fns, networks, tiles, timing, bar, baseline)
    if not scored.acc["cgan"].firsts:
        raise DataError(f"no usable inputs in {data_dir}")
    models, swd_levels, swd_crop, images = _set_scores(scored, inputs.photos, size, native, seed, metric_fns,
                                                       networks, extractor, timing, baseline)
    grid_path = _save_grid(scored.grid_rows, grid)
    timing = {key: round(value, 2) for key, value in timing.items()}
    timing["total"] = round(time.perf_counter() - start, 2)
    return EvalReport(
        task=task.name, images=images, size=size, samples=k, seed=seed,
        weights={name: str(path) for name, path in paths.items()}, models=models, swd_levels=swd_levels,
        fid_note="" if extractor is not None else "no --fid-weights FILE given", split=inputs.split,
        source=inputs.source, seconds=timing, grid=grid_path, perceptual_note=perceptual_note,
        reference=str(reference) if reference is not None else None, max_side=cap,
        scaled_down=scored.scaled_down, swd_crop=swd_crop, task_options=task_options, grid_crop=tiles.record(),
        work_scale=work_scale,
    )


def evaluate_realism(task: Task | str, values: list[float], **kwargs: Any) -> tuple[list[dict[str, Any]], EvalReport]:
    """Score the cGAN at each realism a in ``values`` on the same inputs (same images, conditions and latents):
    the points of the perception-distortion curve (:mod:`img2img.metrics.tradeoff`), each the cGAN's scores
    plus ``realism``, and the last report (for its caption: images, split, weights). The regression runs and is
    scored once, for the first a: its outputs and scores do not depend on a."""
    points, report, baseline = [], None, Baseline()
    for a in values:
        report = evaluate(task, **kwargs, realism=a, baseline=baseline)
        points.append({"realism": a} | report.models["cgan"])
    assert report is not None
    return points, report
