"""The `facades` task: the CMP palette (measured on the data), snapping, code-drawn label maps, the dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from img2img.data.io import list_images, load_image
from img2img_plugins.facades import CLASSES, snap_to_palette
from img2img_plugins.facades.palette import PALETTE, PALETTE_HEX, draw_facade
from paired_data import picture, write_aligned

PALETTE_UNIT = torch.tensor(PALETTE, dtype=torch.float32) / 127.5 - 1


def _only_palette_colours(image: torch.Tensor) -> bool:
    colours = image.permute(0, 2, 3, 1).reshape(-1, 3).unique(dim=0)
    return bool(torch.cdist(colours, PALETTE_UNIT).min(dim=1).values.max() < 1e-5)


def test_palette_has_twelve_named_distinct_colours(host):
    assert len(CLASSES) == len(set(CLASSES)) == 12 and len(set(PALETTE)) == 12
    palette = host.get("facades").app.palette
    assert sorted(palette) == sorted(zip(CLASSES, PALETTE_HEX)) and palette[0][0] == "wall"  # wall fills the canvas
    assert host.get("facades").app.input_kind == "paint"


def test_snapping_restores_palette_colours_under_noise():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 12, (1, 24, 24), generator=gen)
    clean = PALETTE_UNIT[labels].permute(0, 3, 1, 2)
    noisy = (clean + 0.08 * torch.randn(clean.shape, generator=gen)).clamp(-1, 1)  # ~10 grey levels of JPEG noise
    assert torch.equal(snap_to_palette(noisy), clean)


def test_user_input_is_snapped_and_resized_without_blending(host):
    task = host.get("facades")
    y = task.prepare_input(torch.rand(1, 3, 40, 40) * 2 - 1)
    assert y.shape == (1, 3, 40, 40) and _only_palette_colours(y)
    assert _only_palette_colours(task.resize_condition(y, (17, 23)))


def test_examples_are_code_drawn_facades(host):
    examples = host.get("facades").examples()
    assert len(examples) >= 3
    for example in examples:
        assert example.shape == (1, 3, 256, 256) and _only_palette_colours(example)
        labels = torch.cdist(example[0].permute(1, 2, 0).reshape(-1, 3), PALETTE_UNIT).argmin(dim=1)
        counts = torch.bincount(labels, minlength=12)
        assert counts.argmax() == CLASSES.index("wall")
        assert counts[CLASSES.index("window")] > 0 and counts[CLASSES.index("door")] > 0
    assert np.array_equal(np.asarray(draw_facade(7)), np.asarray(draw_facade(7)))  # the same every time
    assert not np.array_equal(np.asarray(draw_facade(7)), np.asarray(draw_facade(8)))


def test_dataset_conditions_are_palette_maps_and_photos_untouched(host, tmp_path):
    # pix2pix layout: photo (A) | label map (B); facades learns B -> A.
    maps = [draw_facade(i, 32) for i in range(6)]
    photos = [picture(32, i) for i in range(6)]
    data = write_aligned(tmp_path / "pairs", photos, maps)
    item = host.get("facades").build_dataset(data, "val", 32, 1.0)[0]
    assert _only_palette_colours(item["y"].unsqueeze(0))
    assert not _only_palette_colours(item["x"].unsqueeze(0))


@pytest.mark.shared_data
def test_palette_matches_the_dataset_label_maps(shared_data):
    files = list_images(shared_data / "facades" / "train")[::20]
    maps = [np.asarray(load_image(f))[:, 256:512].astype(np.int16) for f in files]
    # JPEG (with chroma subsampling) smears colours near class edges; inside regions, where a pixel equals its
    # four neighbours, every colour must be one of the twelve.
    flat = []
    for m in maps:
        centre, ok = m[1:-1, 1:-1], np.ones((254, 254), bool)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            ok &= np.abs(m[1 + dy:255 + dy, 1 + dx:255 + dx] - centre).max(axis=2) <= 6
        flat.append(centre[ok])
    pixels = np.concatenate(flat).astype(np.float32)
    distance = np.linalg.norm(pixels[:, None, :] - np.asarray(PALETTE, np.float32)[None], axis=2)
    nearest = distance.argmin(axis=1)
    assert (distance.min(axis=1) < 30).mean() > 0.97
    assert np.bincount(nearest, minlength=12).min() > 0  # every class occurs
    assert np.bincount(nearest).argmax() == CLASSES.index("wall")
