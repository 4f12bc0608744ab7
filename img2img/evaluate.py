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
at full resolution (``Translator(max_side=0)``). Images of one shape share a batch, others go alone. Per-image
metrics are unchanged; Lite0/FID features come from each image on its own (those networks pool globally);
SWD, which compares patch statistics of equal-sized sets, uses the central S x S crop of every image at its
native scale, S = the smallest side of the set. Images whose longest side exceeds ``max_side`` (default
1024 px) are scaled down to it first, so one huge photo cannot exhaust memory; the caption counts them.

The three modes are three input builders (:mod:`img2img.eval_inputs`) feeding one scoring loop here; the
per-image and set-level metrics are :mod:`img2img.metrics.scoring`'s, which training-time validation shares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
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


def _score(gan: Translator, reg: Translator, inputs: Inputs, k: int, seed: int, metric_fns: dict[str, Any],
           networks: tuple[Any, Any] | None, grid_rows: int, native: bool, timing: dict[str, float],
           bar: tqdm) -> _Scored:
    """Generate K cGAN samples and two regression outputs per input, batch by batch, and gather their
    per-image values (and the grid's rows)."""
    out, lpips_metric = _Scored(), networks[0] if networks is not None else None
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
        # Two independent calls: the regression's "diversity" is measured, not assumed, to be 0.
        mean_a = reg.sample(y, z=no_latent, seed=seed).float().cpu()
        mean_b = reg.sample(y, z=no_latent, seed=seed + 1).float().cpu()
        tick = time.perf_counter()
        timing["generate"] += tick - tock

        real = batch.x.float().cpu() if batch.x is not None else None
        y_cpu = y.float().cpu()
        # Diversity where outputs may differ: uncrop pastes the known photo back, so only its band counts.
        region = varying_region(gan.task.compose, y_cpu, fakes.shape[2]) if lpips_metric is not None else None
        out.acc["cgan"].add(fakes, real, y_cpu, metric_fns, lpips_metric=lpips_metric, region=region)
        out.acc["regression"].add(mean_a[:, None], real, y_cpu, metric_fns,
                                  spread=torch.stack([mean_a, mean_b], dim=1), lpips_metric=lpips_metric, region=region)
        if real is not None:
            out.real_energy.append(sharpness(real))
            out.reals.append(real)
        if len(out.grid_rows) < grid_rows:
            out.grid_rows += _grid_rows(gan, y, mean_a, fakes, real, grid_rows - len(out.grid_rows), native)
        timing["metrics"] += time.perf_counter() - tick
        bar.update(len(keys))
        tick = time.perf_counter()
    return out


def _grid_rows(gan: Translator, y: Tensor, mean: Tensor, fakes: Tensor, real: Tensor | None, room: int,
               native: bool) -> list[Tensor]:
    """Up to ``room`` rows of the comparison grid: condition | regression | cGAN samples | target."""
    preview = gan.task.condition_preview(y).float().cpu().clamp(-1, 1)
    rows = []
    for i in range(min(fakes.shape[0], room)):
        target = [real[i : i + 1]] if real is not None else []
        row = torch.cat([preview[i : i + 1], mean[i : i + 1], fakes[i, :GRID_SAMPLES], *target])
        # A grid needs tiles of one size. At native size a row shows the central training-size square
        # of its image at native scale (the pixels that were measured, not a thumbnail of them).
        side = gan.info.train_size
        rows.append(square(center_crop(row, min(side, *row.shape[-2:])), side) if native else row)
    return rows


