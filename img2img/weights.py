"""Inference weights: a generator's tensors in ``.safetensors`` with everything needed to rebuild it in the
metadata (architecture config, task, model kind, training size and step). Loading never unpickles.

Every file also names itself: ``id``, a hash of its tensors when first written (a conversion such as the
fp16 shipping copy keeps it), and a run fine-tuned with ``--init F`` records F's id as ``init_id``. The two
say which cGAN was fine-tuned from which baseline, the pairs that :mod:`img2img.realism` interpolates."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from .atomic import atomic_write
from .config import LATENT_PATHS, generator_config_from_dict
from .errors import ConfigError, WeightsError
from .models import build_generator

FORMAT = "img2img.generator/1"
ID_KEY, INIT_ID_KEY = "id", "init_id"  # metadata: this file's content id, and the id of the weights it started from


@dataclass
class WeightsInfo:
    task: str
    model: str  # cgan | regression
    train_size: int
    step: int
    generator: dict[str, Any]
    task_options: dict[str, Any]
    extra: dict[str, str]


def save_generator(
    path: Path,
    generator: nn.Module,
    *,
    task: str,
    model: str,
    train_size: int,
    step: int,
    task_options: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write the generator atomically. ``dtype=torch.float16`` halves the file for shipping.

    The file's ``id`` is the hash of the tensors written, unless ``extra`` carries one: a conversion of the same
    weights (to fp16 for shipping) keeps its source's id, so a cGAN fine-tuned from the source still pairs with
    the converted file."""
    tensors = {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in generator.state_dict().items()
               if v.is_floating_point()}
    tensors.update({k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items() if not v.is_floating_point()})
    metadata = {
        "format": FORMAT,
        "task": task,
        "model": model,
        "train_size": str(train_size),
        "step": str(step),
        "generator_config": json.dumps(asdict(generator.config)),
        "task_options": json.dumps(task_options or {}),
        **(extra or {}),
    }
    metadata.setdefault(ID_KEY, content_id(tensors))
    path = Path(path)
    # Serialise in memory and write with Python: safetensors' save_file drops write errors (measured: no
    # error writing to /dev/full), which would let a disk-full run replace good weights with a torn file.
    try:
        blob = save(tensors, metadata=metadata)
        atomic_write(path, lambda f: f.write(blob))
    except (OSError, SafetensorError) as exc:  # disk full, read-only or not a folder: the old file is untouched
        reason = getattr(exc, "strerror", None) or exc
        raise WeightsError(f"cannot write weights to {path}: {reason}; the previous file is intact") from exc
    return path


def read_info(path: Path) -> WeightsInfo:
    """Read only the metadata (fast: no tensors are loaded)."""
    path = _check_path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a valid .safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an img2img generator (format {meta.get('format')!r})")
    try:
        known = {"format", "task", "model", "train_size", "step", "generator_config", "task_options"}
        return WeightsInfo(
            task=meta["task"],
            model=meta["model"],
            train_size=int(meta["train_size"]),
            step=int(meta["step"]),
            generator=json.loads(meta["generator_config"]),
            task_options=json.loads(meta.get("task_options", "{}")),
            extra={k: v for k, v in meta.items() if k not in known},
        )
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{path} has broken img2img metadata ({exc})") from exc


def load_generator(
    path: Path, expected_task: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, WeightsInfo]:
    """Rebuild the generator from the metadata and load its tensors (as float32), in eval mode."""
    info = read_info(path)
    if expected_task is not None and info.task != expected_task:
        raise WeightsError(f"{path} holds a '{info.task}' model, not '{expected_task}'")
    try:
        cfg = generator_config_from_dict(info.generator)
        cfg.validate()
    except ConfigError as exc:
        raise WeightsError(f"{path} has an invalid generator config: {exc}") from exc
    try:
        # Shapes first, on the meta device (no memory): the metadata is untrusted, and a few bytes claiming
        # ngf=100000 would otherwise allocate terabytes before a single tensor is compared.
        with torch.device("meta"):
            skeleton = build_generator(cfg, size=info.train_size)
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"{path} has an invalid generator config: {exc}") from exc
    expected = skeleton.state_dict()
    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} is truncated or corrupt ({exc})") from exc
    problems = [k for k in expected if k not in shapes] + [k for k in shapes if k not in expected]
    problems += [k for k in expected if k in shapes and shapes[k] != tuple(expected[k].shape)]
    if problems:
        raise WeightsError(
            f"{path} does not match its own architecture config ({len(problems)} mismatched tensors, e.g. {problems[0]})"
        )
    generator = build_generator(cfg, size=info.train_size)  # never the ImageNet weights: the file holds them
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} is truncated or corrupt ({exc})") from exc
    generator.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return generator.to(device).eval(), info


def content_id(tensors: dict[str, torch.Tensor]) -> str:
    """A short hash of named tensors (names, dtypes, shapes and bytes): a weights file's ``id``."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:20]


def weights_id(path: str | Path) -> str:
    """The ``id`` in a weights file's metadata; for a file written before ids, the hash of its tensors."""
    info = read_info(Path(path))
    if ID_KEY in info.extra:
        return info.extra[ID_KEY]
    try:
        return content_id(load_file(str(path)))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} is truncated or corrupt ({exc})") from exc


