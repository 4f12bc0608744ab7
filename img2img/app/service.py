"""The app's engine room, without gradio: reads and checks user images, loads each task's two models once,
and runs the cGAN beside its MSE baseline. The UI (:mod:`img2img.app.ui`) only wires widgets to
:meth:`AppService.generate`; everything here is testable without a server.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

import numpy as np
import torch
from PIL import Image

from ..data.io import load_image, pil_to_tensor, tensor_to_pil
from ..engine.precision import resolve_device
from ..errors import Img2ImgError, WeightsError
from ..inference import Translator, default_weights_dir, default_weights_path
from ..models import sample_latent
from ..plugins import PluginHost, load_plugins
from ..realism import check_pair, check_realism
from ..seeding import make_generator
from ..task import Task

MODELS = ("cgan", "regression")
MAX_PIXELS = 1024 * 1024  # bigger inputs are downscaled: CPU inference time grows with the pixel count
ABSURD_PIXELS = 50_000_000  # refused before decoding: nobody means to upload a 50-megapixel sketch
MIN_SIDE = 16  # below this there is nothing for a U-Net to work with
MAX_SAMPLES = 16
INTERPOLATION_STEPS = 7
# A canvas's data URL is base64 PNG of a few hundred pixels a side (a few KB for a drawing); anything near this
# is not one, and is refused before it is decoded.
MAX_DATA_URL_CHARS = 8 * 1024 * 1024

ImageInput = Union[Image.Image, np.ndarray, str, os.PathLike, bytes, None]


class InputError(Img2ImgError):
    """An input the user can fix (no image, unreadable file, absurd size); shown as a message."""


class MissingWeightsError(WeightsError):
    pass


@dataclass
class GenerateResult:
    """Everything one click produces. ``baseline`` is None when only the cGAN's weights exist."""

    samples: list[Image.Image]
    baseline: Image.Image | None
    condition: Image.Image
    interpolation: list[Image.Image]
    timings_ms: dict[str, float]
    device: str
    seed: int
    notes: list[str] = field(default_factory=list)

    def interpolation_strip(self, gap: int = 4) -> Image.Image | None:
        return frames_strip(self.interpolation, gap)

    def summary(self) -> str:
        """One Markdown paragraph: device, time per model and any notes."""
        times = ", ".join(f"{name} {ms:.0f} ms" for name, ms in self.timings_ms.items())
        lines = [f"**Device:** {self.device} · **Inference:** {times} · **Seed:** {self.seed}"]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)


def frames_strip(frames: list[Image.Image], gap: int = 4) -> Image.Image | None:
    """A latent walk as one left-to-right picture (a gallery would wrap or clip seven frames)."""
    if not frames:
        return None
    width, height = frames[0].size
    strip = Image.new("RGB", (len(frames) * (width + gap) - gap, height), "white")
    for i, frame in enumerate(frames):
        strip.paste(frame, (i * (width + gap), 0))
    return strip


@dataclass
class _Models:
    cgan: Translator | None
    regression: Translator | None


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def has_ink(image: Image.Image | None) -> bool:
    """True when a drawing holds at least one clearly dark pixel (an empty canvas is white or transparent)."""
    if image is None:
        return False
    if image.mode in ("RGBA", "LA", "PA", "P"):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        flat.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        image = flat
    return bool(np.asarray(image.convert("L")).min() < 128)