def _set_scores(scored: _Scored, photos: Tensor | None, size: int, native: bool, seed: int, metric_fns: dict[str, Any],
                networks: tuple[Any, Any] | None, extractor: Any, timing: dict[str, float]) -> tuple[Any, ...]:
    """(models, swd_levels, swd_crop, images): every model's scores, per image and over the set."""
    tick = time.perf_counter()
    # Sets as lists of (C, H, W) images: at native size their shapes differ.
    reals = [image for batch in scored.reals for image in batch] if photos is None else list(photos)
    real_energy = torch.cat(scored.real_energy) if photos is None else sharpness(photos)
    # Without targets the outputs take the photos' size and framing (uncrop's canvases are wider).
    firsts = {name: [image for batch in scored.acc[name].firsts
                     for image in (square(batch, size) if photos is not None else batch)] for name in MODELS}
    swd_crop = swd_crop_side([reals, *firsts.values()]) if native else None
    swd_levels = set_swd(firsts, reals, seed=seed, crop=swd_crop)
    real_features = pooled_features(extract_features, extractor, reals) if extractor is not None else None
    real_lite0 = pooled_features(lite0_features, networks[1], reals) if networks is not None else None
    paired = NOT_APPLICABLE if photos is not None else None
    models = {}
    for name in MODELS:
        values = scored.acc[name].scores(real_energy, metric_fns, networks is not None, paired)
        values |= {"swd": swd_levels[name]["swd_mean"], "fd_lite0": UNAVAILABLE, "kid_lite0": UNAVAILABLE,
                   "fid": UNAVAILABLE, "kid": UNAVAILABLE}
        if networks is not None:
            values |= lite0_scores(networks[1], firsts[name], real_lite0, seed=seed)
        if extractor is not None:
            values |= extractor_scores(extractor, firsts[name], real_features, seed=seed)
        models[name] = {key: values[key] for key in SCORE_KEYS}
    timing["metrics"] += time.perf_counter() - tick
    return models, swd_levels, swd_crop, len(firsts["cgan"])


def _save_grid(rows: list[Tensor], grid: str | Path | None) -> str | None:
    """Save the comparison grid (one input per row) to ``grid``; its path, or None when there is none."""
    if grid is None or not rows:
        return None
    # Rows may have fewer cGAN columns only if K < 4; all rows have the same count, so the layout is regular.
    save_image(make_grid(torch.cat(rows), nrow=rows[0].shape[0]), grid)
    return str(grid)


def _checked(samples: int, limit: int | None, batch_size: int, size: int | None, max_side: int | None,
             data_dir: str | Path | None, reference: str | Path | None) -> int | None:
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
    if max_side is not None and max_side < 0:
        raise ConfigError(f"--max-side must be 0 (no cap) or a size in pixels, got {max_side}")
    if native and reference is not None:
        raise ConfigError("--reference compares outputs with photos of another folder, which have no native size in "
                          "common with the inputs: evaluate it at one size (--size N), not --size 0")
    if reference is not None and data_dir is None:
        raise ConfigError("--reference needs --data INPUTS: a folder of inputs (e.g. sketches) to translate")
    return (NATIVE_MAX_SIDE if max_side is None else max_side or None) if native else None


