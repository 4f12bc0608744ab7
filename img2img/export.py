"""ONNX export of a generator and an ONNX Runtime stand-in for it (``img2img export``, ``Translator``).

The exported graph takes ``y`` (B, C, H, W) and, for a cGAN, the latent ``z`` (B, nz); batch, height and
width are dynamic. The generator pads its input to a multiple of ``2**depth`` (32 for the lite0 encoder, whose
config stores depth 5) and crops back; the graph does the same with shape arithmetic recorded as ONNX ops, so one
file serves every image size. Either generator (``generator.encoder`` unet or lite0) exports the same way: both
have ``multiple``, ``nz``, ``config`` and ``run_padded``.

Why the TorchScript exporter (``dynamo=False``) and not torch.export: with symbolic H and W, torch.export
cannot prove that the decoder's upsampled map has the size of its skip connection (a guard
``Eq(s68, s17)`` on floor-halved padded sizes), and refuses any range of sizes. The TorchScript exporter
records the arithmetic as ops and needs no proof. It is deprecated in torch but still shipped (2.13).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .atomic import atomic_write
from .cache import cache_dir
from .config import GeneratorConfig, generator_config_from_dict
from .errors import ExportError, WeightsError
from .models.unet import _pad_to_multiple, fold_resize_upsampling
from .weights import FORMAT, WeightsInfo

ONNX_FORMAT = FORMAT  # the same metadata keys as a .safetensors file, stored as ONNX metadata_props
OPSET = 17
INSTALL_HINT = "pip install 'img2img[export]'"


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise ExportError(f"ONNX needs the '{module}' package: {INSTALL_HINT}") from exc


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Exportable(nn.Module):
    """The generator's forward with branch-free padding, so the traced graph is valid for every size.

    ``UNetGenerator`` chooses reflect or edge padding and skips zero padding with Python ``if``s on the
    shape; a trace would freeze those choices. Here the pad is always a reflect pad (a zero-width reflect
    pad is a no-op), which is what the generator does for any side longer than ``2**depth / 2``. Smaller
    inputs are padded on the host before the graph runs (:class:`OnnxGenerator`).
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.g = generator

    def forward(self, y: Tensor, z: Tensor | None = None) -> Tensor:
        m = self.g.multiple
        height, width = y.shape[-2], y.shape[-1]
        pad_h, pad_w = (-height) % m, (-width) % m
        top, left = pad_h // 2, pad_w // 2
        h = F.pad(y, (left, pad_w - left, top, pad_h - top), mode="reflect")
        return self.g.run_padded(h, z)[:, :, top : top + height, left : left + width]


