"""sketch2photo's hand-drawn-sketch split and its human-style augmentation of training conditions."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from img2img.errors import ConfigError, DataError
from img2img.seeding import make_generator
from img2img_plugins.sketch2photo import SketchCondition, Sketch2PhotoTask
from img2img_plugins.sketch2photo.human_sketches import HELD_OUT_FRACTION, SketchPair, held_out, human_sketch_pairs, link_pairs
from img2img_plugins.sketch2photo.edges import extract_sketch
from img2img_plugins.sketch2photo.sketch_style import HUMAN_STYLE, SketchStyle, apply_style, humanize

# Only the step under test is on: no warp, no breaks, no pen change.
STILL = SketchStyle(interior_drop=0.0, wobble_px=0.0, rotate_deg=0.0, zoom=1.0, scale=0.0, shear=0.0,
                    break_density=0.0, thick_share=0.0, fragment_ink=0.0)


# -- the split -----------------------------------------------------------------------------------------------
def _qmul(root: Path, shoes: int, bags: int) -> Path:
    for category, count in (("shoes", shoes), ("handbags", bags)):
        for kind in ("sketch", "photo_edges"):
            (root / category / kind).mkdir(parents=True)
        for i in range(count):
            for kind in ("sketch", "photo_edges"):
                Image.new("L", (8, 8), 255).save(root / category / kind / f"{i:03d}.png")
    return root


def test_held_out_is_a_quarter_and_disjoint_from_fit(tmp_path):
    root = _qmul(tmp_path, 120, 160)
    Image.new("L", (8, 8), 255).save(root / "shoes" / "sketch" / "999.png")  # no edge map: not a pair
    fit, held, every = (human_sketch_pairs(root, p) for p in ("fit", "held_out", "all"))
    assert {p.key for p in fit}.isdisjoint({p.key for p in held})
    assert sorted(p.key for p in fit + held) == sorted(p.key for p in every) and len(every) == 280
    assert 0.18 < len(held) / len(every) < 0.32
    assert all(held_out(p.category, p.index) for p in held) and not any(held_out(p.category, p.index) for p in fit)
    assert {p.category for p in held} == {"shoes", "handbags"}


def test_the_split_does_not_depend_on_python_hash_salt():
    code = ("from img2img_plugins.sketch2photo.human_sketches import held_out;"
            "print(''.join('1' if held_out(c, i) else '0' for c in ('shoes', 'handbags') for i in range(200)))")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": salt},
                           capture_output=True, text=True, check=True).stdout for salt in ("1", "2")}
    assert len(outs) == 1
    assert "".join("1" if held_out(c, i) else "0" for c in ("shoes", "handbags") for i in range(200)) == outs.pop().strip()


def test_no_pairs_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no sketch/photo_edges pairs"):
        human_sketch_pairs(tmp_path, "fit")
    with pytest.raises(ValueError):
        human_sketch_pairs(tmp_path, "test")


def test_real_sketches_hold_out_at_least_a_fifth(shared_data):
    root = shared_data / "qmul_sketches"
    every, held = human_sketch_pairs(root, "all"), human_sketch_pairs(root, "held_out")
    assert len(every) == 704 and len(held) >= 0.2 * len(every)
    assert HELD_OUT_FRACTION >= 0.2


# -- humanize --------------------------------------------------------------------------------------------------
def _drawing(size: int = 128) -> torch.Tensor:
    """A box outline (the object) with a short seam deep inside it and a speck far outside, ink -1."""
    ink = torch.zeros(1, 1, size, size)
    ink[..., 20, 20:108] = ink[..., 107, 20:108] = 1
    ink[..., 20:108, 20] = ink[..., 20:108, 107] = 1
    ink[..., 64, 50:80] = 1  # interior seam
    ink[..., 5, 5:7] = 1  # a 2-px fragment
    return 1 - 2 * ink


def test_humanize_is_binary_and_reproducible_and_varies_with_the_seed():
    sketch = _drawing().repeat(3, 1, 1, 1)
    a = humanize(sketch, make_generator(1))
    assert a.shape == sketch.shape and set(a.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(a, humanize(sketch, make_generator(1)))
    assert not torch.equal(a, humanize(sketch, make_generator(2)))
    assert not torch.equal(a[0], a[1])  # each image of a batch gets its own draw


def test_humanize_draws_the_same_amount_whatever_the_content():
    """Exact resume: the generator's state after a call must not depend on the data."""
    states = []
    for sketch in (_drawing(), torch.ones(1, 1, 128, 128)):
        gen = make_generator(5)
        humanize(sketch, gen)
        states.append(gen.get_state())
    assert torch.equal(*states)


