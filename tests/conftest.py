from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from img2img.config import TrainConfig  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# One thread per test process: pytest-xdist runs one worker per core, and two OpenMP threads per
# process on a busy 2-core machine made a tiny conv net 100x slower (spin-waiting threads).
torch.set_num_threads(1)


def tiny_config(**overrides) -> TrainConfig:
    """The smallest real configuration: 32 px, ngf 8; trains a step in a few ms."""
    cfg = TrainConfig(task="uncrop", size=32, batch_size=4, steps=4, num_workers=0, log_every=2,
                      sample_every=1000, checkpoint_every=2, keep_checkpoints=2)
    cfg.generator.ngf = 8
    cfg.generator.max_mult = 4
    cfg.discriminator.ndf = 8
    cfg.discriminator.n_layers = 2
    for key, value in overrides.items():
        target = cfg
        *parents, last = key.split("__")
        for p in parents:
            target = getattr(target, p)
        setattr(target, last, value)
    return cfg


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
