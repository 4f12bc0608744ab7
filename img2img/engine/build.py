"""What a Trainer is built from, given its settled config: the datasets, the data stream, the two networks."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..config import LATENT_PATHS, TrainConfig, data_entries
from ..errors import ConfigError, DataError
from ..models import build_discriminator, build_generator
from ..task import Task
from ..weights import load_init
from .distributed import Dist
from .stream import ResumableSampler


def training_data(task: Task, cfg: TrainConfig) -> tuple[Dataset, Dataset]:
    """(training split, preview images) of ``cfg.data``."""
    entries = data_entries(cfg.data)
    folders = [Path(d) for d, _ in entries]
    weights = [w for _, w in entries]
    # Weights go to build_datasets only when one differs from 1: a plugin's override may predate them.
    extra = {"weights": weights} if any(w != 1 for w in weights) else {}
    train_set = task.build_datasets(folders, "train", cfg.size, cfg.val_fraction, **extra)
    if len(train_set) == 0:
        raise DataError(f"the training split of {cfg.data or 'the embedded dataset'} is empty")
    try:
        val = task.build_datasets(folders, "val", cfg.size, cfg.val_fraction)
    except DataError:
        val = None  # tiny folders may have no validation images; previews use training images then
    return train_set, (val if val is not None and len(val) > 0 else train_set)


def native_dataset(task: Task, cfg: TrainConfig) -> Dataset | None:
    """The validation split with every image at its own size (``val_native``), checked by reading one; None
    when the run does not score at native size."""
    if not (cfg.val_native and cfg.val_images):
        return None
    folders = [Path(d) for d, _ in data_entries(cfg.data)]
    try:
        val = task.build_datasets(folders, "val", 0, cfg.val_fraction)
        if len(val) == 0:
            raise DataError("the validation split is empty")
        val[(0, 0)]  # a plugin dataset may need a crop size (e.g. a PairedTransform of 0 px)
    except (DataError, ValueError) as exc:
        raise ConfigError(f"val_native: task '{task.name}' cannot give its validation images at native size "
                          f"({str(exc).splitlines()[0]}); use val_native=0") from None
    return val


def total_steps(cfg: TrainConfig, n_train: int, world_size: int) -> int:
    """Generator steps of the run: ``cfg.steps``, or ``cfg.epochs`` passes over the training split."""
    if cfg.epochs is None:
        return cfg.steps
    return cfg.epochs * math.ceil(n_train / (cfg.batch_size * cfg.optim.d_steps * world_size))


def networks(cfg: TrainConfig, task: Task, dist: Dist, device: torch.device, fresh: bool) -> tuple[nn.Module, nn.Module | None]:
    """(G, D) on ``device``, D None for the regression baseline. ``fresh``: a new run (not a resumed one),
    whose G starts from ``cfg.init`` when given (a resumed run has its own weights in the checkpoint)."""
    is_gan = cfg.model == "cgan"
    depth = cfg.generator.depth or int(math.log2(cfg.size))
    # The regression baseline has no latent, so none of the paths that act on one (FiLM, noise inputs): a cGAN
    # config's generator section trains its baseline as is.
    latent = {} if is_gan else {"nz": 0, **dict.fromkeys(LATENT_PATHS, False)}
    gen_cfg = replace(cfg.generator, in_channels=task.in_channels, out_channels=task.out_channels, depth=depth,
                      **latent)
    # Only a run from scratch reads the ImageNet weights of a pretrained encoder; --init and resume bring their own.
    G = dist.sync_batchnorm(build_generator(gen_cfg, size=cfg.size, pretrained=fresh and not cfg.init), device).to(device)
    if cfg.init and fresh:
        load_init(G, cfg.init)
    D = None
    if is_gan:
        D = dist.sync_batchnorm(
            build_discriminator(task.in_channels + task.out_channels, cfg.discriminator, task.out_channels), device
        ).to(device)
    return G, D


def batches(train_set: Dataset, cfg: TrainConfig, step: int, dist: Dist, device: torch.device) -> Iterator[dict[str, Any]]:
    """The training stream from generator step ``step`` on (a resumed run goes on where it stopped)."""
    start = step * cfg.batch_size * cfg.optim.d_steps
    # Each rank takes every world_size-th position of the one stream: disjoint samples whose union per step
    # is what a single process with world_size x the batch would see.
    sampler = ResumableSampler(len(train_set), cfg.seed, start=start, rank=dist.rank, world_size=dist.world_size)
    workers = cfg.num_workers
    loader = DataLoader(
        train_set,
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        drop_last=True,
    )
    return iter(loader)