def differs_from_fill(image: Image.Image | None, fill: str, tolerance: int = 8) -> bool:
    """True when some pixel of ``image`` is not the colour ``fill`` ("#rrggbb"): a paint canvas was used."""
    if image is None:
        return False
    colour = np.array([int(fill[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    pixels = np.asarray(pil_to_rgb(image), dtype=np.int16)
    return bool((np.abs(pixels - colour).max(axis=2) > tolerance).any())


def read_image(source: ImageInput, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, list[str]]:
    """Any user input (PIL, array, path, raw bytes) -> (RGB image within ``max_pixels``, notes).

    Files go through :func:`~img2img.data.io.load_image`, so EXIF rotation, palettes, 16-bit scans and
    decompression bombs are handled the same way as in training. Raises :class:`InputError`.
    """
    notes: list[str] = []
    if source is None:
        raise InputError("no input image: draw something or upload a picture first")
    try:
        if isinstance(source, bytes):
            image = _load_bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            image = load_image(source, max_pixels=ABSURD_PIXELS)
        elif isinstance(source, np.ndarray):
            image = _from_array(source)
        elif isinstance(source, Image.Image):
            if source.width * source.height > ABSURD_PIXELS:
                raise InputError(f"the image is {source.width}x{source.height}; the limit is {ABSURD_PIXELS:,} pixels")
            image = pil_to_rgb(source)
        else:
            raise InputError(f"unsupported input type {type(source).__name__}")
    except InputError:
        raise
    except Img2ImgError as exc:  # UnreadableImageError names a temp path for bytes; keep only the reason
        raise InputError(f"cannot read the image: {getattr(exc, 'reason', exc)}") from exc
    if min(image.size) < MIN_SIDE:
        raise InputError(f"the image is {image.width}x{image.height}; it needs at least {MIN_SIDE} px per side")
    if image.width * image.height > max_pixels:
        scale = (max_pixels / (image.width * image.height)) ** 0.5
        size = (max(MIN_SIDE, int(image.width * scale)), max(MIN_SIDE, int(image.height * scale)))
        notes.append(f"input downscaled from {image.width}x{image.height} to {size[0]}x{size[1]} "
                     f"(the app works on at most {max_pixels:,} pixels)")
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image, notes


def decode_data_url(url: Any) -> bytes:
    """The bytes of a base64 image data URL (``data:image/png;base64,...``), as the app's canvas sends them to
    its live preview; :func:`read_image` then reads them like an upload. Only data URLs: a plain string would be
    a path, and a path from a browser must never be opened. Raises :class:`InputError`."""
    if not isinstance(url, str) or not url.startswith("data:image/"):
        raise InputError("expected a drawing as an image data URL (data:image/png;base64,...)")
    if len(url) > MAX_DATA_URL_CHARS:
        raise InputError(f"the drawing's data URL has {len(url):,} characters; the limit is {MAX_DATA_URL_CHARS:,}")
    head, _, body = url.partition(",")
    if not head.endswith(";base64"):
        raise InputError("expected a base64 image data URL (data:image/png;base64,...)")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"cannot read the drawing's data URL: {exc}") from exc


def pil_to_rgb(image: Image.Image) -> Image.Image:
    """RGB with transparency flattened onto white (a Sketchpad's empty area is transparent)."""
    if image.mode == "RGB":
        return image
    return tensor_to_pil(pil_to_tensor(image))


def _load_bytes(data: bytes) -> Image.Image:
    # load_image wants a path; a temp file keeps one reader (and its checks) for uploads and datasets.
    if not data:
        raise InputError("cannot read the image: the file is empty")
    fd, name = tempfile.mkstemp(prefix="img2img-upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return load_image(name, max_pixels=ABSURD_PIXELS)
    finally:
        Path(name).unlink(missing_ok=True)


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim not in (2, 3) or array.size == 0:
        raise InputError(f"expected an image array of shape (H, W) or (H, W, C), got {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    try:
        return pil_to_rgb(Image.fromarray(array))
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot read the image array: {exc}") from exc


class LatestOnly:
    """One call at a time per key, and only the newest waits: a call overtaken by a newer one for the same key
    while it waits returns :attr:`SUPERSEDED` at once, without running.

    The live preview's gate (key: task and browser session): the browser sends a preview request per stroke
    without waiting for the last, so quick strokes would otherwise pile up model runs; here one runs, the newest
    stroke waits, and the ones in between cost nothing. ``peak_waiting`` (never above 1 per key),
    ``superseded`` and ``runs`` count what happened."""

    SUPERSEDED = object()

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running: dict[Any, int] = {}  # key -> ticket of the call running
        self._latest: dict[Any, int] = {}  # key -> ticket of the newest call
        self._tickets = 0
        self.peak_waiting = 0
        self.superseded = 0
        self.runs = 0

    def waiting(self) -> int:
        """Calls waiting to run now (at most one per key)."""
        with self._cond:
            return sum(1 for key, ticket in self._latest.items() if self._running.get(key, ticket) != ticket)

    def run(self, key: Any, work: Any) -> Any:
        with self._cond:
            self._tickets += 1
            ticket = self._latest[key] = self._tickets
            self._cond.notify_all()  # an older call of this key, if waiting, now gives way
            self.peak_waiting = max(self.peak_waiting, sum(
                1 for k, t in self._latest.items() if self._running.get(k, t) != t))
            while key in self._running and self._latest.get(key) == ticket:
                self._cond.wait()
            if self._latest.get(key) != ticket:
                self.superseded += 1
                return self.SUPERSEDED
            self._running[key] = ticket
            self.runs += 1
        try:
            return work()
        finally:
            with self._cond:
                del self._running[key]
                if self._latest.get(key) == ticket:
                    del self._latest[key]
                self._cond.notify_all()


class AppService:
    """Registered tasks plus a lazily filled, thread-safe cache of their cGAN and regression Translators."""

    def __init__(self, host: PluginHost | None = None, weights_dir: str | os.PathLike | None = None,
                 device: str = "auto", max_pixels: int = MAX_PIXELS, backend: str = "auto") -> None:
        self.host = host if host is not None else load_plugins()
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        self.device = resolve_device(device)
        self.max_pixels = max_pixels
        self.backend = backend  # auto: ONNX Runtime on the CPU when installed (see inference.choose_backend)
        self._models: dict[str, _Models] = {}
        self._realism: dict[str, str | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.preview_gate = LatestOnly()  # the UI's live previews: per task and session, one runs, the newest waits

    # -- tasks and weights ---------------------------------------------------------------------
    def task_names(self) -> list[str]:
        return self.host.names()

    def task(self, name: str) -> Task:
        return self.host.get(name)

    @property
    def device_label(self) -> str:
        return describe_device(self.device)

    def weights_path(self, task: str, model: str) -> Path:
        return default_weights_path(task, model, self.weights_dir)

    def missing_weights(self, task: str) -> list[Path]:
        return [p for p in (self.weights_path(task, m) for m in MODELS) if not p.is_file()]

    def weights_message(self, task: str) -> str | None:
        """What is missing and the commands that make it, or None when both weights files exist."""
        missing = self.missing_weights(task)
        if not missing:
            return None
        lines = [f"Missing weights for task '{task}': " + ", ".join(str(p) for p in missing) + "."]
        if len(missing) < len(MODELS):
            lines.append("The app runs with the model that is there.")
        lines.append("Train them with:")
        data = " --data YOUR_PAIRS" if self.task(task).paired else ""  # paired tasks have no embedded data
        for path in missing:
            model = path.name[len(task) + 1 : -len(".safetensors")]
            run = f"runs/{task}-{model}"
            lines.append(f"    img2img train --task {task}{data} --model {model} --out {run}"
                         f" && cp {run}/{path.name} {self.weights_dir}/")
        return "\n".join(lines)

    def realism_problem(self, task: str) -> str | None:
        """None when the task's two weights files are a fine-tuned pair (the realism slider works), else why
        not, in one line. Read from the metadata only, once per task."""
        if task not in self._realism:
            paths = [self.weights_path(task, model) for model in MODELS]
            if not all(p.is_file() for p in paths):
                self._realism[task] = "it needs both the cGAN and the MSE baseline's weights"
            else:
                try:
                    check_pair(*paths)
                    self._realism[task] = None
                except Img2ImgError as exc:
                    self._realism[task] = str(exc).replace("realism needs a cGAN fine-tuned from its MSE baseline: ",
                                                           "it needs a cGAN fine-tuned from its MSE baseline; ")
        return self._realism[task]

    def models(self, task: str) -> _Models:
        """Both Translators of a task, loaded on first use and then kept (one lock per task)."""
        loaded = self._models.get(task)
        if loaded is not None:
            return loaded
        with self._locks_guard:
            lock = self._locks.setdefault(task, threading.Lock())
        with lock:
            if task not in self._models:
                self._models[task] = self._load(task)
            return self._models[task]

    def warm_up(self) -> dict[str, str]:
        """Run every task once the way a click does (its first example, default settings), so the first real
        click does not pay for loading, the one-time ONNX export or the runtime's first-call setup. Returns
        task -> "ready" or why not (missing weights, a broken plugin); never raises: the UI reports such
        problems when they matter."""
        status: dict[str, str] = {}
        for name in self.task_names():
            try:
                examples = self.examples(name)
                if examples:
                    self.generate(name, examples[0], interpolation_steps=0)
                else:
                    self.models(name)
                status[name] = "ready"
            except Exception as exc:  # noqa: BLE001 - a warm-up must not stop the app from starting
                status[name] = f"{type(exc).__name__}: {exc}"
        return status

    def _load(self, task_name: str) -> _Models:
        task = self.task(task_name)
        if len(self.missing_weights(task_name)) == len(MODELS):
            raise MissingWeightsError(self.weights_message(task_name) or "")
        found = {}
        for model in MODELS:
            path = self.weights_path(task_name, model)
            found[model] = Translator(task, path, device=self.device, backend=self.backend) if path.is_file() else None
        if self.realism_problem(task_name) is None:  # read the pair now: moving the slider then reads no file
            found["cgan"].realism_pair(self.weights_path(task_name, "regression"))
        return _Models(**found)

    # -- inputs ----------------------------------------------------------------------------------
    def examples(self, task: str) -> list[Image.Image]:
        return [tensor_to_pil(t[0]) for t in self.task(task).examples()]

    def choose_input(self, drawn: ImageInput, uploaded: ImageInput, blank: str | None = None) -> ImageInput:
        """Canvas tabs have a canvas and an upload box: the canvas wins when it has ink (sketch canvases) or,
        for a paint canvas whose empty state is filled with ``blank`` ("#rrggbb"), when it differs from that."""
        if isinstance(drawn, Mapping):  # an ImageEditor value: the flattened picture is "composite"
            drawn = drawn.get("composite")
        used = has_ink if blank is None else (lambda image: differs_from_fill(image, blank))
        if isinstance(drawn, Image.Image) and used(drawn):
            return drawn
        if uploaded is not None:
            return uploaded
        if drawn is not None:
            return drawn  # a blank canvas: the task explains what it wants
        raise InputError("no input image: draw something or upload a picture first")

    # -- generate --------------------------------------------------------------------------------
    def generate(self, task: str, image: ImageInput, seed: int = 0, k: int = 4, noise_scale: float = 1.0,
                 controls: Mapping[str, Any] | None = None, seed_b: int | None = None,
                 interpolation_steps: int = INTERPOLATION_STEPS, realism: float = 1.0) -> GenerateResult:
        """K cGAN samples, the MSE baseline and a latent walk from ``seed`` to ``seed_b`` for one input.

        ``realism`` (a fine-tuned pair only): the samples and the walk come from the generator at a, between
        the baseline (0) and the cGAN (1); interpolated once per a and kept, no file is read again.
        Raises :class:`~img2img.errors.Img2ImgError` subclasses with a message meant for the user.
        """
        seed, k, noise_scale = _check_numbers(seed, k, noise_scale)
        end = seed + 1 if seed_b is None else _check_numbers(seed_b, 1, 1.0)[0]
        models, lead, y, notes = self._prepare(task, image, controls)

        timings: dict[str, float] = {}
        samples: list[Image.Image] = []
        interpolation: list[Image.Image] = []
        baseline = None
        cgan, regression = self._at_realism(task, models.cgan, realism), models.regression
        if cgan is not None and cgan.realism is not None and cgan.realism != 1.0:
            notes.append(f"realism {cgan.realism:g}: the samples come from the generator {cgan.realism:g} of the "
                         "way from the MSE baseline (0) to the cGAN (1)")
        # The two models run back to back on the same y, so their times and answers compare fairly.
        if cgan is not None:
            if not cgan.stochastic:
                notes.append("this cGAN was trained without noise (nz = 0): it gives one answer per input")
            out, timings["cGAN"] = self._timed(lambda: cgan.sample(y, k, seed, noise_scale))
            samples = [tensor_to_pil(t) for t in out]
        if regression is not None:
            out, timings["MSE baseline"] = self._timed(lambda: regression.sample(y))
            baseline = tensor_to_pil(out[0])
        if cgan is None or regression is None:
            notes.append(self.weights_message(task) or "")
        if cgan is not None and cgan.stochastic and interpolation_steps > 1:
            interpolation, timings["interpolation"] = self._walk_frames(cgan, y, k, seed, end, interpolation_steps,
                                                                        noise_scale)
        preview = tensor_to_pil(lead.task.condition_preview(y)[0])
        return GenerateResult(samples, baseline, preview, interpolation, timings, self.device_label, seed,
                              [n for n in notes if n])

    def latent_walk(self, task: str, image: ImageInput, seed: int = 0, seed_b: int | None = None, k: int = 4,
                    noise_scale: float = 1.0, controls: Mapping[str, Any] | None = None,
                    steps: int = INTERPOLATION_STEPS, realism: float = 1.0) -> tuple[list[Image.Image], float]:
        """Only the latent walk of :meth:`generate` (frames, ms): the UI asks for it after the samples are
        shown, because seven more cGAN passes cost more than the samples and the baseline together.

        Empty when the task has no stochastic cGAN. Its first frame equals generate()'s first sample for
        the same arguments.
        """
        seed, k, noise_scale = _check_numbers(seed, k, noise_scale)
        end = seed + 1 if seed_b is None else _check_numbers(seed_b, 1, 1.0)[0]
        models, _, y, _ = self._prepare(task, image, controls)
        cgan = self._at_realism(task, models.cgan, realism)
        if cgan is None or not cgan.stochastic or steps < 2:
            return [], 0.0
        return self._walk_frames(cgan, y, k, seed, end, steps, noise_scale)

    def preview(self, task: str, image: ImageInput, seed: int = 0, controls: Mapping[str, Any] | None = None,
                realism: float = 1.0) -> tuple[Image.Image, float]:
        """One sample (the seed's first) with the generator at the model's own training size, for a live
        preview while drawing: (image at the input's size, ms of the model pass). The lead model is the cGAN at
        ``realism``, or the baseline when only it is there."""
        seed = _check_numbers(seed, 1, 1.0)[0]
        models, lead, y, _ = self._prepare(task, image, controls)
        model = self._at_realism(task, models.cgan, realism) or lead
        quick = copy.copy(model)  # a light view: the same generator, working at the training size
        quick.max_side = min(model.max_side or model.info.train_size, model.info.train_size)
        out, ms = self._timed(lambda: quick.sample(y, 1, seed))
        return tensor_to_pil(out[0]), ms

    def _at_realism(self, task: str, cgan: Translator | None, realism: Any) -> Translator | None:
        """The cGAN at realism ``a`` (itself at 1); an InputError with the reason when the pair does not allow
        another value."""
        try:
            a = check_realism(realism)
        except Img2ImgError as exc:
            raise InputError(str(exc)) from exc
        if cgan is None or a == 1.0:
            return cgan
        problem = self.realism_problem(task)
        if problem:
            raise InputError(f"realism is fixed at 1 for task '{task}': {problem}")
        return cgan.at_realism(a, self.weights_path(task, "regression"))

    def _prepare(self, task: str, image: ImageInput, controls: Mapping[str, Any] | None
                 ) -> tuple[_Models, Translator, torch.Tensor, list[str]]:
        """Read the image and make the one condition both models see (unknown controls are dropped)."""
        known = {c.name for c in self.task(task).app.controls}
        controls = {name: value for name, value in (controls or {}).items() if name in known}
        picture, notes = read_image(image, self.max_pixels)
        models = self.models(task)
        lead = models.cgan or models.regression
        assert lead is not None  # _load refuses a task with neither
        x = pil_to_tensor(picture).unsqueeze(0)
        return models, lead, lead.condition(x, **controls), notes

    def _walk_frames(self, cgan: Translator, y: torch.Tensor, k: int, seed: int, end: int, steps: int,
                     noise_scale: float) -> tuple[list[Image.Image], float]:
        out, ms = self._timed(lambda: cgan.sample(y, z=_walk(cgan, k, seed, end, steps, noise_scale)))
        return [tensor_to_pil(t) for t in out], ms

    def _timed(self, run: Any) -> tuple[torch.Tensor, float]:
        start = time.perf_counter()
        out = run().cpu()  # the copy waits for the device, so the time covers the whole forward pass
        return out, (time.perf_counter() - start) * 1000.0


def _walk(translator: Translator, k: int, seed_a: int, seed_b: int, steps: int, noise_scale: float) -> torch.Tensor:
    """Latents on the line from seed_a's first sample to seed_b's first sample.

    Drawn as a batch of K like :meth:`Translator.sample` does (torch's CPU normal sampler gives different
    numbers for small and large draws), so the walk starts exactly at the gallery's first image.
    """
    nz, device = translator.generator.nz, translator.device
    za = sample_latent(k, nz, make_generator(seed_a), device, scale=noise_scale)[:1]
    zb = sample_latent(k, nz, make_generator(seed_b), device, scale=noise_scale)[:1]
    t = torch.linspace(0, 1, steps, device=device)[:, None]
    return (1 - t) * za + t * zb


def _check_numbers(seed: Any, k: Any, noise_scale: Any) -> tuple[int, int, float]:
    try:
        seed, k, noise_scale = int(seed), int(k), float(noise_scale)
    except (TypeError, ValueError) as exc:
        raise InputError(f"seed and K must be whole numbers and the noise scale a number ({exc})") from exc
    if not 0 <= seed < 2**63:
        raise InputError(f"the seed must be between 0 and 2^63 - 1, got {seed}")
    if not 1 <= k <= MAX_SAMPLES:
        raise InputError(f"K must be between 1 and {MAX_SAMPLES}, got {k}")
    if not 0.0 <= noise_scale <= 10.0 or noise_scale != noise_scale:
        raise InputError(f"the noise scale must be between 0 and 10, got {noise_scale}")
    return seed, k, noise_scale
