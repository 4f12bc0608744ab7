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
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from .data.io import list_images, load_image, make_grid, save_image, warn_unreadable
from .data.transforms import PairedTransform
from .errors import ConfigError, DataError, Img2ImgError, MissingPackageError, UnreadableImageError, WeightsError
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
from .metrics.perceptual import (
    fd_kid,
    lite0_features,
    lpips_diversity,
    lpips_to_target,
    sample_features,
    varying_region,
)
from .models import sample_latent
from .seeding import make_generator, stable_seed
from .task import Task, eval_inputs, wants_condition

MODELS = ("cgan", "regression")
GRID_SAMPLES = 4  # cGAN samples shown per row of the comparison grid
UNAVAILABLE = "unavailable"
NOT_APPLICABLE = "n/a"  # a paired metric for inputs without targets
PAIRED = ("psnr", "ssim", "lpips")
NATIVE = 0  # size meaning "each image at its own size"
NATIVE_MAX_SIDE = 1024  # default cap on an image's longest side at native size (see max_side)

# (key, column header, format): the fixed columns of the table; arrows say which way is better.
COLUMNS = (
    ("psnr", "PSNR↑", "{:.2f}"),
    ("ssim", "SSIM↑", "{:.4f}"),
    ("swd", "SWD↓", "{:.1f}"),
    ("sharpness", "sharpness→1", "{:.3f}"),
    ("diversity", "diversity↑", "{:.4f}"),
    ("lpips", "LPIPS↓", "{:.4f}"),
    ("lpips_diversity", "LPIPS-div↑", "{:.4f}"),
    ("fd_lite0", "FD-Lite0↓", "{:.2f}"),
    ("kid_lite0", "KID-Lite0↓", "{:.4f}"),
)


@dataclass
class EvalReport:
    """The numbers of one evaluation. ``models[name]`` holds psnr, ssim, swd (mean of ``swd_levels``),
    sharpness, diversity, lpips, lpips_diversity, fd_lite0, kid_lite0, fid, kid and ``task`` (the task's own
    metrics). A value that could not be computed is ``"unavailable"`` (why: ``fid_note`` / ``perceptual_note``);
    a paired one for inputs without targets is ``"n/a"``."""

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
    perceptual_note: str = ""  # "" when the pretrained-feature metrics were computed, else why not
    reference: str | None = None  # the folder of real photos, for inputs without targets
    # Native size (size 0) only: the longest side allowed (None = no cap), how many images were scaled down
    # to it, and the side of the central square crop SWD compared.
    max_side: int | None = None
    scaled_down: int = 0
    swd_crop: int | None = None
    task_options: dict[str, Any] = field(default_factory=dict)  # options overridden for this evaluation

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
            cells = [model, *(_cell(values[key], fmt) for key, _, fmt in COLUMNS)]
            cells += [_cell(values["task"][name], "{:.4g}") for name in task_names]
            cells += [_cell(values["fid"], "{:.2f}"), _cell(values["kid"], "{:.4f}")]
            lines.append("| " + " | ".join(cells) + " |")
        levels = len(self.swd_levels[MODELS[0]]) - 1
        which = f"{self.images} images from {self.source}" if self.source else f"{self.images} {self.split} images"
        scale = f"at {self.size} px" if self.size != NATIVE else "at native size"
        if self.size == NATIVE and self.scaled_down:
            scale += f" ({self.scaled_down} image(s) with a side over {self.max_side} px scaled down to it)"
        caption = (f"{self.task}: {which}, {scale}, {self.samples} cGAN sample(s) "
                   f"each, seed {self.seed}. SWD x1e3, mean of {levels} Laplacian levels (cGAN: first samples)")
        if self.swd_crop is not None:
            caption += f", on the central {self.swd_crop} px square of each image (the smallest side in the set)"
        caption += "."
        if self.task_options:
            caption += " Task options: " + ", ".join(f"{k}={v}" for k, v in sorted(self.task_options.items())) + "."
        if self.reference:
            caption += f" No targets: set metrics against the photos, paired metrics {NOT_APPLICABLE}."
        caption += " LPIPS: AlexNet v0.1; FD/KID-Lite0: EfficientNet-Lite0 features (not FID/KID)."
        if self.perceptual_note:
            caption += f" LPIPS/FD/KID-Lite0 {UNAVAILABLE}: {self.perceptual_note}."
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
    lpips: list[Tensor] = field(default_factory=list)
    lpips_diversity: list[Tensor] = field(default_factory=list)

    def add(self, outputs: Tensor, real: Tensor | None, y: Tensor, metric_fns: dict[str, Any],
            spread: Tensor | None = None, lpips_metric: Any = None, region: Tensor | None = None) -> None:
        """outputs (B, K, C, H, W) for reals (B, C, H, W; None: no targets) and conditions y (B, ...): per-input
        means over the K samples. Diversity is measured on ``spread`` (B, K', C, H, W) when given, else on the
        outputs; LPIPS diversity only inside ``region`` (B, 1, H, W) when given."""
        b, k = outputs.shape[:2]
        flat = outputs.flatten(0, 1)
        self.energy.append(sharpness(flat))
        spread = outputs if spread is None else spread
        self.diversity.extend(pairwise_l1(spread[i]) for i in range(b))
        self.firsts.append(outputs[:, 0])
        features = None
        if lpips_metric is not None:
            features = sample_features(lpips_metric, outputs)
            spread_features = features if spread is outputs else None
            self.lpips_diversity.append(lpips_diversity(lpips_metric, spread, region, spread_features).cpu())
        if real is None:
            return
        repeated = real.repeat_interleave(k, dim=0)
        conditions = y.repeat_interleave(k, dim=0)
        self.psnr.append(psnr(flat, repeated).view(b, k).mean(dim=1))
        self.ssim.append(ssim(flat, repeated).view(b, k).mean(dim=1))
        for name, fn in metric_fns.items():
            value = fn(flat, repeated, conditions) if wants_condition(fn) else fn(flat, repeated)
            self.task.setdefault(name, []).append(torch.as_tensor(value).float().view(b, k).mean(dim=1))
        if lpips_metric is not None:
            self.lpips.append(lpips_to_target(lpips_metric, outputs, real, features).cpu())


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