def export_onnx(generator: nn.Module, info: WeightsInfo, out: Path, size: int | None = None) -> Path:
    """Write ``generator`` as an ONNX file with dynamic batch/H/W and the weights metadata; atomic."""
    onnx = _require("onnx")
    generator = copy.deepcopy(generator).float().cpu().eval()
    fold_resize_upsampling(generator)  # the same function with 4/9 of the upsampling multiply-adds
    size = size or max(generator.multiple, info.train_size)
    # Trace at a size that needs padding on both axes, so the pad ops are in the graph with traced amounts.
    y = torch.zeros(1, generator.config.in_channels, size + 2, size + 6)
    args: tuple[Tensor, ...] = (y, torch.zeros(1, generator.nz)) if generator.nz else (y,)
    names = ["y", "z"][: len(args)]
    axes = {"y": {0: "batch", 2: "height", 3: "width"}, "x": {0: "batch", 2: "height", 3: "width"}}
    if generator.nz:
        axes["z"] = {0: "batch"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter's deprecation notice, and instance norm "exported with train=True", which
        # is right: track_running_stats=False instance norm always uses the input's statistics.
        warnings.simplefilter("ignore")
        # The wrapper must be in eval mode itself: the exporter restores the module's mode afterwards, and a
        # fresh (training-mode) wrapper would leave the generator in training mode (dropout on).
        torch.onnx.export(_Exportable(generator).eval(), args, buffer, dynamo=False, opset_version=OPSET,
                          input_names=names, output_names=["x"], dynamic_axes=axes)
    model = onnx.load_from_string(buffer.getvalue())
    metadata = {"format": ONNX_FORMAT, "task": info.task, "model": info.model, "train_size": str(info.train_size),
                "step": str(info.step), "generator_config": json.dumps(asdict(generator.config)),
                "task_options": json.dumps(info.task_options), "multiple": str(generator.multiple)}
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return _atomic_write(Path(out), model.SerializeToString())


def _atomic_write(path: Path, data: bytes) -> Path:
    try:
        return atomic_write(path, lambda f: f.write(data))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc


class OnnxGenerator:
    """Runs an exported file with ONNX Runtime behind the generator's call signature ``G(y, z) -> x``.

    Exposes ``nz``, ``config`` and ``multiple`` like :class:`UNetGenerator`, so the Translator, the app's
    latent walk and eval use either one unchanged. Inputs and outputs are CPU float32 tensors.
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        ort = _require("onnxruntime")
        options = ort.SessionOptions()
        # Follow torch's thread setting: the project pins one thread per process on busy small machines.
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Waiting threads sleep instead of spinning: with two threads on this 2-core CPU, spinning made the
        # cGAN + baseline pair at 256 px ~110 ms, sleeping ~43 ms (the same effect as OMP_WAIT_POLICY).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise WeightsError(f"{path} is not a loadable ONNX model ({str(exc).splitlines()[0]})") from exc
        self.path = Path(path)
        self.info = _info_from_metadata(self.session.get_modelmeta().custom_metadata_map, self.path)
        self.config: GeneratorConfig = generator_config_from_dict(self.info.generator)
        self.nz = self.config.nz
        self.multiple = 2 ** int(self.config.depth or 0)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, y: Tensor, z: Tensor | None = None) -> Tensor:
        height, width = y.shape[-2:]
        top = left = 0
        if min(height, width) <= self.multiple // 2:
            # Too short to reflect-pad inside the graph: pad here exactly as UNetGenerator does (edge copies).
            y, (top, left) = _pad_to_multiple(y, self.multiple)
        feed = {"y": y.detach().float().cpu().contiguous().numpy()}
        if "z" in self.inputs:
            z = y.new_zeros((y.shape[0], self.nz)) if z is None else z
            feed["z"] = z.detach().float().cpu().contiguous().numpy()
        out = torch.from_numpy(self.session.run(None, feed)[0])
        return out[:, :, top : top + height, left : left + width]

    def eval(self) -> "OnnxGenerator":
        return self


def _info_from_metadata(meta: dict[str, str], path: Path) -> WeightsInfo:
    if meta.get("format") != ONNX_FORMAT:
        raise WeightsError(f"{path} is not an img2img ONNX export (format {meta.get('format')!r})")
    try:
        return WeightsInfo(task=meta["task"], model=meta["model"], train_size=int(meta["train_size"]),
                           step=int(meta["step"]), generator=json.loads(meta["generator_config"]),
                           task_options=json.loads(meta.get("task_options", "{}")), extra={})
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{path} has broken img2img metadata ({exc})") from exc


def max_abs_diff(generator: nn.Module, onnx_path: Path, shapes: Sequence[tuple[int, int]] = ((96, 160), (130, 70)),
                 seed: int = 0) -> float:
    """Largest |torch - ONNX Runtime| over random inputs of the given (H, W) sizes (batch 2)."""
    runner = OnnxGenerator(onnx_path)
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    generator = generator.float().cpu().eval()
    for height, width in shapes:
        y = torch.rand(2, generator.config.in_channels, height, width, generator=gen) * 2 - 1
        z = torch.randn(2, generator.nz, generator=gen) if generator.nz else None
        with torch.inference_mode():
            expected = generator(y, z)
        worst = max(worst, float((runner(y, z) - expected).abs().max()))
    return worst


def cached_export(weights: Path, generator: nn.Module, info: WeightsInfo) -> Path:
    """The ONNX file for a weights file, exported once and kept in the cache folder (keyed by content)."""
    digest = hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:20]
    path = cache_dir() / "onnx" / f"{info.task}-{info.model}-{digest}-opset{OPSET}-folded.onnx"
    if not path.is_file():
        export_onnx(generator, info, path)
    return path
