"""The embedded procedural scenes: deterministic, varied and structured like landscapes."""

from __future__ import annotations

import pytest
import torch

from img2img.data.procedural import VAL_SEED_OFFSET, ProceduralScenes, render_scene
from img2img.errors import ConfigError


def test_same_seed_same_scene() -> None:
    assert torch.equal(render_scene(5, 32, 32), render_scene(5, 32, 32))


def test_different_seeds_differ() -> None:
    scenes = [render_scene(seed, 32, 32) for seed in range(6)]
    for i in range(len(scenes)):
        for j in range(i + 1, len(scenes)):
            assert (scenes[i] - scenes[j]).abs().mean() > 0.01


def test_range_and_non_square_sizes() -> None:
    for height, width in ((24, 56), (48, 16), (1, 1), (7, 5)):
        scene = render_scene(3, height, width)
        assert scene.shape == (3, height, width)
        assert scene.min() >= 0 and scene.max() <= 1 and torch.isfinite(scene).all()


def test_scenes_have_content_and_vertical_structure() -> None:
    for seed in range(8):
        scene = render_scene(seed, 48, 48)
        assert scene.std() > 0.05, f"scene {seed} is nearly flat"
        top, bottom = scene[:, :8].mean(dim=(1, 2)), scene[:, -8:].mean(dim=(1, 2))
        assert (top - bottom).abs().max() > 0.05, f"scene {seed}: sky and ground look alike"


def test_dataset_splits_and_keys() -> None:
    train, val = ProceduralScenes("train", 16), ProceduralScenes("val", 16, train=False)
    assert len(train) == 20_000 and len(val) == 500
    assert train[42]["key"] == "scene-000042"
    assert val[0]["key"] == f"scene-{VAL_SEED_OFFSET:06d}"
    assert len(ProceduralScenes("train", 16, length=3)) == 3


def test_items_shape_range_and_seeded_jitter() -> None:
    ds = ProceduralScenes("train", 16, train=True, length=4)
    item = ds[(1, 123)]
    assert item["x"].shape == (3, 16, 16) and item["x"].min() >= -1 and item["x"].max() <= 1
    assert torch.equal(item["x"], ds[(1, 123)]["x"])
    assert len({ds[(1, seed)]["x"].numpy().tobytes() for seed in range(6)}) > 1
    evaluation = ProceduralScenes("val", 16, train=False, length=2)
    assert torch.equal(evaluation[1]["x"], evaluation[1]["x"])
    assert torch.equal(evaluation[1]["x"], render_scene(VAL_SEED_OFFSET + 1, 16, 16) * 2 - 1)


def test_native_size_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="no native size.*--size N"):
        ProceduralScenes(split="val", size=0, train=False)
