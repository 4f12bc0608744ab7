from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from img2img.config import TrainConfig  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "img2img-colorize"
EXAMPLE_DIST = "img2img-colorize"
# Why the example plugin is not installed ("skip: ..." or "fail: ..."; unset: it is). Set by the controlling
# process before xdist starts its workers, which inherit the environment. Read by tests/test_example_plugin.py.
EXAMPLE_PROBLEM_ENV = "IMG2IMG_TEST_EXAMPLE_PLUGIN_PROBLEM"

# One thread per test process: pytest-xdist runs one worker per core, and two OpenMP threads per
# process on a busy 2-core machine made a tiny conv net 100x slower (spin-waiting threads).
torch.set_num_threads(1)
# The Translator's auto backend caches ONNX exports; keep the suite's out of the user's ~/.cache.
os.environ.setdefault("IMG2IMG_CACHE_DIR", tempfile.mkdtemp(prefix="img2img-test-cache-"))


def tiny_config(**overrides) -> TrainConfig:
    """The smallest real configuration: 32 px, ngf 8, no validation, no LPIPS term; trains a step in a few ms.

    Precision is pinned to fp32: "auto" would mean bf16 on CPUs with native bf16 and fp32 elsewhere, and tests
    that compare numbers must not depend on which CPU kind runs them. bf16 has its own tests (pass
    ``precision="bf16"``), and the ``cpu_bf16`` fixture runs auto-dependent tests as both CPU kinds."""
    cfg = TrainConfig(task="uncrop", size=32, batch_size=4, steps=4, num_workers=0, log_every=2,
                      sample_every=1000, checkpoint_every=2, keep_checkpoints=2, precision="fp32",
                      val_images=0)  # validation (seconds per checkpoint) has its own tests: pass val_images=4
    cfg.generator.ngf = 8
    cfg.generator.max_mult = 4
    cfg.discriminator.ndf = 8
    cfg.discriminator.n_layers = 2
    # The pix2pix recipe: "auto" would load LPIPS and Lite0 wherever the extra is installed (own tests).
    cfg.loss.perceptual_weight = 0.0
    cfg.discriminator.kind = "patch"
    for key, value in overrides.items():
        target = cfg
        *parents, last = key.split("__")
        for p in parents:
            target = getattr(target, p)
        setattr(target, last, value)
    return cfg


@pytest.fixture(params=[False, True], ids=["cpu-without-bf16", "cpu-with-bf16"])
def cpu_bf16(request, monkeypatch) -> bool:
    """Runs a test twice, as on an AVX2-only CPU and as on one with native bf16 (IMG2IMG_CPU_BF16 overrides the
    /proc/cpuinfo reading), so both code paths of precision "auto" are tested whichever kind CI has."""
    from img2img.engine.precision import CPU_BF16_ENV

    monkeypatch.setenv(CPU_BF16_ENV, "1" if request.param else "0")
    return request.param


@pytest.fixture(autouse=True)
def _own_lpips_networks(monkeypatch) -> None:
    """Each test loads its own LPIPS networks: features.lpips shares one per (net, device) while anyone holds it,
    and a network an earlier test left alive would hide a test's missing weights."""
    import weakref

    monkeypatch.setattr(importlib.import_module("img2img.features.lpips"), "_SHARED", weakref.WeakValueDictionary())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (a user's clone has none)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def host():
    from img2img.plugins import load_plugins

    return load_plugins()


class CachedScenes(torch.utils.data.Dataset):
    """A handful of procedural scenes rendered once: a fast, fixed training set for engine tests."""

    _cache: dict[tuple[int, int], list[dict]] = {}

    def __init__(self, size: int = 32, count: int = 16) -> None:
        from img2img.data.procedural import render_scene

        key = (size, count)
        if key not in self._cache:
            self._cache[key] = [{"x": render_scene(i, size, size) * 2 - 1, "key": f"scene-{i}"} for i in range(count)]
        self.items = self._cache[key]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item):
        index = item[0] if isinstance(item, tuple) else item
        return self.items[index]


@pytest.fixture
def cached_uncrop(host):
    """The real uncrop task, with its data swapped for CachedScenes."""
    base = type(host.get("uncrop"))

    class CachedUncrop(base):
        def build_dataset(self, data_dir, split, size, val_fraction=0.1):
            return CachedScenes(size, 16 if split == "train" else 4)

    return CachedUncrop()


# -- the example third-party plugin ------------------------------------------------------------------
def pytest_configure(config) -> None:
    """Install examples/img2img-colorize (editable) before collection.

    It must happen before any test module is collected: tests/test_conformance.py parametrises over the
    registered tasks, and every xdist worker has to collect the same list. Workers are started after the
    controller's pytest_configure, so they see the finished install; they do not install again.
    """
    if not hasattr(config, "workerinput"):
        problem = _install_example_plugin()
        if problem:
            os.environ[EXAMPLE_PROBLEM_ENV] = problem
        else:
            os.environ.pop(EXAMPLE_PROBLEM_ENV, None)
    _make_example_importable()


def _example_installed_here() -> bool:
    """Installed editable from this checkout (so a re-run of the suite costs nothing)."""
    try:
        dist = metadata.distribution(EXAMPLE_DIST)
    except metadata.PackageNotFoundError:
        return False
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    return direct.get("url") == EXAMPLE_PLUGIN.as_uri() and direct.get("dir_info", {}).get("editable", False)


def _install_example_plugin() -> str | None:
    if _example_installed_here():
        return None
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
        return "skip: pip is not available in this environment"
    # Offline on purpose: --no-deps (img2img is already here) and --no-build-isolation (the installed
    # setuptools builds it), so pip never needs an index.
    result = subprocess.run([*pip, "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps",
                             "--no-build-isolation", "-e", str(EXAMPLE_PLUGIN)], capture_output=True, text=True)
    importlib.invalidate_caches()
    if result.returncode != 0:
        return f"fail: pip install -e {EXAMPLE_PLUGIN} failed:\n{result.stdout}{result.stderr}"
    return None


def _make_example_importable() -> None:
    # An editable install works through a .pth file, which Python reads only at start-up: this process
    # started before the install, so it gets the folder on sys.path by hand.
    if not os.environ.get(EXAMPLE_PROBLEM_ENV) and str(EXAMPLE_PLUGIN) not in sys.path:
        try:
            importlib.import_module("img2img_colorize")
        except ImportError:
            sys.path.append(str(EXAMPLE_PLUGIN))