def test_short_fragments_go_and_the_outline_stays():
    out = humanize(_drawing(), make_generator(0), dataclasses.replace(STILL, fragment_ink=9.0))
    ink = out[0, 0] < 0
    assert not ink[5, 5:7].any()
    assert ink[20, 20:108].all() and ink[20:108, 107].all() and ink[64, 50:80].all()


def test_interior_detail_can_go_while_the_outline_stays():
    style = dataclasses.replace(STILL, interior_drop=1.0)
    seams = []
    for seed in range(12):
        ink = humanize(_drawing(), make_generator(seed), style)[0, 0] < 0
        assert ink[20, 20:108].all() and ink[107, 20:108].all() and ink[20:108, 20].all()
        seams.append(int(ink[64, 50:80].sum()))
    assert min(seams) < 30 and max(seams) > 0  # dropped in some draws, kept in others


def test_the_warp_moves_strokes_but_keeps_them_unbroken():
    style = dataclasses.replace(STILL, wobble_px=4.0, rotate_deg=4.0)
    out = humanize(_drawing(), make_generator(3), style)
    ink = out[0, 0] < 0
    assert not torch.equal(out, _drawing())
    # Every column the top edge spans still has ink near the top: the line bends, it does not break.
    assert all(ink[8:34, c].any() for c in range(30, 98))


def test_zoom_enlarges_breaks_cut_and_the_pen_widens():
    base = humanize(_drawing(), make_generator(0), STILL)
    assert torch.equal(base, _drawing())  # everything off: nothing changes
    zoomed = humanize(_drawing(), make_generator(0), dataclasses.replace(STILL, zoom=1.2)) < 0
    cols = zoomed[0, 0].any(dim=0).nonzero().flatten()
    assert int(cols[-1] - cols[0]) > 87 * 1.15
    broken = humanize(_drawing(), make_generator(0), dataclasses.replace(STILL, break_density=0.05))
    ink = lambda t: int((t < 0).sum())  # noqa: E731
    assert ink(broken) < ink(base) or ink(humanize(_drawing(), make_generator(1),
                                                   dataclasses.replace(STILL, break_density=0.05))) < ink(base)
    thick = humanize(_drawing(), make_generator(0), dataclasses.replace(STILL, thick_share=1.0, thick_px=4.0))
    assert ink(thick) > 1.8 * ink(base)


def test_apply_style_machine_is_identity_and_mixed_keeps_some_clean():
    sketch = _drawing().repeat(16, 1, 1, 1)
    assert torch.equal(apply_style(sketch, make_generator(0), "machine"), sketch)
    mixed = apply_style(sketch, make_generator(0), "mixed")
    clean = [bool(torch.equal(mixed[i], sketch[i])) for i in range(16)]
    assert 0 < sum(clean) < 16
    with pytest.raises(ValueError):
        apply_style(sketch, make_generator(0), "pencil")


# -- the task option -----------------------------------------------------------------------------------------
def _photos(n: int = 2, size: int = 64) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    shape = (((xx / 0.7) ** 2 + (yy / 0.4) ** 2) < 1).float()
    return (0.8 - 1.4 * shape).expand(n, 3, -1, -1).clone()


def test_sketch_style_option_is_checked_and_defaults_to_mixed():
    task = Sketch2PhotoTask()
    assert task.options["sketch_style"] == "mixed"
    with pytest.raises(ConfigError, match="sketch_style"):
        task.configure(sketch_style="pencil")


def test_make_condition_applies_the_style_and_eval_conditions_stay_clean():
    photos = _photos()
    machine = Sketch2PhotoTask().configure(sketch_style="machine")
    human = Sketch2PhotoTask().configure(sketch_style="human")
    plain = extract_sketch(photos, make_generator(4), method="mixed", augment=True)
    assert torch.equal(machine.make_condition(photos, make_generator(4)), plain)
    assert not torch.equal(human.make_condition(photos, make_generator(4)), plain)
    assert torch.equal(human.make_eval_condition(photos, ["a", "b"]), machine.make_eval_condition(photos, ["a", "b"]))