def _translators(task: Task, paths: dict[str, Path], device: str, native: bool,
                 task_options: dict[str, Any], realism: float | None = None) -> tuple[Translator, Translator]:
    """The cGAN's and the regression's Translators. Each configures the task once: the options its weights
    record, ``task_options`` on top (a bad one fails there, in one line). ``realism``: the cGAN interpolated with
    the regression file it was fine-tuned from (refused in one line when the two are not such a pair)."""
    # At native size the generator runs at full resolution, as `predict --max-side 0` does: evaluating a
    # downscaled-then-upscaled output would measure the working scale, not the photo's.
    translators = {name: Translator(task, path, device=device, max_side=0 if native else "auto",
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
    batch_size: int = 8,
    val_fraction: float | None = None,
    split: str = "auto",
    reference: str | Path | None = None,
    progress: bool = False,
    max_side: int | None = None,
    task_options: dict[str, Any] | None = None,
    realism: float | None = None,
) -> EvalReport:
    """Evaluate a task's cGAN and regression on a folder's validation split or on all of its images.

    ``task``: a Task or a registered name. ``data_dir`` None = the task's embedded data. Weights: ``cgan`` /
    ``regression`` files, else ``<weights_dir>/<task>-<model>.safetensors``. ``size`` defaults to the cGAN's
    training size; 0 evaluates each image at its native size (see the module docstring), with images whose
    longest side exceeds ``max_side`` (default 1024; 0 = no cap) scaled down to it. ``limit`` caps the number
    of images, spread evenly over the sorted file list (None = all).
    ``batch_size`` inputs are generated at once (times K for the cGAN). ``grid``: where to save the
    comparison PNG. ``split``: see :func:`resolve_split`; ``val_fraction`` defaults to the one the weights
    were trained with (else 0.1). ``reference``: a folder of real photos; ``data_dir`` then holds inputs
    without targets (each made into a condition by the task's ``prepare_input``, as ``predict`` does), and
    ``limit`` also caps the photos. ``task_options``: options of the task to override for this evaluation
    (on top of those the weights record), e.g. ``{"mask": "palette"}`` to score uncrop on one-side 50% masks.
    ``realism``: the cGAN at realism a (:mod:`img2img.realism`; several: :func:`evaluate_realism`)."""
    start = time.perf_counter()
    if isinstance(task, str):
        from .plugins import load_plugins

        task = load_plugins().get(task)
    task_options = dict(task_options or {})
    native, cap = size == NATIVE, _checked(samples, limit, batch_size, size, max_side, data_dir, reference)
    paths = {"cgan": resolve_weights(task.name, "cgan", cgan, weights_dir),
             "regression": resolve_weights(task.name, "regression", regression, weights_dir)}
    # A bad --fid-weights file should fail before minutes of generation, not after.
    extractor = load_feature_extractor(fid_weights) if fid_weights is not None else None
    gan, reg = _translators(task, paths, device, native, task_options, realism)
    size = gan.info.train_size if size is None else size
    networks = perceptual_networks(gan.device)  # (LPIPS, Lite0), or why they are unavailable
    perceptual_note, networks = (networks, None) if isinstance(networks, str) else ("", networks)
    if reference is not None:
        inputs = reference_inputs(gan, data_dir, reference, size, limit, batch_size)
    elif native:
        inputs = native_inputs(gan, reg, paths, data_dir, split, val_fraction, limit, batch_size, cap)
    else:
        inputs = paired_inputs(gan, reg, paths, data_dir, split, size, val_fraction, limit, batch_size)
    k, metric_fns = samples if gan.stochastic else 1, gan.task.metrics()

    timing = {"data": 0.0, "generate": 0.0, "metrics": 0.0}
    with tqdm(total=inputs.count, desc=f"eval {task.name}", unit="img", disable=not progress,
              dynamic_ncols=True) as bar:
        scored = _score(gan, reg, inputs, k, seed, metric_fns, networks, grid_rows, native, timing, bar)
    if not scored.acc["cgan"].firsts:
        raise DataError(f"no usable inputs in {data_dir}")
    models, swd_levels, swd_crop, images = _set_scores(scored, inputs.photos, size, native, seed, metric_fns,
                                                       networks, extractor, timing)
    grid_path = _save_grid(scored.grid_rows, grid)
    timing = {key: round(value, 2) for key, value in timing.items()}
    timing["total"] = round(time.perf_counter() - start, 2)
    return EvalReport(
        task=task.name, images=images, size=size, samples=k, seed=seed,
        weights={name: str(path) for name, path in paths.items()}, models=models, swd_levels=swd_levels,
        fid_note="" if extractor is not None else "no --fid-weights FILE given", split=inputs.split,
        source=inputs.source, seconds=timing, grid=grid_path, perceptual_note=perceptual_note,
        reference=str(reference) if reference is not None else None, max_side=cap,
        scaled_down=scored.scaled_down, swd_crop=swd_crop, task_options=task_options,
    )


def evaluate_realism(task: Task | str, values: list[float], **kwargs: Any) -> tuple[list[dict[str, Any]], EvalReport]:
    """Score the cGAN at each realism a in ``values`` on the same inputs (same images, conditions and latents):
    the points of the perception-distortion curve (:mod:`img2img.metrics.tradeoff`), each the cGAN's scores
    plus ``realism``, and the last report (for its caption: images, split, weights)."""
    points, report = [], None
    for a in values:
        report = evaluate(task, **kwargs, realism=a)
        points.append({"realism": a} | report.models["cgan"])
    assert report is not None
    return points, report
