"""One trainer, two models.

``cgan``: generator G(y, z) and conditional PatchGAN D(y, x), trained as Algorithm 1 of Goodfellow et al. 2014
(k discriminator steps per generator step) with pix2pix's L1 term and a mode-seeking term so that G does not
ignore z. ``regression``: the same G with z switched off, trained with MSE only: it converges to the
conditional mean E[x|y], the blurry baseline the cGAN is compared with.

Every step's randomness (latents, masks/degradations, dropout, augmentation) is derived from
``(seed, step)``, so N steps + resume + M steps gives the same weights as N + M steps in one go.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..config import TrainConfig, data_entries, data_folders
from ..data.io import make_grid, save_image
from ..errors import ConfigError, DataError, TrainingDivergedError
from ..losses import (AdversarialLoss, best_of_pairs, extra_terms, resolve_recipe, gradient_penalty, l1_loss, l2_loss, mode_seeking_loss, pair_distance, r1_penalty,
                      spectral_loss)
from ..models import UNetGenerator, build_discriminator, count_parameters, sample_latent
from ..seeding import make_generator, stable_seed
from ..task import Task, eval_inputs
from ..weights import adopt_init, load_init, save_generator
from . import checkpoint as ckpt
from .distributed import NullLogger, init_from_env
from .ema import EMA
from .logging import RunLogger, plot_loss_curves
from .precision import autocast, resolve_device, resolve_precision
from .stream import ResumableSampler
from .validation import Validation

# Keys that may differ between the run on disk and a --resume invocation.
RESUMABLE_KEYS = {"steps", "epochs", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "val_every",
                  "val_best", "num_workers", "tensorboard", "device", "data", "nan_policy", "nan_max_rollbacks", "threads"}
N_PREVIEW = 4  # rows in the sample grids
ENGINE_TERMS = {"adversarial", "l1", "l2", "mode_seeking", "mse", "d_adversarial", "d_gradient_penalty", "d_r1",
                "perceptual", "feature_matching"}


class Trainer:
    def __init__(self, cfg: TrainConfig, task: Task, out_dir: Path, resume: bool = False, progress: bool = True) -> None:
        cfg.validate()
        self.task = task.configure(**cfg.task_options)
        self.out = Path(out_dir)
        self.progress = progress
        state = self._resume_state(cfg) if resume else None
        if state is None:
            adopt_init(cfg)  # fine-tuning: the init weights fix the generator's architecture
        else:
            cfg = _merge_resumed_config(TrainConfig.from_dict(state["config"]), cfg)
        resolve_recipe(cfg)  # "auto" priors -> what this run trains with, once (saved in config and checkpoints)
        self.cfg = cfg
        # Under torchrun: join the process group first, one device per process (a no-op otherwise).
        self.dist = init_from_env(resolve_device(cfg.device))
        self.device = self.dist.device(resolve_device(cfg.device))
        self.precision = resolve_precision(cfg.precision, self.device)
        self.is_gan = cfg.model == "cgan"
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)

        # -- data ------------------------------------------------------------------------------
        entries = data_entries(cfg.data)
        folders = [Path(d) for d, _ in entries]
        weights = [w for _, w in entries]
        # Weights go to build_datasets only when one differs from 1: a plugin's override may predate them.
        extra = {"weights": weights} if any(w != 1 for w in weights) else {}
        self.train_set = self.task.build_datasets(folders, "train", cfg.size, cfg.val_fraction, **extra)
        if len(self.train_set) == 0:
            raise DataError(f"the training split of {cfg.data or 'the embedded dataset'} is empty")
        self.preview_set = self._preview_dataset(folders)
        self.steps = cfg.steps
        if cfg.epochs is not None:
            self.steps = cfg.epochs * math.ceil(len(self.train_set) / (cfg.batch_size * cfg.optim.d_steps * self.dist.world_size))

        # -- models ----------------------------------------------------------------------------
        depth = cfg.generator.depth or int(math.log2(cfg.size))
        gen_cfg = replace(cfg.generator, in_channels=self.task.in_channels, out_channels=self.task.out_channels,
                          depth=depth, nz=cfg.generator.nz if self.is_gan else 0)
        self.G = self.dist.sync_batchnorm(UNetGenerator(gen_cfg, size=cfg.size), self.device).to(self.device)
        if cfg.init and state is None:  # a resumed run has its own weights in the checkpoint
            load_init(self.G, cfg.init)
        self.ema = EMA(self.G, cfg.optim.ema_decay)
        # G_ddp/D_ddp: the modules themselves, or their DDP wrappers under torchrun. Only the forward passes
        # whose gradients update that network go through the wrapper; self.G/self.D stay the plain modules
        # (checkpoints, EMA, previews, and D inside the generator step, where D gets no gradients).
        self.G_ddp = self.dist.wrap(self.G, self.device)
        self.D_ddp = None
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.optim.lr, betas=betas)
        self.sched_G = torch.optim.lr_scheduler.LambdaLR(self.opt_G, self._lr_factor)
        self.D = self.opt_D = self.sched_D = None
        if self.is_gan:
            _check_discriminator_fits(cfg)
            self.D = self.dist.sync_batchnorm(
                build_discriminator(self.task.in_channels + self.task.out_channels, cfg.discriminator,
                                    self.task.out_channels), self.device
            ).to(self.device)
            # broadcast_buffers=False: D runs twice (real, fake) before one backward, and re-broadcasting its
            # buffers in between is an in-place change autograd refuses; parameters are kept equal by DDP.
            self.D_ddp = self.dist.wrap(self.D, self.device, broadcast_buffers=False)
            self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.optim.lr_d or cfg.optim.lr, betas=betas)
            self.sched_D = torch.optim.lr_scheduler.LambdaLR(self.opt_D, self._lr_factor_d)
            self.adversarial = AdversarialLoss(cfg.loss.adversarial, cfg.loss.label_smoothing)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.task_terms = [t for t in self.task.loss_terms() if cfg.model in t.models]
        clash = {t.name for t in self.task_terms} & ENGINE_TERMS
        if clash:
            raise ConfigError(f"task '{self.task.name}' names a loss term {sorted(clash)} like one of the engine's own; rename it")
        unknown = set(cfg.loss.task_weights) - {t.name for t in self.task_terms}
        if unknown:
            raise ConfigError(f"loss.task_weights names unknown terms {sorted(unknown)} of task '{self.task.name}' (its {cfg.model} terms: {', '.join(t.name for t in self.task_terms) or 'none'})")
        self.task_terms += extra_terms(cfg.loss, cfg.model, self.device, self.D)  # summed like the task's terms
        # The mode-seeking distance between a pair's samples: None = pixel L1.
        self._apart = (pair_distance(cfg.loss.mode_seeking_distance, cfg.loss.mode_seeking_blur,
                                     cfg.loss.perceptual_net, self.device) if self._mode_seeking else None)
        self.validation = Validation(self.task, self.preview_set, cfg, self.device,  # val/* scores, best weights
                                     native=self._native_dataset(folders) if cfg.val_native and cfg.val_images else None)
        self.step = 0
        self.rollbacks = 0  # nan_policy=rollback: how many times this run has rolled back (saved in checkpoints)
        if state is not None:
            self._load_state(state)

    # -- public ----------------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> Path:
        """Train to ``self.steps`` (or stop early at step ``until``); returns the ``.safetensors`` path."""
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        main = self.dist.is_main  # rank 0 alone writes config, log, samples, checkpoints and weights
        if main:
            # task_options as resolved (the task's defaults + the user's): what the weights file records.
            (self.out / "config.json").write_text(_json(cfg.to_dict() | {"task_options": self.task.options}), "utf-8")
        logger = RunLogger(self.out / "log.jsonl", self.out / "tensorboard" if cfg.tensorboard else None) if main else NullLogger()
        logger.truncate_after(self.step)
        batches = self._batches()
        stop = min(self.steps, until) if until is not None else self.steps
        bar = tqdm(total=self.steps, initial=self.step, desc=f"{self.task.name}/{cfg.model}", disable=not self.progress or not main,
                   dynamic_ncols=True)
        tick, images = time.perf_counter(), 0
        try:
            while self.step < stop:
                try:
                    scalars = self.train_step(batches)
                except TrainingDivergedError as err:
                    if cfg.nan_policy != "rollback":
                        raise
                    self._roll_back(err)
                    logger.truncate_after(self.step)  # the steps after the checkpoint are redone
                    batches = self._batches()  # the data stream restarts at the checkpoint's position
                    bar.n = self.step
                    bar.refresh()
                    continue
                self.step += 1
                images += cfg.batch_size * cfg.optim.d_steps * self.dist.world_size
                logger.accumulate(self.dist.mean(scalars))
                bar.update(1)
                last = self.step == stop
                if self.step % cfg.log_every == 0 or last:
                    rate = images / max(time.perf_counter() - tick, 1e-9)
                    record = logger.write(self.step, {"lr": self.sched_G.get_last_lr()[0], "images_per_s": round(rate, 2)})
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in record.items() if k.startswith("loss/")}
                                    | {"img/s": f"{rate:.1f}"})
                    tick, images = time.perf_counter(), 0
                if (self.step % cfg.sample_every == 0 or last) and main:
                    self.save_samples()
                if main and self.validation.due(self.step, last):  # before the checkpoint, which keeps the best
                    logger.write(self.step, self.validation.run(self.ema.model, self.step, self._save_weights))
                if self.step % cfg.checkpoint_every == 0 or last:
                    self.save_checkpoint() if main else None
                    self.dist.barrier()  # the other ranks wait until the checkpoint is complete on disk
        finally:
            bar.close()
            logger.close()
        if main:
            plot_loss_curves(self.out / "log.jsonl", self.out / "loss_curve.png")
        return self.weights_path

    def summary(self) -> str:
        """One line describing the run: models, sizes, receptive field, precision, device."""
        g = self.G
        parts = [f"{self.task.name}/{self.cfg.model}: G {count_parameters(g) / 1e6:.2f}M params (depth {g.depth}, nz {g.nz}"
                 + (", latent FiLM" if g.film is not None else "") + (", noise inputs" if g.noise is not None else "")
                 + (", residual" if g.residual else "") + (", clipped output" if g.clip else "")
                 + (f", from {self.cfg.init})" if self.cfg.init else ")")]
        if self.D is not None:
            parts.append(f"D {count_parameters(self.D) / 1e6:.2f}M trainable params ({self.D.describe()})")
            parts.append(f"L1 x {self.cfg.loss.l1_weight:g}, LPIPS x {self.cfg.loss.perceptual_weight:g}"
                         + (" on the best of each pair" if self.cfg.loss.reconstruction == "best_of_pair" else "")
                         + (f", mode seeking in {self.cfg.loss.mode_seeking_distance.upper()}"
                            + (f" blurred by {self.cfg.loss.mode_seeking_blur:g} px" if self.cfg.loss.mode_seeking_blur else "")
                            if self._apart is not None else "")
                         + (f", spectral x {self.cfg.loss.spectral_weight:g} from {self.cfg.loss.spectral_min_frequency:g}"
                            " x Nyquist" if self.cfg.loss.spectral_weight else ""))
        parts.append(f"{self.cfg.size} px, batch {self.cfg.batch_size}, {self.steps} steps, {self.precision} on {self.device}")
        return "; ".join(parts)

    @property
    def weights_path(self) -> Path:
        return self.out / f"{self.task.name}-{self.cfg.model}.safetensors"

    def train_step(self, batches: Iterator[dict[str, Any]]) -> dict[str, float]:
        # Re-seed from (seed, step): dropout and any global-RNG use are then identical after a resume.
        torch.manual_seed(stable_seed(self.cfg.seed, "step", self.step, *self._rank_key))
        self.G.train()
        if not self.is_gan:
            x, y, _ = self._prepare(next(batches), 0)
            return self._regression_step(x, y)
        assert self.D is not None
        self.D.train()
        for k in range(self.cfg.optim.d_steps):
            x, y, z = self._prepare(next(batches), k)
            d_scalars = self._discriminator_step(x, y, z)
        return {**d_scalars, **self._generator_step(x, y, z)}

    # -- the three updates -----------------------------------------------------------------------
    def _discriminator_step(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg.loss
        with torch.no_grad(), self._autocast():
            fake = self.task.compose(self.G(y, z), y).float()
        real_in = torch.cat([y, x], 1)
        if cfg.r1_weight > 0:
            real_in.requires_grad_(True)
        with self._autocast():
            real_logits = self.D_ddp(real_in)
            fake_logits = self.D_ddp(torch.cat([y, fake], 1))
        terms = {"d_adversarial": self.adversarial.discriminator_loss(_f32(real_logits), _f32(fake_logits))}
        if cfg.adversarial == "wgan-gp":
            terms["d_gradient_penalty"] = cfg.gp_weight * gradient_penalty(self.D, x, fake, y)
        if cfg.r1_weight > 0:
            terms["d_r1"] = cfg.r1_weight * r1_penalty(_f32(real_logits), real_in)
        self._update(self._check(terms), self.opt_D, self.sched_D)
        return {f"loss/{k}": v.item() for k, v in terms.items()} | {"d/real": _mean(real_logits), "d/fake": _mean(fake_logits)}

    def _generator_step(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg.loss
        self.D.requires_grad_(False)  # G's update must not accumulate gradients in D
        with self._autocast():
            fake = self.task.compose(self.G_ddp(y, z), y)
            fake_logits = self.D(torch.cat([y, fake], 1))
        fake = fake.float()
        terms = {"adversarial": cfg.adversarial_weight * self.adversarial.generator_loss(_f32(fake_logits))}
        if self._mode_seeking:
            h = x.shape[0] // 2
            terms["mode_seeking"] = cfg.mode_seeking_weight * mode_seeking_loss(
                fake[:h], fake[h:], z[:h], z[h:], tau=cfg.mode_seeking_tau, distance=self._apart)
        if cfg.spectral_weight:  # every sample: power, not pixels, so it does not pull the samples together
            terms["spectral"] = cfg.spectral_weight * spectral_loss(fake, x, cfg.spectral_min_frequency)
        if cfg.reconstruction == "best_of_pair" and x.shape[0] >= 2:  # reconstruct one sample of each pair
            fake, x, y = best_of_pairs(fake, x, y)
        if cfg.l1_weight:
            terms["l1"] = cfg.l1_weight * l1_loss(fake, x)
        if cfg.l2_weight:
            terms["l2"] = cfg.l2_weight * l2_loss(fake, x)
        terms |= self._task_terms(fake, x, y)
        self._update(self._check(terms), self.opt_G, self.sched_G)
        self.D.requires_grad_(True)
        self.ema.update(self.G)
        return {f"loss/{k}": v.item() for k, v in terms.items()}

    def _regression_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        with self._autocast():
            fake = self.task.compose(self.G_ddp(y), y)
        fake = fake.float()
        terms = {"mse": F.mse_loss(fake, x)} | self._task_terms(fake, x, y)
        self._update(self._check(terms), self.opt_G, self.sched_G)
        self.ema.update(self.G)
        return {f"loss/{k}": v.item() for k, v in terms.items()}

    def _update(self, loss: torch.Tensor, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler) -> None:
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()
        sched.step()

    # -- pieces ------------------------------------------------------------------------------------
    @property
    def _rank_key(self) -> tuple[int, ...]:
        """Extra seed part for a rank's latents, conditions and dropout: ranks draw different ones, and rank 0
        (and a single-process run) keeps the seeds it always had."""
        return (self.dist.rank,) if self.dist.rank else ()

    @property
    def _mode_seeking(self) -> bool:
        return self.is_gan and self.G.nz > 0 and self.cfg.loss.mode_seeking_weight > 0

    def _prepare(self, batch: dict[str, Any], k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Move a batch to the device, build y for self-supervised tasks and draw the latents.

        With the mode-seeking term on, the second half of the batch repeats the first half's conditions
        with fresh latents (MSGAN pairs), so the step costs the same as without it.
        """
        gen = make_generator(stable_seed(self.cfg.seed, "condition", self.step, k, *self._rank_key), self.device)
        x = batch["x"].to(self.device, non_blocking=True)
        y = batch["y"].to(self.device, non_blocking=True) if "y" in batch else self.task.make_condition(x, gen)
        if self._mode_seeking and x.shape[0] >= 2:
            h = x.shape[0] // 2
            x, y = torch.cat([x[:h], x[:h]]), torch.cat([y[:h], y[:h]])
        z = sample_latent(x.shape[0], self.G.nz, gen, self.device)
        return x, y, z

    def _task_terms(self, fake: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        weights = {t.name: self.cfg.loss.task_weights.get(t.name, t.weight) for t in self.task_terms}
        return {t.name: weights[t.name] * t.fn(fake, x, y) for t in self.task_terms if weights[t.name]}  # 0: off

    def _check(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        for name, value in terms.items():
            v = float(value.detach())
            if not math.isfinite(v):
                raise TrainingDivergedError(self.step + 1, name, v)
        return sum(terms.values())

    def _autocast(self):
        return autocast(self.device, self.precision)

    def _lr_factor(self, updates: int) -> float:
        """Constant, then linear decay to 0 (pix2pix's niter + niter_decay), in generator steps."""
        start = self.cfg.optim.decay_start * self.steps
        if updates < start:
            return 1.0
        return max(0.0, 1.0 - (updates - start) / max(self.steps - start, 1))

    def _lr_factor_d(self, updates: int) -> float:
        return self._lr_factor(updates // self.cfg.optim.d_steps)  # D is updated k times per G step

    def _batches(self) -> Iterator[dict[str, Any]]:
        start = self.step * self.cfg.batch_size * self.cfg.optim.d_steps
        # Each rank takes every world_size-th position of the one stream: disjoint samples whose union per step
        # is what a single process with world_size x the batch would see.
        sampler = ResumableSampler(len(self.train_set), self.cfg.seed, start=start, rank=self.dist.rank,
                                   world_size=self.dist.world_size)
        workers = self.cfg.num_workers
        loader = DataLoader(
            self.train_set,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
            drop_last=True,
        )
        return iter(loader)

    # -- previews, validation ------------------------------------------------------------------------
    def _preview_dataset(self, folders: list[Path]) -> Dataset | None:
        try:
            val = self.task.build_datasets(folders, "val", self.cfg.size, self.cfg.val_fraction)
        except DataError:
            val = None  # tiny folders may have no validation images; previews use training images then
        return val if val is not None and len(val) > 0 else self.train_set

    def _native_dataset(self, folders: list[Path]) -> Dataset:
        """The validation split with every image at its own size (``val_native``), checked by reading one."""
        try:
            val = self.task.build_datasets(folders, "val", 0, self.cfg.val_fraction)
            if len(val) == 0:
                raise DataError("the validation split is empty")
            val[(0, 0)]  # a plugin dataset may need a crop size (e.g. a PairedTransform of 0 px)
        except (DataError, ValueError) as exc:
            raise ConfigError(f"val_native: task '{self.task.name}' cannot give its validation images at native size "
                              f"({str(exc).splitlines()[0]}); use val_native=0") from None
        return val

    def _preview_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = min(N_PREVIEW, len(self.preview_set))
        items = [self.preview_set[(i, stable_seed("preview", i))] for i in range(n)]
        return eval_inputs(self.task, items, self.device)

    @torch.no_grad()
    def save_samples(self) -> Path:
        """Grid rows: condition | samples (3 latents for the cGAN) | target."""
        x, y = self._preview_batch()
        G = self.ema.model
        n_samples = 3 if G.nz > 0 else 1
        columns = [self.task.condition_preview(y)]
        for s in range(n_samples):
            z = sample_latent(x.shape[0], G.nz, make_generator(stable_seed("preview-z", s), self.device), self.device)
            columns.append(self.task.compose(G(y, z), y))
        columns.append(x)
        tiles = torch.stack(columns, dim=1).flatten(0, 1).float().cpu()  # row-major: one row per input
        path = self.out / "samples" / f"step_{self.step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(make_grid(tiles, nrow=len(columns)), path)
        return path

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "G": self.G.state_dict(),
            "ema": self.ema.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "sched_G": self.sched_G.state_dict(),
            "scaler": self.scaler.state_dict(),
            "nan_rollbacks": self.rollbacks,
            "validation": self.validation.state_dict(),
        }
        if self.is_gan:
            state |= {"D": self.D.state_dict(), "opt_D": self.opt_D.state_dict(), "sched_D": self.sched_D.state_dict()}
        return state

    def save_checkpoint(self) -> Path:
        path = ckpt.save_checkpoint(self.state_dict(), self.out / "checkpoints", self.step, self.cfg.keep_checkpoints)
        self._save_weights()
        return path

    def _save_weights(self, best: dict[str, str] | None = None) -> None:
        """TASK-MODEL.safetensors, or TASK-MODEL-best.safetensors with ``best`` (metadata: what chose it)."""
        # Where the data came from lets `img2img eval` tell the training folder (validation split only) from others.
        folders = [str(Path(d).expanduser().resolve()) for d in data_folders(self.cfg.data)]
        data = json.dumps(folders) if len(folders) > 1 else "".join(folders)  # one folder: a plain path, as ever
        from ..weights import init_origin  # a fine-tune records its start's id (init_id): realism pairs by it

        save_generator(self.out / f"{self.task.name}-{self.cfg.model}{'-best' if best else ''}.safetensors", self.ema.model,
                       task=self.task.name, model=self.cfg.model, train_size=self.cfg.size, step=self.step,
                       task_options=self.task.options, extra={"data": data, "val_fraction": str(self.cfg.val_fraction),
                                                              "train_config": json.dumps(self.cfg.to_dict(), sort_keys=True)}
                       | init_origin(self.cfg.init) | (best or {}))

    def _resume_state(self, cfg: TrainConfig) -> dict[str, Any] | None:
        directory = self.out / "checkpoints"
        ckpt.remove_stale_temporaries(directory)
        ckpt.remove_stale_temporaries(self.out)  # a .safetensors write cut short by a kill
        state = ckpt.load_latest_checkpoint(directory)
        if state is None and ckpt.list_checkpoints(directory):
            raise DataError(f"no readable checkpoint in {directory}; cannot resume")
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.ema.load_state_dict(state["ema"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.sched_G.load_state_dict(state["sched_G"])
        self.scaler.load_state_dict(state["scaler"])
        if self.is_gan:
            self.D.load_state_dict(state["D"])
            self.opt_D.load_state_dict(state["opt_D"])
            self.sched_D.load_state_dict(state["sched_D"])
        self.step = int(state["step"])
        self.validation.load_state_dict(state.get("validation"))
        # max(): a rollback reloads an older checkpoint, whose count must not undo the rollbacks since.
        self.rollbacks = max(self.rollbacks, int(state.get("nan_rollbacks", 0)))

    def _roll_back(self, err: TrainingDivergedError) -> None:
        """``nan_policy=rollback``: reload the newest checkpoint and halve the learning rates.

        Halving the rate, not skipping the batch: every step's data and randomness are a function of
        ``(seed, step)``, so the replayed steps see exactly the same batches and latents, and the rate is the
        one thing that changes. A run that keeps diverging gives up after ``nan_max_rollbacks`` rollbacks.
        """
        self.rollbacks += 1
        if self.rollbacks > self.cfg.nan_max_rollbacks:
            raise TrainingDivergedError(err.step, err.term, err.value, rollbacks=self.cfg.nan_max_rollbacks) from err
        state = ckpt.load_latest_checkpoint(self.out / "checkpoints", self.device)
        if state is None:
            raise TrainingDivergedError(err.step, err.term, err.value, rollbacks=-1) from err
        self._load_state(state)
        if self.D is not None:
            self.D.requires_grad_(True)  # the generator step that raised had frozen D for its own update
        scale = 0.5**self.rollbacks
        optim = self.cfg.optim
        _set_base_lr(self.sched_G, self.opt_G, optim.lr * scale)
        if self.is_gan:
            _set_base_lr(self.sched_D, self.opt_D, (optim.lr_d or optim.lr) * scale)
        warnings.warn(f"{err}; rolled back to step {self.step} with the learning rate x{scale:g} "
                      f"(rollback {self.rollbacks} of {self.cfg.nan_max_rollbacks})", stacklevel=2)


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


def _set_base_lr(sched: torch.optim.lr_scheduler.LambdaLR, opt: torch.optim.Optimizer, base: float) -> None:
    """Change a LambdaLR's base rate in place; the schedule's position (and so its decay) is kept."""
    sched.base_lrs = [base for _ in sched.base_lrs]
    for group, factor in zip(opt.param_groups, sched.lr_lambdas):
        group["initial_lr"] = base
        group["lr"] = base * factor(sched.last_epoch)
    sched._last_lr = [group["lr"] for group in opt.param_groups]  # what get_last_lr() reports (and logs)


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


def _f32(logits: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.float() for t in logits]


def _mean(logits: list[torch.Tensor]) -> float:
    return float(sum(t.detach().float().mean() for t in logits) / len(logits))


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
