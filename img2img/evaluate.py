"""``img2img eval``: the cGAN against its MSE baseline on the validation split, in numbers and one picture.

The claim under test: a regression trained with MSE returns the conditional mean E[x|y], a blurry compromise
that wins the per-pair scores (PSNR, SSIM); a conditional GAN samples p(x|y), so its outputs look like the real
set (low SWD), are as sharp as it (sharpness ratio near 1) and differ from sample to sample (diversity > 0).

Everything random is fixed per image, never per batch: the condition comes from the task's
``make_eval_condition`` (seeded by the image key) and the K latents from ``(seed, key)``. Two runs with the
same arguments print the same numbers whatever the batch size.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from .data.io import make_grid, save_image
from .errors import ConfigError, DataError, WeightsError
from .inference import Translator, default_weights_path
from .metrics import (
    fid_from_features,
    kid_from_features,
    load_feature_extractor,
    pairwise_l1,
    psnr,
    sharpness,
    sharpness_ratio_from_energy,
    sliced_wasserstein_sets,
    ssim,
)
from .metrics.fid import extract_features
from .models import sample_latent
from .seeding import make_generator, stable_seed
from .task import Task, wants_condition

MODELS = ("cgan", "regression")
GRID_SAMPLES = 4  # cGAN samples shown per row of the comparison grid
UNAVAILABLE = "unavailable"

# (key, column header, format): the fixed columns of the table; arrows say which way is better.
COLUMNS = (
    ("psnr", "PSNR↑", "{:.2f}"),
    ("ssim", "SSIM↑", "{:.4f}"),
    ("swd", "SWD↓", "{:.1f}"),
    ("sharpness", "sharpness→1", "{:.3f}"),
    ("diversity", "diversity↑", "{:.4f}"),
)


@dataclass
class EvalReport:
    """The numbers of one evaluation. ``models[name]`` holds psnr, ssim, swd (mean of ``swd_levels``),
    sharpness, diversity, fid, kid and ``task`` (the task's own metrics)."""

    task: str
    images: int
    size: int
    samples: int  # cGAN samples per input actually drawn (1 for a deterministic generator)
    seed: int
    weights: dict[str, str]
    models: dict[str, dict[str, Any]]
    swd_levels: dict[str, dict[str, float]]
    fid_note: str  # "" when FID/KID were computed, else why not
    split: str = "val"  # "val" (the hash-carved validation split) or "all" (every image of the folder)
    source: str = ""  # which images, in words: "the validation split of DIR (...)", "all images of DIR"
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage; the only non-reproducible part
    grid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def table(self) -> str:
        """A markdown table (rows cgan, regression) and one caption line; identical for identical runs."""
        task_names = sorted(self.models[MODELS[0]]["task"])
        header = ["model", *(title for _, title, _ in COLUMNS), *task_names, "FID↓", "KID↓"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for model in MODELS:
            values = self.models[model]
            cells = [model, *(fmt.format(values[key]) for key, _, fmt in COLUMNS)]
            cells += [f"{values['task'][name]:.4g}" for name in task_names]
            cells += [_cell(values["fid"], "{:.2f}"), _cell(values["kid"], "{:.4f}")]
            lines.append("| " + " | ".join(cells) + " |")
        levels = len(self.swd_levels[MODELS[0]]) - 1
        which = f"{self.images} images from {self.source}" if self.source else f"{self.images} {self.split} images"
        caption = (f"{self.task}: {which}, at {self.size} px, {self.samples} cGAN sample(s) "
                   f"each, seed {self.seed}. SWD x1e3, mean of {levels} Laplacian levels (cGAN: first samples).")
        if self.fid_note:
            caption += f" FID/KID {UNAVAILABLE}: {self.fid_note}."
        return "\n".join(lines) + "\n\n" + caption


def _cell(value: Any, fmt: str) -> str:
    return value if isinstance(value, str) else fmt.format(value)


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


@dataclass
class _Accumulator:
    """Per-image values gathered batch by batch, for one model."""

    psnr: list[Tensor] = field(default_factory=list)
    ssim: list[Tensor] = field(default_factory=list)
    energy: list[Tensor] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)
    task: dict[str, list[Tensor]] = field(default_factory=dict)
    firsts: list[Tensor] = field(default_factory=list)  # one output per input: the set for SWD and FID

    def add(self, outputs: Tensor, real: Tensor, y: Tensor, metric_fns: dict[str, Any],
            spread: Tensor | None = None) -> None:
        """outputs (B, K, C, H, W) for reals (B, C, H, W) and conditions y (B, ...): per-input means over the
        K samples. Diversity is measured on ``spread`` (B, K', C, H, W) when given, else on the outputs."""
        b, k = outputs.shape[:2]
        flat = outputs.flatten(0, 1)
        repeated = real.repeat_interleave(k, dim=0)
        conditions = y.repeat_interleave(k, dim=0)
        self.psnr.append(psnr(flat, repeated).view(b, k).mean(dim=1))
        self.ssim.append(ssim(flat, repeated).view(b, k).mean(dim=1))
        self.energy.append(sharpness(flat))
        spread = outputs if spread is None else spread
        self.diversity.extend(pairwise_l1(spread[i]) for i in range(b))
        for name, fn in metric_fns.items():
            value = fn(flat, repeated, conditions) if wants_condition(fn) else fn(flat, repeated)
            self.task.setdefault(name, []).append(torch.as_tensor(value).float().view(b, k).mean(dim=1))
        self.firsts.append(outputs[:, 0])


SPLITS = ("auto", "val", "all")


def resolve_split(split: str, data_dir: str | Path | None, weights: list[Path],
                  extras: list[dict[str, str]]) -> tuple[str, str]:
    """Which images of ``data_dir`` to evaluate on, and a phrase saying so: (split, source).

    ``auto``: the folder the weights were trained on (their ``data`` metadata) -> its validation split, the
    only images of it the models never saw; any other folder -> all of its images (held-out photos are
    meant to be used whole); a folder inside or around the training folder is refused, since a validation
    split carved there would not be the one training left out. Weights that do not name their data ->
    the validation split, to be safe. ``val`` / ``all`` force the choice.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    if data_dir is None:
        return "val", "the validation split of the task's embedded dataset"
    named = f"{data_dir}"
    if split == "val":
        return "val", f"the validation split of {named}"
    if split == "all":
        return "all", f"all images of {named}"
    root = Path(data_dir).expanduser().resolve()
    trained = [folder for extra, path in zip(extras, weights) if extra.get("data")
               for folder in _training_folders(extra["data"], path)]
    for folder in trained:
        if folder == root:
            return "val", f"the validation split of {named} (the folder the models were trained on)"
        if folder in root.parents or root in folder.parents:
            raise ConfigError(f"{data_dir} overlaps {folder}, the folder the models were trained on: evaluate on "
                              f"{folder} itself (its validation split is used) or on images they never saw "
                              "(or force a choice with --split val|all)")
    if not trained:
        return "val", (f"the validation split of {named} (the weights do not say what they were trained on; "
                       "--split all uses every image)")
    return "all", f"all images of {named} (not the models' training folder)"


def _training_folders(data: str, weights: Path) -> list[Path]:
    """The training folders recorded in metadata: one path, or a JSON list of them (several folders)."""
    if data.startswith("["):
        try:
            names = json.loads(data)
        except ValueError:
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return [_training_folder(n, weights) for n in names]
    return [_training_folder(data, weights)]


def _training_folder(data: str, weights: Path) -> Path:
    """A training folder recorded in metadata; a relative one is taken from the directory training ran in,
    which for the shipped weights is the repository (``weights/..``), else the current one."""
    path = Path(data).expanduser()
    if path.is_absolute():
        return path.resolve()
    shipped = (Path(weights).resolve().parent.parent / path)
    return shipped.resolve() if shipped.exists() else path.resolve()


def _float_or(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


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
    progress: bool = False,
) -> EvalReport:
    """Evaluate a task's cGAN and regression on a folder's validation split or on all of its images.

    ``task``: a Task or a registered name. ``data_dir`` None = the task's embedded data. Weights: ``cgan`` /
    ``regression`` files, else ``<weights_dir>/<task>-<model>.safetensors``. ``size`` defaults to the cGAN's
    training size; ``limit`` caps the number of images, spread evenly over the sorted file list (None = all).
    ``batch_size`` inputs are generated at once (times K for the cGAN). ``grid``: where to save the
    comparison PNG. ``split``: see :func:`resolve_split`; ``val_fraction`` defaults to the one the weights
    were trained with (else 0.1).
    """
    start = time.perf_counter()
    if isinstance(task, str):
        from .plugins import load_plugins

        task = load_plugins().get(task)
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    paths = {"cgan": resolve_weights(task.name, "cgan", cgan, weights_dir),
             "regression": resolve_weights(task.name, "regression", regression, weights_dir)}
    # A bad --fid-weights file should fail before minutes of generation, not after.
    extractor = load_feature_extractor(fid_weights) if fid_weights is not None else None
    translators = {name: Translator(task, path, device=device) for name, path in paths.items()}
    for name, translator in translators.items():
        if translator.model != name:
            raise WeightsError(f"{paths[name]} holds a {translator.model} model; pass it as --{translator.model}")
    gan, reg = translators["cgan"], translators["regression"]
    size = size or gan.info.train_size
    if val_fraction is None:
        val_fraction = _float_or(gan.info.extra.get("val_fraction"), 0.1)
    split, source = resolve_split(split, data_dir, [paths["cgan"], paths["regression"]],
                                  [gan.info.extra, reg.info.extra])
    dataset = gan.task.build_dataset(Path(data_dir) if data_dir else None, split, size, val_fraction)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    if count == 0:
        raise DataError(f"{source} has no images")
    # A --limit takes files spread over the sorted list, not its head (a folder sorted by name may hold
    # one kind of image first: edges2shoes_handbags has 1000 shoes, then 1000 bags).
    chosen = [i * len(dataset) // count for i in range(count)]
    k = samples if gan.stochastic else 1
    metric_fns = gan.task.metrics()

    acc = {name: _Accumulator() for name in MODELS}
    real_energy: list[Tensor] = []
    reals: list[Tensor] = []
    grid_rows_kept: list[Tensor] = []
    timing = {"data": 0.0, "generate": 0.0, "metrics": 0.0}
    bar = tqdm(total=count, desc=f"eval {task.name}", unit="img", disable=not progress, dynamic_ncols=True)
    for first in range(0, count, batch_size):
        tick = time.perf_counter()
        items = [dataset[(i, stable_seed("eval", i))] for i in chosen[first : first + batch_size]]
        x = torch.stack([item["x"] for item in items]).to(gan.device)
        keys = [str(item["key"]) for item in items]
        y = torch.stack([item["y"] for item in items]).to(gan.device) if "y" in items[0] \
            else gan.task.make_eval_condition(x, keys)
        tock = time.perf_counter()
        timing["data"] += tock - tick

        # The K latents of an image depend only on (seed, key): batching never changes a sample.
        z = torch.cat([sample_latent(k, gan.generator.nz, make_generator(stable_seed(seed, "eval-z", key)), gan.device)
                       for key in keys])
        fakes = gan.sample(y.repeat_interleave(k, dim=0), z=z).float().cpu().unflatten(0, (len(items), k))
        no_latent = torch.empty(len(items), 0, device=reg.device)
        # Two independent calls: the regression's "diversity" is measured, not assumed, to be 0.
        mean_a = reg.sample(y, z=no_latent, seed=seed).float().cpu()
        mean_b = reg.sample(y, z=no_latent, seed=seed + 1).float().cpu()
        tick = time.perf_counter()
        timing["generate"] += tick - tock

        real, y_cpu = x.float().cpu(), y.float().cpu()
        acc["cgan"].add(fakes, real, y_cpu, metric_fns)
        acc["regression"].add(mean_a[:, None], real, y_cpu, metric_fns, spread=torch.stack([mean_a, mean_b], dim=1))
        real_energy.append(sharpness(real))
        reals.append(real)
        if len(grid_rows_kept) < grid_rows:
            preview = gan.task.condition_preview(y).float().cpu().clamp(-1, 1)
            for i in range(min(len(items), grid_rows - len(grid_rows_kept))):
                grid_rows_kept.append(torch.cat([preview[i : i + 1], mean_a[i : i + 1], fakes[i, :GRID_SAMPLES],
                                                 real[i : i + 1]]))
        timing["metrics"] += time.perf_counter() - tick
        bar.update(len(items))
    bar.close()

    tick = time.perf_counter()
    all_reals = torch.cat(reals)
    all_real_energy = torch.cat(real_energy)
    models: dict[str, dict[str, Any]] = {}
    fid_note = "" if extractor is not None else "no --fid-weights FILE given"
    firsts = {name: torch.cat(acc[name].firsts) for name in MODELS}
    swd_levels = sliced_wasserstein_sets(firsts, all_reals, seed=seed)
    real_features = extract_features(extractor, all_reals) if extractor is not None else None
    for name in MODELS:
        a = acc[name]
        scores: dict[str, Any] = {
            "psnr": float(torch.cat(a.psnr).mean()),
            "ssim": float(torch.cat(a.ssim).mean()),
            "swd": swd_levels[name]["swd_mean"],
            "sharpness": sharpness_ratio_from_energy(torch.cat(a.energy), all_real_energy),
            "diversity": sum(a.diversity) / len(a.diversity),
            "task": {metric: float(torch.cat(values).mean()) for metric, values in a.task.items()},
            "fid": UNAVAILABLE,
            "kid": UNAVAILABLE,
        }
        if extractor is not None:
            features = extract_features(extractor, firsts[name])
            scores["fid"] = fid_from_features(features, real_features)
            scores["kid"] = kid_from_features(features, real_features, seed=seed)
        models[name] = scores
    timing["metrics"] += time.perf_counter() - tick

    grid_path = None
    if grid is not None and grid_rows_kept:
        # Rows may have fewer cGAN columns only if K < 4; all rows have the same count, so the layout is regular.
        tiles = torch.cat(grid_rows_kept)
        save_image(make_grid(tiles, nrow=grid_rows_kept[0].shape[0]), grid)
        grid_path = str(grid)
    timing = {key: round(value, 2) for key, value in timing.items()}
    timing["total"] = round(time.perf_counter() - start, 2)
    return EvalReport(
        task=task.name, images=count, size=size, samples=k, seed=seed,
        weights={name: str(path) for name, path in paths.items()}, models=models, swd_levels=swd_levels,
        fid_note=fid_note, split=split, source=source, seconds=timing, grid=grid_path,
    )