def init_origin(init: str | Path | None) -> dict[str, str]:
    """The metadata a run fine-tuned from ``init`` records: ``{"init_id": id}`` (empty for a run from scratch,
    or when the init file is gone, e.g. a resume elsewhere: the origin is then unknown, never guessed)."""
    if not init or not Path(init).is_file():
        return {}
    return {INIT_ID_KEY: weights_id(init)}


def adopt_init(cfg: Any) -> None:
    """``cfg.init`` (a TrainConfig's): fine-tune from these weights. They fix the architecture, so their generator
    config replaces ``cfg.generator``; the task must be the run's, and a regression baseline (no latent input)
    cannot start from a cGAN generator. A cGAN may start from a baseline's weights (ESRGAN's recipe, DeOldify's
    NoGAN): it then gains the run's latent input (``generator.nz``; 0 keeps it deterministic), whose weights
    :func:`load_init` starts small (:data:`LATENT_START`), so the fine-tune begins as the baseline to within a few
    grey levels at every z."""
    if not cfg.init:
        return
    info = read_info(Path(cfg.init))
    if info.task != cfg.task:
        raise WeightsError(f"init weights {cfg.init} hold a '{info.task}' model, not '{cfg.task}'")
    nz = int(info.generator.get("nz") or 0)
    if cfg.model == "regression" and nz:
        raise WeightsError(f"init weights {cfg.init} are a cGAN generator (latent size {nz}); the regression "
                           "baseline has no latent input: start it from a regression model's weights")
    adopted = generator_config_from_dict(info.generator)
    if cfg.model == "cgan" and not nz and cfg.generator.nz:
        adopted.nz = nz = cfg.generator.nz
    # Noise inputs and latent FiLM leave z = 0 unchanged, so adding them keeps the init's mean sample: two of the
    # three options a run may add. The regression baseline builds neither (engine.build.networks), whatever its
    # config says: nothing to add.
    for option in LATENT_PATHS if cfg.model == "cgan" else ():
        if getattr(cfg.generator, option) and not getattr(adopted, option):
            if not nz:
                raise WeightsError(f"init weights {cfg.init} have no latent input (nz 0): generator.{option} needs one")
            setattr(adopted, option, True)
    # A clipped output has the same parameters as tanh's; a run may switch a tanh init to it (never back: a config
    # that does not name the output must not turn a clipped init's into tanh).
    if cfg.generator.output == "clip" and not adopted.residual:
        adopted.output = "clip"
    cfg.generator = adopted


def load_init(generator: nn.Module, path: str | Path) -> None:
    """Copy the weights in ``path`` into ``generator`` (built from the config :func:`adopt_init` adopted)."""
    source, _ = load_generator(Path(path))
    try:
        missing, unexpected = generator.load_state_dict(_with_latent_inputs(source, generator), strict=False)
        # Only noise strengths and FiLM maps the init lacks may stay as built; anything else is a mismatch.
        missing = [key for key in missing if not any(key.startswith(f"{option}.") and getattr(source, option) is None
                                                     for option in ("noise", "film"))]
        if missing or unexpected:
            raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
        if not source.nz and getattr(generator, "nz", 0):  # a baseline: its missing latent paths start small
            with torch.no_grad():
                for key, tensor in generator.state_dict().items():
                    if key.startswith(("film.", "noise.")):
                        tensor.mul_(LATENT_START)
    except RuntimeError as exc:  # a --set generator.* after adopt_init, or channels the task changed
        raise WeightsError(f"init weights {path} do not fit this run's generator ({str(exc).splitlines()[0]})") from exc


# A cGAN started from its baseline gains latent paths (z input channels, FiLM maps, noise strengths) at this
# fraction of their usual initial scale. At exactly zero every z gives the same output, and then nothing moves
# them: the mode-seeking term's L1 distance has a zero gradient at equal samples and the adversarial gradient on a
# z weight averages out over z. Samples that differ a little from the first step give mode seeking a handle; the
# fine-tune still starts as the baseline to within a few grey levels.
LATENT_START = 0.05


def _with_latent_inputs(source: nn.Module, generator: nn.Module) -> dict[str, torch.Tensor]:
    """``source``'s state dict for ``generator``, which has a latent input ``source`` lacks (a cGAN started from its
    baseline): every layer that concatenates z after its features takes ``generator.nz`` more input channels,
    whose weights are the generator's own initial ones x :data:`LATENT_START` (and :func:`load_init` scales the FiLM
    maps and noise strengths the same way). Other shapes pass unchanged (and fail in ``load_state_dict`` when they
    differ)."""
    state = source.state_dict()
    added = int(getattr(generator, "nz", 0)) - int(getattr(source, "nz", 0))
    if int(getattr(source, "nz", 0)) or added <= 0:
        return state
    target = generator.state_dict()
    for key, tensor in state.items():
        want = target.get(key)
        if (want is not None and tensor.dim() == 4 and want.dim() == 4 and want.shape[1] == tensor.shape[1] + added
                and want.shape[0] == tensor.shape[0] and want.shape[2:] == tensor.shape[2:]):
            state[key] = torch.cat([tensor, want[:, tensor.shape[1]:] * LATENT_START], dim=1)
    return state


def _check_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if path.is_dir():
        raise WeightsError(f"{path} is a directory, not a weights file")
    if path.suffix in (".pt", ".pth", ".ckpt", ".bin", ".pkl"):
        raise WeightsError(
            f"{path}: pickled weights are not loaded (they can run code); use a .safetensors file exported by img2img"
        )
    return path
