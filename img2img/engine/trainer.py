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
from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm import tqdm

from ..config import TrainConfig, data_folders
from ..errors import TrainingDivergedError
from ..losses import AdversarialLoss, Outputs, describe, evaluate, generator_terms, gradient_penalty, r1_penalty
from ..models import count_parameters, param_groups, sample_latent
from ..seeding import make_generator, stable_seed
from ..task import Task
from ..weights import save_generator
from . import build
from . import checkpoint as ckpt
from .distributed import NullLogger
from .ema import EMA
from .logging import RunLogger, plot_loss_curves
from .precision import autocast
from .previews import save_samples
from .settle import resume_state, settle_config, settle_device
from .validation import Validation


class Trainer:
    def __init__(self, cfg: TrainConfig, task: Task, out_dir: Path, resume: bool = False, progress: bool = True) -> None:
        self.out = Path(out_dir)
        state = resume_state(self.out) if resume else None
        self.cfg = cfg = settle_config(cfg, state)  # the config config.json records; never rewritten below
        self.task = task.configure(**cfg.task_options)
        self.progress = progress
        self.dist, self.device, self.precision = settle_device(cfg)
        self.is_gan = cfg.model == "cgan"
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.train_set, self.preview_set = build.training_data(self.task, cfg)
        self.steps = build.total_steps(cfg, len(self.train_set), self.dist.world_size)
        self.G, self.D = build.networks(cfg, self.task, self.dist, self.device, fresh=state is None)
        self.ema = EMA(self.G, cfg.optim.ema_decay)
        # G_ddp/D_ddp: the modules themselves, or their DDP wrappers under torchrun. Only the forward passes
        # whose gradients update that network go through the wrapper; self.G/self.D stay the plain modules
        # (checkpoints, EMA, previews, and D inside the generator step, where D gets no gradients).
        self.G_ddp = self.dist.wrap(self.G, self.device)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_G = torch.optim.Adam(param_groups(self.G, cfg.optim.lr, cfg.optim.encoder_lr_mult), lr=cfg.optim.lr, betas=betas)
        self.sched_G = torch.optim.lr_scheduler.LambdaLR(self.opt_G, self._lr_factor)
        self.D_ddp = self.opt_D = self.sched_D = None
        if self.is_gan:
            # broadcast_buffers=False: D runs twice (real, fake) before one backward, and re-broadcasting its
            # buffers in between is an in-place change autograd refuses; parameters are kept equal by DDP.
            self.D_ddp = self.dist.wrap(self.D, self.device, broadcast_buffers=False)
            self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.optim.lr_d or cfg.optim.lr, betas=betas)
            self.sched_D = torch.optim.lr_scheduler.LambdaLR(self.opt_D, self._lr_factor_d)
            self.adversarial = AdversarialLoss(cfg.loss.adversarial, cfg.loss.label_smoothing)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.terms = generator_terms(cfg, self.task, self.D, self.device)  # named, weighted; summed in this order
        self.validation = Validation(self.task, self.preview_set, cfg, self.device,  # val/* scores, best weights
                                     native=build.native_dataset(self.task, cfg))
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
        encoder = "ImageNet Lite0 encoder, " if g.config.encoder == "lite0" else ""
        parts = [f"{self.task.name}/{self.cfg.model}: G {count_parameters(g) / 1e6:.2f}M params ({encoder}depth {g.depth}, nz {g.nz}"
                 + (", latent FiLM" if g.film is not None else "") + (", noise inputs" if g.noise is not None else "")
                 + (", residual" if g.residual else "") + (", clipped output" if g.clip else "")
                 + (f", from {self.cfg.init})" if self.cfg.init else ")")]
        if self.D is not None:
            parts.append(f"D {count_parameters(self.D) / 1e6:.2f}M trainable params ({self.D.describe()})")
        parts.append(describe(self.terms))
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
        self.D.requires_grad_(False)  # G's update must not accumulate gradients in D
        with self._autocast():
            fake = self.task.compose(self.G_ddp(y, z), y)
            fake_logits = self.D(torch.cat([y, fake], 1))
        terms = evaluate(self.terms, Outputs(fake.float(), x, y, z, fake_logits))
        self._update(self._check(terms), self.opt_G, self.sched_G)
        self.D.requires_grad_(True)
        self.ema.update(self.G)
        return {f"loss/{k}": v.item() for k, v in terms.items()}

    def _regression_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        with self._autocast():
            fake = self.task.compose(self.G_ddp(y), y)
        terms = evaluate(self.terms, Outputs(fake.float(), x, y))
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
        return build.batches(self.train_set, self.cfg, self.step, self.dist, self.device)

    def save_samples(self) -> Path:
        """Grid rows: condition | samples (3 latents for the cGAN) | target."""
        return save_samples(self.task, self.ema.model, self.preview_set, self.out / "samples" / f"step_{self.step:08d}.png",
                            self.device)

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


def _set_base_lr(sched: torch.optim.lr_scheduler.LambdaLR, opt: torch.optim.Optimizer, base: float) -> None:
    """Change a LambdaLR's base rate in place; the schedule's position (and so its decay) is kept."""
    # A group may run at a multiple of the base rate (a pretrained encoder's, models.param_groups): it keeps it.
    sched.base_lrs = [base * group.get("lr_mult", 1.0) for group in opt.param_groups]
    for group, group_base, factor in zip(opt.param_groups, sched.base_lrs, sched.lr_lambdas):
        group["initial_lr"] = group_base
        group["lr"] = group_base * factor(sched.last_epoch)
    sched._last_lr = [group["lr"] for group in opt.param_groups]  # what get_last_lr() reports (and logs)


def _f32(logits: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.float() for t in logits]


def _mean(logits: list[torch.Tensor]) -> float:
    return float(sum(t.detach().float().mean() for t in logits) / len(logits))


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
