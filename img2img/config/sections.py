"""The dataclasses a run is made of: TrainConfig and its sections (generator, discriminator, loss, optimiser),
each with the one ``validate`` that checks its values."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .overrides import apply_dict, data_entries, set_value

NORMS = ("batch", "instance", "none")
# generator.encoder: "unet" (the pix2pix U-Net, models/unet.py, from random weights) or "lite0" (a U-Net around the
# ImageNet EfficientNet-Lite0, models/pretrained_unet.py).
ENCODERS = ("unet", "lite0")
LITE0_DEPTH = 5  # the Lite0 encoder's stride-2 levels: inputs are padded to a multiple of 2**5
UPSAMPLES = ("transposed", "resize")
CONTEXT_KINDS = ("dilated", "fourier")
ADVERSARIAL_LOSSES = ("minimax", "nonsaturating", "lsgan", "hinge", "wgan-gp")
PERCEPTUAL_NETS = ("alexnet", "vgg16")
RECONSTRUCTIONS = ("all", "best_of_pair")
MODE_SEEKING_DISTANCES = ("l1", "lpips")
GENERATOR_OUTPUTS = ("tanh", "clip")
DISCRIMINATOR_KINDS = ("auto", "patch", "projected", "both")
DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")
MODELS = ("cgan", "regression")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
NAN_POLICIES = ("stop", "rollback")
# What a run's TASK-MODEL-best.safetensors follows (img2img.engine.validation.best_measure): "auto" = KID for the
# cGAN (SWD without the perceptual extra), PSNR for the regression; or one val/* score by name.
VAL_BEST = ("auto", "kid_lite0", "fd_lite0", "lpips", "psnr", "l1", "swd")


# The generator options that act on the latent z (each needs nz > 0; the regression baseline builds none of them,
# and a cGAN fine-tuned from a baseline may add them: both are identity at z = 0).
LATENT_PATHS = ("noise", "film")


@dataclass
class GeneratorConfig:
    # "unet": the pix2pix U-Net from random weights. "lite0": a U-Net whose encoder is the ImageNet EfficientNet-Lite0
    # (models/pretrained_unet.py; a from-scratch run needs the pretrained weight package, loading its weights file
    # does not). With lite0 the depth is the encoder's (5); ngf and max_mult size the decoder; norm, dropout, nz, noise,
    # film, residual and output mean what they mean for the U-Net; upsample and context_* are the U-Net's only.
    encoder: str = "unet"
    in_channels: int = 3
    out_channels: int = 3
    ngf: int = 64
    depth: int | None = None  # None: log2 of the training size (bottleneck 1x1, as pix2pix)
    max_mult: int = 8  # cap on the channel multiplier (8 in the paper; smaller keeps weights small)
    norm: str = "instance"  # pix2pix used batch norm at batch size 1, which *is* instance norm
    upsample: str = "transposed"  # or "resize" (nearest upsample + conv, no checkerboard)
    dropout: float = 0.5  # in the innermost decoder blocks, training only (z supplies the randomness)
    nz: int = 8  # latent size; 0 = deterministic generator
    # Residual context blocks on the encoder's features at 1/context_stride of the input, feeding both the deeper
    # encoder and the skip: context from across the picture at a resolution the decoder still paints from
    # (LaMa's lesson for fills). 0 = the plain pix2pix U-Net. context_kind: "dilated" (3x3 convs, dilations
    # 1, 2, 4, 8, ...) or "fourier" (LaMa's fast Fourier convolutions, models/fourier.py).
    context_blocks: int = 0
    context_stride: int = 8
    context_kind: str = "dilated"
    # Per-pixel noise after each decoder block, a fixed function of z with a learned per-channel strength
    # (StyleGAN's noise inputs, models/noise.py): texture in flat regions without a stride lattice. Needs nz > 0.
    # A run may add it to --init weights that lack it: their mean sample (z = 0, no noise) is unchanged.
    noise: bool = False
    # Latent FiLM after each decoder block: z scales and shifts the normalised channels (models/film.py), a path
    # for global appearance (colour, material) that instance norm cannot remove. Needs nz > 0. Like noise, a
    # run may add it to --init weights that lack it (identity at z = 0: the mean sample is unchanged).
    film: bool = False
    # Global residual (DnCNN's, NAFNet's): output = condition + network, clipped to [-1, 1], the network's last
    # layer starting at zero, so an untrained generator hands its input back. For tasks whose condition is the
    # picture itself (restore): the U-Net's finest skip is at half resolution, so without it every output pixel
    # is repainted from features and an undamaged photo comes back simplified. Needs in_channels >= out_channels.
    residual: bool = False
    # What ends a non-residual generator. "tanh" (pix2pix). "clip": the last layer's values clipped to [-1, 1]:
    # slope 1 inside, where tanh's is 0.1 at a photo's deep black (-0.94 needs a pre-activation of -1.7), and
    # no gradient past the clip, as tanh's saturation gives none (a straight-through clip let the
    # discriminator drag a trained sketch2photo's white background, which sits at 5-45, into colour within 500
    # steps). Same parameters: a run may --init from tanh weights; the switch moves that model's outputs by 0.026.
    output: str = "tanh"

    def check_residual(self) -> None:
        """The one rule of ``residual``, also checked by the generator once the task has set the channels."""
        if self.residual and self.in_channels < self.out_channels:
            raise ConfigError(f"generator.residual adds the condition to the output: it needs at least as many input "
                              f"channels ({self.in_channels}) as output channels ({self.out_channels})")

    def validate(self) -> None:
        _check_choice("generator.encoder", self.encoder, ENCODERS)
        if self.encoder == "lite0" and self.depth not in (None, LITE0_DEPTH):
            raise ConfigError(f"generator.depth is the encoder's with generator.encoder=lite0 ({LITE0_DEPTH} stride-2 "
                              f"levels); leave it unset, got {self.depth}")
        if self.encoder == "lite0" and self.context_blocks:
            raise ConfigError("generator.context_blocks is the U-Net's (generator.encoder=unet); with "
                              "generator.encoder=lite0 set it to 0")
        _check_choice("generator.norm", self.norm, NORMS)
        _check_choice("generator.upsample", self.upsample, UPSAMPLES)
        _check_choice("generator.context_kind", self.context_kind, CONTEXT_KINDS)
        _check_choice("generator.output", self.output, GENERATOR_OUTPUTS)
        if self.residual and self.output != "tanh":
            raise ConfigError("generator.output is for a non-residual generator: a residual one already ends in a "
                              "correction added to its input and clipped to [-1, 1]")
        _check_positive("generator.ngf", self.ngf)
        _check_positive("generator.max_mult", self.max_mult)
        if self.nz < 0:
            raise ConfigError(f"generator.nz must be >= 0, got {self.nz}")
        if self.depth is not None and not 1 <= self.depth <= 10:
            raise ConfigError(f"generator.depth must be between 1 and 10, got {self.depth}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"generator.dropout must be in [0, 1), got {self.dropout}")
        if self.context_blocks < 0:
            raise ConfigError(f"generator.context_blocks must be >= 0, got {self.context_blocks}")
        self.check_residual()
        if self.noise and self.nz == 0:
            raise ConfigError("generator.noise needs a latent (generator.nz > 0): the noise is a function of z")
        if self.film and self.nz == 0:
            raise ConfigError("generator.film needs a latent (generator.nz > 0): it scales features by z")
        if self.context_stride < 2 or self.context_stride & (self.context_stride - 1):
            raise ConfigError(f"generator.context_stride must be a power of two >= 2, got {self.context_stride}")


@dataclass
class DiscriminatorConfig:
    ndf: int = 64
    n_layers: int = 3  # 3 -> 70x70 receptive field
    norm: str = "instance"
    spectral_norm: bool = False
    num_scales: int = 1  # 2-3 = multi-scale (pix2pixHD)
    # patch | projected (frozen Lite0 features, needs the weight packages) | both | auto: the default recipe's
    # (engine.settle.DEFAULT_DISCRIMINATOR) when the weight packages are installed, else patch
    kind: str = "auto"
    # The projected discriminator's DiffAugment policies, comma-separated: color (brightness, saturation,
    # contrast of x), translation, cutout; none = off. Colour augmentation makes the discriminator less
    # sensitive to the tones a generator puts out, as well as keeping it from memorising a small set.
    augment: str | None = "color,translation,cutout"

    def augment_policy(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in (self.augment or "").split(",") if p.strip() and p.strip() != "none")

    def validate(self) -> None:
        unknown = [p for p in self.augment_policy() if p not in DIFF_AUGMENT_POLICIES]
        if unknown:
            raise ConfigError(f"discriminator.augment: unknown DiffAugment policy {unknown[0]!r} "
                              f"(known: {', '.join(DIFF_AUGMENT_POLICIES)}, or none)")
        _check_choice("discriminator.norm", self.norm, NORMS)
        _check_choice("discriminator.kind", self.kind, DISCRIMINATOR_KINDS)
        _check_positive("discriminator.ndf", self.ndf)
        _check_positive("discriminator.n_layers", self.n_layers)
        if not 1 <= self.num_scales <= 3:
            raise ConfigError(f"discriminator.num_scales must be 1, 2 or 3, got {self.num_scales}")


@dataclass
class LossConfig:
    adversarial: str = "nonsaturating"
    adversarial_weight: float = 1.0
    l1_weight: float = 100.0
    l2_weight: float = 0.0
    mode_seeking_weight: float = 20.0  # needs generator.nz > 0
    mode_seeking_tau: float | None = 0.2  # None: MSGAN's unbounded 1/r form (see losses/diversity.py)
    # How far apart the two samples of a pair are: "l1", the mean absolute pixel difference (MSGAN's), which a
    # uniform tint satisfies most cheaply; "lpips", LPIPS with loss.perceptual_net (needs the pretrained weights),
    # which asks for differences in texture and structure. tau is in the distance's own units.
    mode_seeking_distance: str = "l1"
    # Gaussian blur (sigma in pixels) of both samples before the distance, 0 = none. A distance that sees texture
    # (LPIPS) also pays for a stride grid that differs between two samples; at sigma 3 a period-8 grid is gone
    # (response 0.06) and a period-16 one halved, while colour, shading and the larger parts of a material stay.
    mode_seeking_blur: float = 0.0
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - s
    r1_weight: float = 0.0
    gp_weight: float = 10.0  # used by wgan-gp only
    task_weights: dict[str, float] = field(default_factory=dict)  # override a task term's weight
    # cgan: weight of LPIPS(output, target) (needs the pretrained weight packages). None = auto: the default
    # recipe's weight (losses.perceptual.DEFAULT_PERCEPTUAL_WEIGHT) when the packages are installed, else 0 with
    # one warning (the pix2pix recipe). An explicit number > 0 requires them.
    perceptual_weight: float | None = None
    perceptual_net: str = "alexnet"  # alexnet | vgg16
    feature_matching_weight: float = 0.0  # cgan: pix2pixHD's discriminator feature matching (pix2pixHD: 10)
    # cgan: which samples the reconstruction terms (L1, L2, LPIPS, the task's terms) pull to the target. "all":
    # every sample (pix2pix). "best_of_pair": of each mode-seeking pair (one condition, two latents) only the
    # sample closer to the target, the "variety loss" of Social GAN / best-of-many with k = 2 (losses/diversity.py)
    reconstruction: str = "all"
    # cgan: weight of the spectral term (losses/spectral.py): each sample's log power, ring by ring of spatial
    # frequency, matched to its target's, from spectral_min_frequency x Nyquist up. Power ignores phase, so it
    # asks for as much fine detail as the target has, not for the target's detail. 0 = off.
    spectral_weight: float = 0.0
    spectral_min_frequency: float = 0.25

    def validate(self) -> None:
        _check_choice("loss.adversarial", self.adversarial, ADVERSARIAL_LOSSES)
        if self.mode_seeking_tau is not None and self.mode_seeking_tau <= 0:
            raise ConfigError(f"loss.mode_seeking_tau must be > 0 or none, got {self.mode_seeking_tau}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"loss.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        _check_choice("loss.perceptual_net", self.perceptual_net, PERCEPTUAL_NETS)
        _check_choice("loss.reconstruction", self.reconstruction, RECONSTRUCTIONS)
        _check_choice("loss.mode_seeking_distance", self.mode_seeking_distance, MODE_SEEKING_DISTANCES)
        if not 0 <= self.mode_seeking_blur <= 16:
            raise ConfigError(f"loss.mode_seeking_blur must be between 0 and 16 (pixels), got {self.mode_seeking_blur}")
        if not 0 <= self.spectral_min_frequency < 1:
            raise ConfigError("loss.spectral_min_frequency must be in [0, 1) (a fraction of the Nyquist frequency), "
                              f"got {self.spectral_min_frequency}")
        for name in ("adversarial_weight", "l1_weight", "l2_weight", "mode_seeking_weight", "r1_weight", "gp_weight",
                     "perceptual_weight", "feature_matching_weight", "spectral_weight"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        for name, weight in self.task_weights.items():  # free-form: --set gives whatever the value parses as
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < math.inf:
                raise ConfigError(f"loss.task_weights.{name} must be a number >= 0 (0 = off), got {weight!r}")


@dataclass
class OptimConfig:
    lr: float = 2e-4
    lr_d: float | None = None  # None: same as lr
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1  # k discriminator steps per generator step (Algorithm 1 of the GAN paper)
    decay_start: float = 0.5  # fraction of the run at constant lr, then linear decay to 0
    ema_decay: float = 0.999
    # The pretrained encoder's learning rate as a fraction of lr (generator.encoder=lite0; fastai's discriminative
    # learning rates): its ImageNet features are kept close while the new decoder learns at the full rate.
    encoder_lr_mult: float = 0.1

    def validate(self) -> None:
        _check_positive("optim.lr", self.lr)
        if not 0.0 <= self.encoder_lr_mult <= 1.0:
            raise ConfigError(f"optim.encoder_lr_mult must be in [0, 1] (0 = a frozen encoder), got {self.encoder_lr_mult}")
        _check_positive("optim.d_steps", self.d_steps)
        if not 0.0 <= self.decay_start <= 1.0:
            raise ConfigError(f"optim.decay_start must be in [0, 1], got {self.decay_start}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"optim.ema_decay must be in [0, 1), got {self.ema_decay}")


@dataclass
class TrainConfig:
    task: str = "uncrop"
    model: str = "cgan"  # cgan | regression (same generator, MSE only: the E[x|y] baseline)
    # None: the task's embedded default dataset; several folders are used together (see data_folders). A list
    # entry may be {"path": DIR, "weight": W}: DIR's training split is drawn W times as often per epoch as a
    # folder of weight 1 (data_entries), instead of listing DIR W times.
    data: str | list[Any] | None = None  # list items: str | {"path": str, "weight": float}, checked in validate
    size: int = 128
    batch_size: int = 4
    steps: int = 2000
    epochs: int | None = None  # when set, overrides steps
    seed: int = 0
    precision: str = "auto"  # auto: bf16 autocast where supported, else fp32
    device: str = "auto"
    num_workers: int = 2
    val_fraction: float = 0.1
    log_every: int = 10
    sample_every: int = 250
    checkpoint_every: int = 250
    # Validation quality (img2img.engine.validation): on up to val_images fixed validation images (0 = off),
    # every val_every steps (None: at every checkpoint), and the run's TASK-MODEL-best.safetensors, which follows
    # val_best (VAL_BEST; e.g. "lpips" for a restorer, whose realism scores reward invented texture).
    val_images: int = 64
    val_every: int | None = None
    val_best: str = "auto"
    # Also score this many whole validation images at their own size (val/native_*), for tasks whose data can be
    # read at native size (restore): a 128 px crop cannot show a halo along a 481 px edge. 0 = off.
    val_native: int = 0
    keep_checkpoints: int = 3
    tensorboard: bool = False
    # Intra-op threads for torch (None: torch's default, one per core). On a busy 2-core CPU one thread per
    # process trained 1.9x faster than two (benchmarks/run_all.py, docs/performance.md): spinning OpenMP
    # threads fight the other processes for the cores.
    threads: int | None = None
    # A NaN/inf loss: "stop" raises TrainingDivergedError; "rollback" reloads the newest checkpoint, halves the
    # learning rates and goes on, at most nan_max_rollbacks times per run (see Trainer._roll_back).
    nan_policy: str = "stop"
    nan_max_rollbacks: int = 3
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    task_options: dict[str, Any] = field(default_factory=dict)  # read by the task (mask kind, direction ...)
    # Fine-tuning: an img2img generator .safetensors of the same task to start G from (img2img.weights.adopt_init:
    # its architecture replaces `generator`; D, optimisers and schedule start fresh).
    init: str | None = None

    def validate(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("nan_policy", self.nan_policy, NAN_POLICIES)
        _check_choice("val_best", self.val_best, VAL_BEST)
        if self.size < 8 or self.size % 8:
            raise ConfigError(f"size must be a multiple of 8 and at least 8, got {self.size}")
        for name in ("batch_size", "steps", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
                     "nan_max_rollbacks"):
            _check_positive(name, getattr(self, name))
        if self.epochs is not None:
            _check_positive("epochs", self.epochs)
        if self.threads is not None:
            _check_positive("threads", self.threads)
        if self.val_every is not None:
            _check_positive("val_every", self.val_every)
        if self.val_native < 0:
            raise ConfigError(f"val_native must be >= 0 (0 = off), got {self.val_native}")
        if self.val_images < 0:
            raise ConfigError(f"val_images must be >= 0 (0 = no validation), got {self.val_images}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0, got {self.num_workers}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if isinstance(self.data, list) and not self.data:
            raise ConfigError("data must name at least one folder (leave it out for the embedded dataset)")
        data_entries(self.data)  # raises ConfigError on a malformed entry
        self.generator.validate()
        self.discriminator.validate()
        self.loss.validate()
        self.optim.validate()
        g = self.generator
        if self.model == "cgan" and g.encoder == "lite0" and g.nz and g.norm == "instance" and not (g.film or g.noise):
            # z is concatenated before each decoder conv; instance norm then removes the per-channel constant it
            # adds (measured: samples of a trained restore model differed by 3e-4, the U-Net's by 1e-2).
            raise ConfigError("generator.encoder=lite0 gives z to instance-normalised decoder levels, which erase a "
                              "constant input: set generator.film=true (or generator.noise=true) so samples differ")
        pairs = self.generator.nz > 0 and self.loss.mode_seeking_weight > 0
        if self.model == "cgan" and self.loss.reconstruction == "best_of_pair" and not pairs:
            raise ConfigError("loss.reconstruction=best_of_pair needs the mode-seeking pairs: generator.nz > 0 and "
                              "loss.mode_seeking_weight > 0")

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        cfg = cls()
        apply_dict(cfg, data)
        return cfg


def generator_config_from_dict(data: dict[str, Any]) -> GeneratorConfig:
    cfg = GeneratorConfig()
    apply_dict(cfg, data)
    return cfg


def task_config(task: Any, file_cfg: dict[str, Any]) -> TrainConfig:
    """The config of a run of ``task`` from a config file's dict: dataclass defaults < the task's ``defaults``
    < the file (command-line flags and ``--set`` come on top of it)."""
    cfg = TrainConfig(task=task.name)
    for key, value in task.defaults.items():
        set_value(cfg, key, value)
    apply_dict(cfg, file_cfg)
    return cfg


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got '{value}'")


def _check_positive(name: str, value: float) -> None:
    if value is None or value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
