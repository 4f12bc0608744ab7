"""The configuration a run trains with, settled once before anything is built.

:func:`settle_config` turns the requested config into the one config.json and the checkpoints record:
``--init`` adoption (the init weights fix the generator's architecture), the ``--resume`` merge with the run on
disk, and the "auto" recipe (LPIPS weight and discriminator kind). :func:`settle_device` picks the device and
precision. The Trainer calls both first and never rewrites the config afterwards.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..errors import ConfigError, DataError
from ..losses.perceptual import DEFAULT_PERCEPTUAL_WEIGHT
from ..weights import adopt_init
from . import checkpoint as ckpt
from .distributed import Dist, init_from_env
from .precision import resolve_device, resolve_precision

# Keys that may differ between the run on disk and a --resume invocation.
RESUMABLE_KEYS = {"steps", "epochs", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "val_every",
                  "val_best", "num_workers", "tensorboard", "device", "data", "nan_policy", "nan_max_rollbacks", "threads"}
# The default cGAN recipe's discriminator where the config says "auto" and the pretrained weights are installed
# (its LPIPS weight is losses.perceptual.DEFAULT_PERCEPTUAL_WEIGHT). Chosen with benchmarks/time_to_quality.py
# (docs/performance.md, "Time to quality").
DEFAULT_DISCRIMINATOR = "projected"


def resume_state(out_dir: Path) -> dict[str, Any] | None:
    """The newest readable checkpoint of the run in ``out_dir`` (None: nothing to resume), after removing what
    a kill left half-written."""
    directory = Path(out_dir) / "checkpoints"
    ckpt.remove_stale_temporaries(directory)
    ckpt.remove_stale_temporaries(Path(out_dir))  # a .safetensors write cut short by a kill
    state = ckpt.load_latest_checkpoint(directory)
    if state is None and ckpt.list_checkpoints(directory):
        raise DataError(f"no readable checkpoint in {directory}; cannot resume")
    return state


def settle_config(cfg: TrainConfig, state: dict[str, Any] | None = None) -> TrainConfig:
    """The config the run trains with (a new one; ``cfg`` is left as it is). ``state``: the checkpoint a resumed
    run goes on from (:func:`resume_state`), whose config wins. Settling a settled config changes nothing."""
    cfg.validate()
    cfg = copy.deepcopy(cfg)
    if state is None:
        adopt_init(cfg)  # fine-tuning: the init weights fix the generator's architecture
        cfg.validate()  # what the run adopted (a latent gained from a baseline) obeys the same rules
    else:
        cfg = _merge_resumed_config(TrainConfig.from_dict(state["config"]), cfg)
    settle_recipe(cfg)  # "auto" priors -> what this run trains with, once (saved in config and checkpoints)
    if cfg.model == "cgan":
        _check_discriminator_fits(cfg)
    return cfg


def settle_device(cfg: TrainConfig) -> tuple[Dist, torch.device, str]:
    """(process group, device, precision) of a run. Under torchrun: join the process group first, one device
    per process (a no-op otherwise). Kept out of the config: "auto" stays "auto" in config.json, so a run
    resumes on whatever machine it is resumed on."""
    dist = init_from_env(resolve_device(cfg.device))
    device = dist.device(resolve_device(cfg.device))
    return dist, device, resolve_precision(cfg.precision, device)


def _priors_available(model: str) -> bool:
    from ..features import perceptual_available

    return model == "cgan" and perceptual_available()


def settle_recipe(cfg: TrainConfig) -> None:
    """Replace ``cfg``'s auto settings, in place, by what the run trains with: the default recipe's priors for
    the cGAN when the weight packages are installed; otherwise the pix2pix recipe (no LPIPS, the PatchGAN) and
    one warning naming the install command. The regression baseline gets no prior: it stays pure MSE. Explicit
    settings are kept as they are (and need the packages when they ask for a prior)."""
    loss, disc = cfg.loss, cfg.discriminator
    if loss.perceptual_weight is not None and disc.kind != "auto":
        return
    available = _priors_available(cfg.model)
    if cfg.model == "cgan" and not available:
        from ..features import INSTALL_COMMAND

        warnings.warn("training the pix2pix recipe (L1 + PatchGAN), without the default pretrained priors: their "
                      f"weights are not installed ({INSTALL_COMMAND}); set loss.perceptual_weight=0 and "
                      "discriminator.kind=patch to silence this", stacklevel=3)
    if loss.perceptual_weight is None:
        loss.perceptual_weight = DEFAULT_PERCEPTUAL_WEIGHT if available else 0.0
    if disc.kind == "auto":
        disc.kind = DEFAULT_DISCRIMINATOR if available else "patch"


def _merge_resumed_config(saved: TrainConfig, requested: TrainConfig) -> TrainConfig:
    """Resume with the saved config; only run-length/logging keys may change. Anything else is an error,
    because silently training a different model on top of a checkpoint is never what the user wants."""
    saved_d, req_d = saved.to_dict(), requested.to_dict()
    if req_d["init"]:  # the generator was adopted from the init weights when the run started
        req_d["generator"] = saved_d["generator"]
    for part, key, auto in (("loss", "perceptual_weight", None), ("discriminator", "kind", "auto")):  # auto: as resolved
        req_d[part][key] = saved_d[part][key] if req_d[part][key] == auto else req_d[part][key]  # at the run's start
    changed = [k for k in saved_d if k not in RESUMABLE_KEYS and saved_d[k] != req_d[k]]
    if changed:
        details = "; ".join(f"{k}: run has {saved_d[k]!r}, command asks {req_d[k]!r}" for k in changed[:3])
        raise ConfigError(f"--resume with a different configuration ({details}); use the original options or a new --out")
    return TrainConfig.from_dict({**saved_d, **{k: req_d[k] for k in RESUMABLE_KEYS}})


def _check_discriminator_fits(cfg: TrainConfig) -> None:
    # Each PatchGAN scale needs size / 2**n_layers - 2 >= 1 to output at least one patch.
    d = cfg.discriminator
    coarsest = cfg.size // 2 ** (d.num_scales - 1)
    need = 3 * 2**d.n_layers
    if coarsest < need and d.kind != "projected":  # the projected one scales small images up itself
        raise ConfigError(
            f"size {cfg.size} is too small for a {d.num_scales}-scale PatchGAN with n_layers={d.n_layers} "
            f"(each scale needs >= {need} px); raise --size or lower discriminator.n_layers / num_scales"
        )