def _perceptual_networks(device: torch.device) -> tuple[Any, Any, str]:
    """(LPIPS, Lite0, "") on ``device``, or (None, None, why not) when the weight packages are missing."""
    from .features import efficientnet_lite0, lpips

    try:
        return lpips("alexnet", device), efficientnet_lite0(device), ""
    except MissingPackageError as exc:
        return None, None, str(exc)


def spread(total: int, limit: int | None) -> list[int]:
    """The indices of ``limit`` items (all when None) spread evenly over ``total`` of them, not the first ones: a
    folder sorted by name may hold one kind of image first (edges2shoes_handbags has 1000 shoes, then 1000 bags)."""
    count = total if limit is None else min(limit, total)
    return [i * total // count for i in range(count)]


def _image_files(folder: str | Path, flag: str, limit: int | None) -> list[Path]:
    """The images of a folder, ``limit`` of them spread over the sorted list."""
    if not Path(folder).is_dir():
        raise DataError(f"{flag} folder not found: {folder}")
    files = list_images(folder)
    if not files:
        raise DataError(f"{flag} {folder} has no images")
    return [files[i] for i in spread(len(files), limit)]


def _at_scale(task: Task, y: Tensor, size: int) -> Tensor:
    """The condition brought back to the photos' scale when ``prepare_input`` enlarged it (sketch2photo brings a
    drawing to the app's 256 px canvas): outputs at twice the photos' scale would halve their measured sharpness
    and skew SWD, which compare pixel statistics at one scale. A condition that only grew on some sides (uncrop
    adds a band) keeps its scale: its shorter side is still ``size``."""
    height, width = y.shape[-2:]
    if min(height, width) <= size:
        return y
    scale = size / min(height, width)
    return task.resize_condition(y, (max(1, round(height * scale)), max(1, round(width * scale))))


def _reference_photos(task: Task, reference: str | Path, size: int, limit: int | None) -> Tensor:
    """The real images of ``reference`` as the task reads its targets x, so that a folder of A|B pairs gives its
    photo side (read as plain images, the edge half would count as "real"); a folder the task cannot read as
    training data is taken as plain photos."""
    _image_files(reference, "--reference", limit)  # one clear line for a missing or empty folder
    try:
        dataset = task.build_dataset(Path(reference), "all", size, 0.1)
        return torch.stack([dataset[i]["x"] for i in spread(len(dataset), limit)])
    except (ConfigError, DataError):
        return torch.stack([image for _, image in _load_square(_image_files(reference, "--reference", limit), size)])


def _load_square(files: list[Path], size: int) -> list[tuple[str, Tensor]]:
    """(name, image) pairs, each scaled and centre-cropped to size x size as eval's datasets do; unreadable
    files are skipped with a warning."""
    transform = PairedTransform(size, train=False)
    loaded = []
    for path in files:
        try:
            image = load_image(path)
        except UnreadableImageError as err:
            warn_unreadable(err)
            continue
        loaded.append((path.name, transform(np.asarray(image))[0]))
    return loaded


def _square(images: Tensor, size: int) -> Tensor:
    """Images of any shape -> size x size (shorter side scaled to size, centre crop), for set metrics."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    scale = size / min(h, w)
    scaled = F.interpolate(images, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                           mode="bilinear", align_corners=False, antialias=True)
    return _center_crop(scaled, size)


def _shape_key(item: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(item[name].shape) for name in ("x", "y") if name in item)


def _capped(item: dict[str, Any], task: Task, max_side: int | None) -> tuple[dict[str, Any], bool]:
    """An item whose longest side exceeds ``max_side`` scaled down to it (the condition by the task's own
    ``resize_condition``, which keeps masks binary and labels pure); True when it was."""
    height, width = item["x"].shape[-2:]
    if max_side is None or max(height, width) <= max_side:
        return item, False
    ratio = max_side / max(height, width)
    shape = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    item = dict(item)
    item["x"] = F.interpolate(item["x"][None].float(), size=shape, mode="bilinear", align_corners=False,
                              antialias=True)[0].clamp(-1, 1)
    if "y" in item:
        item["y"] = task.resize_condition(item["y"][None].float(), shape)[0]
    return item, True


def _native_refused(task: Task, exc: Exception) -> ConfigError:
    """A task whose data cannot come at size 0 (a plugin dataset that needs a crop size) in one line."""
    return ConfigError(f"task '{task.name}' cannot read its data at native size (--size 0): {exc}; evaluate it at "
                       "one size (--size N)")


def _batches(dataset: Any, chosen: list[int], batch_size: int, task: Task, native: bool,
             max_side: int | None) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """Items in dataset order, as batches of at most ``batch_size`` items of one shape (at native size a new
    shape starts a new batch), each with how many of its items were scaled down to ``max_side``."""
    batch: list[dict[str, Any]] = []
    scaled = 0
    for i in chosen:
        try:
            loaded = dataset[(i, stable_seed("eval", i))]
        except ValueError as exc:  # e.g. a plugin's PairedTransform(0, train=True) or a renderer given 0 px
            if native:
                raise _native_refused(task, exc) from None
            raise
        item, shrunk = _capped(loaded, task, max_side)
        if batch and (len(batch) == batch_size or _shape_key(item) != _shape_key(batch[0])):
            yield batch, scaled
            batch, scaled = [], 0
        batch.append(item)
        scaled += shrunk
    if batch:
        yield batch, scaled


def _features(extract: Any, net: Any, images: list[Tensor]) -> Tensor:
    """Pooled features of a list of images (C, H, W): one call for a set of one shape, else one per image
    (the networks resize their input and pool globally, so any image size gives a feature vector)."""
    if len({tuple(image.shape) for image in images}) == 1:
        return extract(net, torch.stack(images))
    return torch.cat([extract(net, image[None]) for image in images])


def _center_crop(image: Tensor, side: int) -> Tensor:
    top, left = (image.shape[-2] - side) // 2, (image.shape[-1] - side) // 2
    return image[..., top : top + side, left : left + side]


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
    """
    start = time.perf_counter()
    if isinstance(task, str):
        from .plugins import load_plugins

        task = load_plugins().get(task)
    task_options = dict(task_options or {})
    task.configure(**task_options)  # an unknown name or a bad value fails here, before any weights load
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
    cap = (NATIVE_MAX_SIDE if max_side is None else max_side or None) if native else None
    if reference is not None and data_dir is None:
        raise ConfigError("--reference needs --data INPUTS: a folder of inputs (e.g. sketches) to translate")
    paths = {"cgan": resolve_weights(task.name, "cgan", cgan, weights_dir),
             "regression": resolve_weights(task.name, "regression", regression, weights_dir)}
    # A bad --fid-weights file should fail before minutes of generation, not after.
    extractor = load_feature_extractor(fid_weights) if fid_weights is not None else None
    # At native size the generator runs at full resolution, as `predict --max-side 0` does: evaluating a
    # downscaled-then-upscaled output would measure the working scale, not the photo's.
    translators = {name: Translator(task, path, device=device, max_side=0 if native else "auto")
                   for name, path in paths.items()}
    for name, translator in translators.items():
        if translator.model != name:
            raise WeightsError(f"{paths[name]} holds a {translator.model} model; pass it as --{translator.model}")
        if task_options:
            translator.task = translator.task.configure(**task_options)
    gan, reg = translators["cgan"], translators["regression"]
    size = gan.info.train_size if size is None else size
    lpips_metric, lite0, perceptual_note = _perceptual_networks(gan.device)
    if reference is None:
        if val_fraction is None:
            val_fraction = _float_or(gan.info.extra.get("val_fraction"), 0.1)
        split, source = resolve_split(split, data_dir, [paths["cgan"], paths["regression"]],
                                      [gan.info.extra, reg.info.extra])
        try:
            dataset = gan.task.build_dataset(Path(data_dir) if data_dir else None, split, size, val_fraction)
        except ValueError as exc:
            if native:
                raise _native_refused(gan.task, exc) from None
            raise
        if len(dataset) == 0:
            raise DataError(f"{source} has no images")
        chosen = spread(len(dataset), limit)
        count = len(chosen)
        inputs: list[tuple[str, Tensor]] = []
        photos = None
    else:
        split, source = "all", f"all images of {data_dir} (inputs without targets)"
        inputs = _load_square(_image_files(data_dir, "--data", limit), size)
        photos = _reference_photos(gan.task, reference, size, limit)
        if len(inputs) < 1 or len(photos) < 2:
            raise DataError(f"need readable inputs in {data_dir} and at least 2 photos in {reference}")
        count = len(inputs)
        source += f"; real set: {len(photos)} photos of {reference}"
    k = samples if gan.stochastic else 1
    metric_fns = gan.task.metrics()

    acc = {name: _Accumulator() for name in MODELS}
    real_energy: list[Tensor] = []
    reals: list[Tensor] = []
    grid_rows_kept: list[Tensor] = []
    timing = {"data": 0.0, "generate": 0.0, "metrics": 0.0}
    bar = tqdm(total=count, desc=f"eval {task.name}", unit="img", disable=not progress, dynamic_ncols=True)
    batches: Iterator[tuple[list[Any], int]]
    if photos is None:
        batches = _batches(dataset, chosen, batch_size, gan.task, native, cap)
    else:
        batches = ((inputs[first : first + batch_size], 0) for first in range(0, count, batch_size))
    scaled_down = 0
    tick = time.perf_counter()
    for batch, scaled in batches:
        scaled_down += scaled
        if photos is None:
            x, y = eval_inputs(gan.task, batch, gan.device)
            keys = [str(item["key"]) for item in batch]
        else:
            keys, conditions = [], []
            for name, image in batch:
                try:
                    conditions.append(_at_scale(gan.task, gan.task.prepare_input(image[None].to(gan.device)), size))
                    keys.append(name)
                except Img2ImgError as exc:  # e.g. a blank sketch: skip it, as predict would refuse it
                    warnings.warn(f"skipping {name}: {exc}", stacklevel=2)
            bar.update(len(batch) - len(keys))
            if not keys:
                tick = time.perf_counter()
                continue
            x, y = None, torch.cat(conditions)
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

        real = x.float().cpu() if x is not None else None
        y_cpu = y.float().cpu()
        # Diversity where outputs may differ: uncrop pastes the known photo back, so only its band counts.
        region = varying_region(gan.task.compose, y_cpu, fakes.shape[2]) if lpips_metric is not None else None
        acc["cgan"].add(fakes, real, y_cpu, metric_fns, lpips_metric=lpips_metric, region=region)
        acc["regression"].add(mean_a[:, None], real, y_cpu, metric_fns, spread=torch.stack([mean_a, mean_b], dim=1),
                              lpips_metric=lpips_metric, region=region)
        if real is not None:
            real_energy.append(sharpness(real))
            reals.append(real)
        if len(grid_rows_kept) < grid_rows:
            preview = gan.task.condition_preview(y).float().cpu().clamp(-1, 1)
            for i in range(min(len(keys), grid_rows - len(grid_rows_kept))):
                target = [real[i : i + 1]] if real is not None else []
                row = torch.cat([preview[i : i + 1], mean_a[i : i + 1], fakes[i, :GRID_SAMPLES], *target])
                # A grid needs tiles of one size. At native size a row shows the central training-size square
                # of its image at native scale (the pixels that were measured, not a thumbnail of them).
                side = gan.info.train_size
                grid_rows_kept.append(_square(_center_crop(row, min(side, *row.shape[-2:])), side) if native else row)
        timing["metrics"] += time.perf_counter() - tick
        bar.update(len(keys))
        tick = time.perf_counter()
    bar.close()
    if not acc["cgan"].firsts:
        raise DataError(f"no usable inputs in {data_dir}")

    tick = time.perf_counter()
    # Sets as lists of (C, H, W) images: at native size their shapes differ.
    all_reals = [image for batch in reals for image in batch] if photos is None else list(photos)
    all_real_energy = torch.cat(real_energy) if photos is None else sharpness(photos)
    models: dict[str, dict[str, Any]] = {}
    fid_note = "" if extractor is not None else "no --fid-weights FILE given"
    # Without targets the outputs take the photos' size and framing (uncrop's canvases are wider).
    firsts = {name: [image for batch in acc[name].firsts for image in (_square(batch, size) if photos is not None
                                                                       else batch)]
              for name in MODELS}
    # SWD compares sets of one size; without targets the two may differ: take as many, spread over each.
    n = min(len(all_reals), len(firsts["cgan"]))
    evenly = lambda images: [images[i] for i in spread(len(images), n)]  # noqa: E731
    swd_crop = min(min(image.shape[-2:]) for image in [*all_reals, *(i for f in firsts.values() for i in f)]) \
        if native else None
    if swd_crop is not None and swd_crop < 16:
        raise DataError(f"an image of the set is {swd_crop} px on its shorter side: native-size evaluation needs at "
                        "least 16 px")
    as_set = lambda images: torch.stack([_center_crop(i, swd_crop) if swd_crop else i for i in images])  # noqa: E731
    swd_levels = sliced_wasserstein_sets({name: as_set(evenly(f)) for name, f in firsts.items()},
                                         as_set(evenly(all_reals)), seed=seed)
    real_features = _features(extract_features, extractor, all_reals) if extractor is not None else None
    real_lite0 = _features(lite0_features, lite0, all_reals) if lite0 is not None else None
    paired = NOT_APPLICABLE if photos is not None else None
    for name in MODELS:
        a = acc[name]
        mean = lambda values: float(torch.cat(values).mean())  # noqa: E731
        scores: dict[str, Any] = {
            "psnr": paired or mean(a.psnr),
            "ssim": paired or mean(a.ssim),
            "swd": swd_levels[name]["swd_mean"],
            "sharpness": sharpness_ratio_from_energy(torch.cat(a.energy), all_real_energy),
            "diversity": sum(a.diversity) / len(a.diversity),
            "lpips": UNAVAILABLE, "lpips_diversity": UNAVAILABLE, "fd_lite0": UNAVAILABLE, "kid_lite0": UNAVAILABLE,
            "task": {metric: paired or mean(values) for metric, values in a.task.items()}
            if photos is None else {metric: NOT_APPLICABLE for metric in metric_fns},
            "fid": UNAVAILABLE,
            "kid": UNAVAILABLE,
        }
        if lpips_metric is not None:
            scores["lpips"] = paired or mean(a.lpips)
            scores["lpips_diversity"] = mean(a.lpips_diversity)
            scores.update(fd_kid(_features(lite0_features, lite0, firsts[name]), real_lite0, seed=seed))
        if extractor is not None:
            features = _features(extract_features, extractor, firsts[name])
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
        task=task.name, images=len(firsts["cgan"]), size=size, samples=k, seed=seed,
        weights={name: str(path) for name, path in paths.items()}, models=models, swd_levels=swd_levels,
        fid_note=fid_note, split=split, source=source, seconds=timing, grid=grid_path,
        perceptual_note=perceptual_note, reference=str(reference) if reference is not None else None,
        max_side=cap, scaled_down=scaled_down, swd_crop=swd_crop, task_options=task_options,
    )