class _Pairs(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 3

    def __getitem__(self, item):
        index = item[0] if isinstance(item, tuple) else item
        return {"x": _photos(1, 128)[0], "y": _drawing()[0].expand(3, -1, -1), "key": f"p{index}"}


def test_paired_conditions_get_the_style_in_training_only():
    clean = SketchCondition(_Pairs())[(0, 7)]["y"]
    styled = SketchCondition(_Pairs(), style="human")
    assert torch.equal(styled[(0, 7)]["y"], styled[(0, 7)]["y"])  # the item's seed fixes it: exact resume
    assert not torch.equal(styled[(0, 7)]["y"], clean)
    assert not torch.equal(styled[(0, 7)]["y"], styled[(0, 8)]["y"])


def test_paired_validation_data_is_not_styled(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        sketch = np.full((32, 32, 3), 255, np.uint8)
        sketch[8:24, 10] = 0
        photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([sketch, photo], axis=1)).save(folder / f"{i}.png")
    task = Sketch2PhotoTask().configure(sketch_style="human")
    assert task.build_dataset(folder, "train", 32, 0.3).style == "human"
    assert task.build_dataset(folder, "val", 32, 0.3).style == "machine"



# -- pairs and photos together -------------------------------------------------------------------------------
def _aligned(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        sketch = np.full((32, 32, 3), 255, np.uint8)
        sketch[6:26, 8 + i % 5] = 0
        photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([sketch, photo], axis=1)).save(folder / f"pair{i:02d}.png")
    return folder


def _photo_folder(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        image = np.full((40, 40, 3), 230, np.uint8)
        image[10 + i % 4 : 30, 8:32] = 40
        Image.fromarray(image).save(folder / f"shoe{i:02d}.jpg")
    return folder


def test_pairs_and_photos_mix_with_sketches_extracted_for_the_photos(tmp_path):
    pairs, photos = _aligned(tmp_path / "pairs", 10), _photo_folder(tmp_path / "photos", 10)
    task = Sketch2PhotoTask()
    train = task.build_datasets([pairs, photos], "train", 32, 0.2)
    items = [train[(i, 100 + i)] for i in range(len(train))]
    assert all(it["y"].shape == (1, 32, 32) and set(it["y"].unique().tolist()) <= {-1.0, 1.0} for it in items)
    last = len(train) - 1
    assert torch.equal(train[(last, 3)]["y"], train[(last, 3)]["y"])
    val = task.build_datasets([pairs, photos], "val", 32, 0.2)
    photo_val = task.build_dataset(photos, "val", 32, 0.2)
    tail = val[len(val) - 1]
    assert tail["key"] == photo_val[len(photo_val) - 1]["key"]
    assert torch.equal(tail["y"], task.make_eval_condition(tail["x"][None], [tail["key"]])[0])


def test_a_tiny_run_trains_on_pairs_and_photos(tmp_path, host):
    from conftest import tiny_config
    from img2img.engine.trainer import Trainer

    pairs, photos = _aligned(tmp_path / "pairs", 10), _photo_folder(tmp_path / "photos", 10)
    cfg = tiny_config(task="sketch2photo", steps=2, checkpoint_every=2, data=[str(pairs), str(photos)])
    assert Trainer(cfg, host.get("sketch2photo"), tmp_path / "run", progress=False).fit().is_file()


def test_link_pairs_links_one_kind_by_shared_name_and_never_replaces(tmp_path):
    pairs = []
    for i in (3, 12):
        sketch, edges = tmp_path / f"s{i}.png", tmp_path / f"e{i}.png"
        sketch.write_bytes(b"s"), edges.write_bytes(b"e")
        pairs.append(SketchPair("shoes", i, sketch, edges))
    assert link_pairs(pairs, tmp_path / "edges", "photo_edges") == 2
    assert (tmp_path / "edges/shoes_012.png").resolve() == (tmp_path / "e12.png").resolve()
    (tmp_path / "sketches").mkdir()
    (tmp_path / "sketches/shoes_003.png").write_bytes(b"user's file")
    assert link_pairs(pairs, tmp_path / "sketches") == 1  # the existing file is kept as it was
    assert (tmp_path / "sketches/shoes_003.png").read_bytes() == b"user's file"
    assert (tmp_path / "sketches/shoes_012.png").read_bytes() == b"s"
