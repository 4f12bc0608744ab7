"""The built-in tasks' own behaviour: masks, conditions, input preparation, data layouts."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import img2img
from img2img.errors import ConfigError, Img2ImgError
from img2img.seeding import make_generator

from img2img_plugins.sketch2photo import detect_direction, detect_layout, whiteness  # noqa: I001
from img2img_plugins.uncrop import edge_fill, fill_lattice, fill_psnr, mirror_fill, outpaint_masks


# -- uncrop ----------------------------------------------------------------------------------------
def test_palette_masks_cover_exactly_one_half():
    masks = outpaint_masks(64, 32, 48, make_generator(0), kind="palette")
    assert torch.allclose(masks.mean(dim=(1, 2, 3)), torch.full((64,), 0.5))
    # one side only: the mask is a half-plane touching exactly one border
    for m in masks[:, 0]:
        touches = [bool(m[:, 0].all()), bool(m[:, -1].all()), bool(m[0].all()), bool(m[-1].all())]
        assert sum(touches) == 1


def test_band_masks_are_4_to_25_percent_per_side_and_never_empty():
    masks = outpaint_masks(256, 100, 100, make_generator(1), kind="bands")
    assert (masks.sum(dim=(1, 2, 3)) > 0).all()
    left = masks[:, 0, 50, :].sum(dim=1)  # mask width on the left edge row (plus any right band)
    assert left.max() <= 50 and masks.mean() < 0.45


def test_uncrop_condition_compose_and_eval_determinism(host):
    task = host.get("uncrop").configure(fill="grey")
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    y = task.make_condition(x, make_generator(0))
    assert y.shape == (3, 4, 32, 32)
    mask = y[:, 3:]
    assert torch.equal(y[:, :3] * mask, torch.zeros_like(y[:, :3]))  # the unknown region is blanked
    out = task.compose(torch.zeros_like(x), y)
    assert torch.equal(out * (1 - mask), x * (1 - mask))  # known pixels survive untouched
    a = task.make_eval_condition(x, ["a.jpg", "b.jpg", "c.jpg"])
    b = task.make_eval_condition(x, ["a.jpg", "b.jpg", "c.jpg"])
    assert torch.equal(a, b)


def test_uncrop_prepare_input_grows_the_canvas(host):
    task = host.get("uncrop")
    image = torch.rand(1, 3, 20, 40) * 2 - 1
    y = task.prepare_input(image, sides="left+right", amount=0.25)
    assert y.shape == (1, 4, 20, 60)
    assert y[0, 3, :, :10].eq(1).all() and y[0, 3, :, 10:50].eq(0).all() and y[0, 3, :, 50:].eq(1).all()
    with pytest.raises(ConfigError, match="sides"):
        task.prepare_input(image, sides="diagonal")


def test_uncrop_fill_psnr_scores_only_the_generated_band(host):
    task = host.get("uncrop")
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    y = task.make_eval_condition(real, ["a", "b"])
    perfect_fill = task.compose(real, y)
    assert torch.all(fill_psnr(perfect_fill, real, y) == 100.0)
    grey_fill = task.compose(torch.zeros_like(real), y)
    band = y[:, 3:4].expand_as(real).bool()
    expected = torch.stack([-10 * torch.log10(((grey_fill[i] - real[i])[band[i]] / 2).pow(2).mean()) for i in range(2)])
    assert torch.allclose(fill_psnr(grey_fill, real, y), expected, atol=1e-4)
    # Whole-image PSNR of the same output is far higher: the copied photo is error-free.
    whole = -10 * torch.log10(((grey_fill - real) / 2).pow(2).flatten(1).mean(dim=1))
    assert torch.all(whole > fill_psnr(grey_fill, real, y) + 3)
    assert set(task.metrics()) == {"fill_psnr", "fill_lattice"}


def test_uncrop_fill_lattice_scores_spots_every_16_px_not_texture(host):
    task = host.get("uncrop")
    torch.manual_seed(0)
    # A "photo" with smooth structure and fine random texture, its right half to be filled.
    rows = torch.linspace(-1, 1, 128)
    real = (0.5 * rows[None, None, :, None] * rows[None, None, None, :] + 0.2 * torch.randn(2, 1, 128, 128))
    real = real.expand(2, 3, 128, 128).clamp(-1, 1)
    y = task.configure(mask="palette").make_eval_condition(real, ["a", "b"])
    assert torch.allclose(fill_lattice(real, real, y), torch.zeros(2), atol=1e-6)  # the photo itself: 0
    texture = task.compose(0.2 * torch.randn(2, 3, 128, 128), y)  # other random texture: no excess period
    assert float(fill_lattice(texture, real, y).abs().max()) < 0.1
    # Round 3's failure: a lattice of spots with a period of 16 px over a flat fill.
    spot = torch.zeros(16, 16)
    spot[6:10, 6:10] = 0.6
    lattice = task.compose(spot.repeat(8, 8).expand(2, 3, 128, 128) - 0.3, y)
    assert float(fill_lattice(lattice, real, y).min()) > 0.5
    blank = task.compose(torch.zeros_like(real), y)  # a flat fill has no detail to correlate: not a lattice
    assert float(fill_lattice(blank, real, y).abs().max()) < 0.1


def test_uncrop_options_are_validated(host):
    with pytest.raises(ConfigError, match="no option"):
        host.get("uncrop").configure(colour="red")
    assert host.get("uncrop").configure(mask="bands").options["mask"] == "bands"
    for bad in ("lots", 0.9, float("nan")):
        with pytest.raises(ConfigError, match="zoom must be"):
            host.get("uncrop").configure(zoom=bad)


def test_uncrop_mirror_fill_continues_each_row_and_column_across_the_border(host):
    photo = torch.rand(1, 3, 20, 30) * 2 - 1
    task = host.get("uncrop").configure(fill="mirror")
    y = task.generator_input(task.prepare_input(photo, sides="right", amount=0.5))  # 20 x 45, right 15 unknown
    assert torch.equal(y[0, :3, :, :30], photo[0])  # the known pixels untouched
    # the user's condition stays grey: the model's fill is made once, for the generator, at its size
    assert torch.equal(task.prepare_input(photo, sides="right", amount=0.5)[0, :3, :, 30:], torch.zeros(3, 20, 15))
    assert torch.equal(y[0, :3, :, 30:], photo[0, :, :, 15:].flip(-1))  # each row mirrored across the border
    assert torch.equal(task.compose(torch.zeros(1, 3, 20, 45), y)[..., :30], photo)
    # every side and its corners; a band wider than the known part reflects back and forth
    y = task.generator_input(task.prepare_input(photo, sides="all", amount=0.25))  # 30 x 46
    assert torch.equal(y[0, :3, :5, 8:38], photo[0, :, :5].flip(-2))
    assert torch.equal(y[0, :3, :5, :8], photo[0, :, :5, :8].flip(-2, -1))
    row = torch.full((1, 1, 1, 14), 9.0)
    mask = torch.ones_like(row)
    mask[..., 5:9] = 0
    row[..., 5:9] = torch.tensor([0.0, 1.0, 2.0, 3.0])
    assert mirror_fill(row, mask)[0, 0, 0].tolist() == [3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]
    assert torch.equal(mirror_fill(photo, torch.ones(1, 1, 20, 30)), photo)  # nothing known: unchanged
    # a batch: each image mirrored across its own rectangle, as when filled alone
    batch, masks = torch.rand(3, 3, 20, 30), torch.ones(3, 1, 20, 30)
    masks[0, :, 2:15, 4:30] = 0
    masks[1, :, :, :11] = 0
    alone = torch.cat([mirror_fill(batch[i:i + 1], masks[i:i + 1]) for i in range(3)])
    assert torch.equal(mirror_fill(batch, masks), alone)
    assert torch.equal(alone[1, :, :, 11:22], batch[1, :, :, :11].flip(-1)) and torch.equal(alone[2], batch[2])
    # training conditions and resized ones are filled the same way, and the mask stays binary
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    y = task.make_condition(x, make_generator(0))
    assert torch.equal(y[:, :3], mirror_fill(x * (1 - y[:, 3:]), y[:, 3:]))
    small = task.resize_condition(task.generator_input(task.prepare_input(photo, sides="left", amount=0.4)), (10, 21))
    assert set(small[:, 3].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(small[:, :3], mirror_fill(small[:, :3], small[:, 3:]))
    with pytest.raises(ConfigError, match="fill must be"):
        host.get("uncrop").configure(fill="noise")
    assert host.get("uncrop").options["fill"] == "edge"  # the recipe's fill

def test_uncrop_edge_fill_carries_each_border_colour_outward_without_copying_objects(host):
    # a scene of horizontal bands with a bright object touching the right border
    photo = torch.linspace(-1, 1, 64)[:, None].expand(64, 64).clone()[None, None].expand(1, 3, 64, 64).clone()
    photo[:, :, 20:30, 40:64] = 1.0
    task = host.get("uncrop").configure(fill="edge")
    y = task.generator_input(task.prepare_input(photo, sides="right", amount=0.5))  # 64 x 96, right 32 unknown
    assert torch.equal(y[0, :3, :, :64], photo[0]) and torch.equal(y[:, 3:, :, 64:], torch.ones(1, 1, 64, 32))
    fill = y[0, 0, :, 64:]
    assert torch.allclose(fill, fill[:, :1].expand(64, 32))  # each row one colour: the band goes on at its height
    assert (fill[:, 0].diff() >= -0.2).sum() > 60 and fill[5, 0] < -0.6 < 0.6 < fill[60, 0]
    assert fill[25, 0] > 0.5 and fill[45, 0] < fill[25, 0] - 0.2  # the object's colour, softened, at its rows only
    # the unknown grey never leaks in: the same fill whatever the unknown region held before
    blank = task.generator_input(task.prepare_input(photo, sides="right", amount=0.5))
    noisy = blank.clone()
    noisy[:, :3, :, 64:] = torch.rand(1, 3, 64, 32)
    assert torch.allclose(edge_fill(noisy[:, :3], noisy[:, 3:]), edge_fill(blank[:, :3], blank[:, 3:]))
    # a corner takes the (softened) colour of the photo's corner; a batch is filled image by image
    y = task.generator_input(task.prepare_input(photo, sides="all", amount=0.25))
    assert torch.allclose(y[0, :3, :16, :16], y[0, :3, :1, :1].expand(3, 16, 16)) and y[0, 0, 0, 0] < -0.8
    batch, masks = torch.rand(2, 3, 20, 30), torch.ones(2, 1, 20, 30)
    masks[0, :, 2:15, 4:30], masks[1, :, :, :11] = 0, 0
    alone = torch.cat([edge_fill(batch[i:i + 1], masks[i:i + 1]) for i in range(2)])
    assert torch.allclose(edge_fill(batch, masks), alone)
    # a large photo (blurred at a reduced scale) gets the same bands: a vertical ramp continues row by row
    ramp = torch.linspace(-1, 1, 600)[:, None].expand(600, 400)[None, None].expand(1, 3, 600, 400)
    y = task.generator_input(task.prepare_input(ramp, sides="right", amount=0.5))
    assert (y[0, :3, 30:570, 400:] - ramp[0, :, 30:570, -1:]).abs().max() < 0.02



def test_uncrop_zoom_scales_the_training_crops_only(host, tmp_path):
    Image.new("RGB", (96, 64), (90, 120, 30)).save(tmp_path / "photo.png")
    task = host.get("uncrop")
    assert task.options["zoom"] == 1.0
    zoomed = task.configure(zoom=2.5)
    assert zoomed.build_dataset(tmp_path, "train", 16, val_fraction=0.0).transform.zoom == 2.5
    assert zoomed.build_dataset(tmp_path, "val", 16, val_fraction=1.0).transform.zoom == 1.0
    assert task.build_dataset(tmp_path, "train", 16, val_fraction=0.0).transform.zoom == 1.0


# -- restore ---------------------------------------------------------------------------------------
def test_restore_condition_degrades_and_switches_turn_it_off(host):
    task = host.get("restore")
    x = torch.rand(2, 3, 48, 48) * 2 - 1
    y = task.make_condition(x, make_generator(0))
    assert y.shape == x.shape and (y - x).abs().mean() > 0.01
    off = task.configure(blur=False, resize=False, noise=False, jpeg=False, second_order=False)
    assert torch.allclose(off.make_condition(x, make_generator(0)), x, atol=1e-5)


def test_restore_mixed_severity_leaves_some_photos_clean_and_damages_the_rest(host):
    task = host.get("restore").configure(severity="mixed")
    x = torch.rand(64, 3, 24, 24) * 2 - 1
    y = task.make_condition(x, make_generator(0))
    untouched = (y - x).abs().flatten(1).amax(1) == 0
    # MIX: 15% clean; 64 draws land between 2 and 25 clean photos with overwhelming probability.
    assert 2 <= int(untouched.sum()) <= 25 and (y[~untouched] - x[~untouched]).abs().mean() > 0.01
    assert torch.equal(y, task.make_condition(x, make_generator(0)))  # seeded: the same damage every time
    assert torch.equal(host.get("restore").configure(severity="clean").make_condition(x, make_generator(0)), x)


def test_restore_clean_share_sets_how_many_mixed_photos_stay_clean(host):
    x = torch.rand(400, 3, 16, 16) * 2 - 1

    def clean(share):
        task = host.get("restore").configure(severity="mixed", **({} if share is None else {"clean_share": share}))
        y = task.make_condition(x, make_generator(1))
        return int(((y - x).abs().flatten(1).amax(1) == 0).sum())

    assert clean(None) == clean(0.15)  # the default is the old fixed mix, draw for draw
    assert clean(0) == 0 and 30 <= clean(0.15) <= 90 and 140 <= clean(0.5) <= 260
    mix = host.get("restore").configure(severity="mixed", clean_share=0.5)._mix()
    assert sum(mix.values()) == pytest.approx(1) and mix["medium"] / mix["light"] == pytest.approx(50 / 35)
    for bad in (1.0, -0.1, "0.3", True):
        with pytest.raises(ConfigError, match="clean_share must be a number in"):
            host.get("restore").configure(severity="mixed", clean_share=bad)


def test_restore_severity_option_is_validated(host):
    with pytest.raises(ConfigError, match="severity must be one of clean, light, medium, heavy, mixed"):
        host.get("restore").configure(severity="extreme")
    (control,) = [c for c in host.get("restore").app.controls if c.name == "severity"]
    assert control.choices == ["light", "medium", "heavy"]  # the app's round trip damages; clean/mixed are for training
    with pytest.raises(ConfigError, match="severity must be one of light, medium, heavy"):
        host.get("restore").prepare_input(x := torch.zeros(1, 3, 8, 8), degrade_first=True, severity="mixed")
    assert torch.equal(host.get("restore").prepare_input(x, severity="mixed"), x)  # no damage asked: untouched


def test_restore_trains_on_crops_at_the_photos_own_scale_when_told(host, tmp_path):
    # A 96 x 64 photo, 16 px crops: native crops are unscaled windows of it (the flat 8 px tiles stay 8 px);
    # the pix2pix way shrinks the whole photo to about 18 px first, so a crop spans most of it.
    tiles = torch.arange(12 * 8).reshape(8, 12).repeat_interleave(8, 0).repeat_interleave(8, 1) % 251
    Image.fromarray(tiles.to(torch.uint8).unsqueeze(-1).expand(-1, -1, 3).numpy()).save(tmp_path / "photo.png")
    assert host.get("restore").options["crops"] == "rescaled"
    for split in ("train", "val"):
        native = host.get("restore").configure(crops="native").build_dataset(
            tmp_path, split, 16, val_fraction=0.0 if split == "train" else 1.0)
        rescaled = host.get("restore").build_dataset(tmp_path, split, 16, val_fraction=0.0 if split == "train" else 1.0)
        distinct = lambda dataset: len(torch.unique(dataset[(0, 3)]["x"][0]))  # noqa: E731
        assert distinct(native) <= 9  # at most 3 x 3 tiles of 8 px in a 16 px window
        assert distinct(rescaled) > 20
        # auto: this photo (shorter side 64 > 2 x 16) is cut natively; at 32 px crops (64 = 2 x 32) it is shrunk.
        auto = host.get("restore").configure(crops="auto")
        assert distinct(auto.build_dataset(tmp_path, split, 16, val_fraction=0.0 if split == "train" else 1.0)) <= 9
        assert len(torch.unique(auto.build_dataset(tmp_path, split, 32, val_fraction=0.0 if split == "train" else 1.0)
                                [(0, 3)]["x"][0])) > 25  # a native 32 px window holds at most 5 x 5 tiles
    with pytest.raises(ConfigError, match="crops must be native, rescaled or auto"):
        host.get("restore").configure(crops="huge")


def test_restore_supplies_a_cgan_only_gradient_loss_and_an_overshoot_term_off_by_default(host):
    gradient, overshoot = host.get("restore").loss_terms()
    assert gradient.name == "gradient" and gradient.models == ("cgan",) and gradient.weight > 0
    assert overshoot.name == "overshoot" and overshoot.models == ("cgan",) and overshoot.weight == 0
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert gradient.fn(x, x, x).item() == 0.0 and gradient.fn(x.flip(-1), x, x).item() > 0
    assert overshoot.fn(x, x, x).item() == 0.0


def _edge(width=32):
    """A vertical edge from -0.5 to 0.5 over 3 px (a cloud against the sky), (1, 3, 16, width)."""
    row = torch.full((width,), -0.5)
    row[width // 2 - 2 :] = 0.5
    row[width // 2 - 2 : width // 2 + 1] = torch.tensor([-0.25, 0.0, 0.25])
    return row.expand(1, 3, 16, width).clone()


def test_restore_overshoot_charges_a_sharpening_ring_not_detail_inside_the_local_range(host):
    from img2img_plugins.restore import overshoot, overshoot_loss

    photo = _edge()
    blurred = torch.nn.functional.avg_pool2d(photo, (1, 9), stride=1, padding=(0, 4), count_include_pad=False)
    ringing = photo + (photo - blurred)  # unsharp masking: a dark and a bright band along the edge
    assert ringing.min() < -0.7 and ringing.max() > 0.7
    moved = photo.roll(1, dims=-1)  # the edge a pixel off: inside the 5 px neighbourhood's range
    moved[..., 0] = photo[..., 0]
    scores = overshoot(torch.cat([photo, moved, ringing]), photo.expand(3, -1, -1, -1))
    assert scores.shape == (3,) and scores[0] == 0 and scores[1] == 0 and scores[2] > 1  # x 1000
    noisy_sky = torch.zeros(1, 3, 16, 16) + 0.05 * torch.randn(1, 3, 16, 16)
    assert overshoot_loss(noisy_sky, torch.zeros(1, 3, 16, 16), None) > 0.005  # noise on a flat area: out of range
    assert host.get("restore").metrics() == {"overshoot": overshoot}


def test_restore_demo_round_trip_input(host):
    task = host.get("restore")
    image = torch.rand(1, 3, 40, 40) * 2 - 1
    assert torch.equal(task.prepare_input(image), image)
    degraded = task.prepare_input(image, degrade_first=True, severity="heavy")
    assert degraded.shape == image.shape and not torch.equal(degraded, image)


# -- sketch2photo ------------------------------------------------------------------------------------
def _aligned_pairs(folder, n=4, sketch_left=False):
    folder.mkdir()
    for i in range(n):
        canvas = Image.new("RGB", (64, 32), "white")
        photo = Image.new("RGB", (32, 32), (120 + i, 60, 30))
        canvas.paste(photo, (32, 0) if sketch_left else (0, 0))
        canvas.save(folder / f"{i}_AB.jpg")


def test_sketch2photo_detects_aligned_layout_and_direction(tmp_path):
    _aligned_pairs(tmp_path / "photo_left")
    _aligned_pairs(tmp_path / "sketch_left", sketch_left=True)
    assert detect_layout(tmp_path / "photo_left") == "aligned"
    assert detect_direction(tmp_path / "photo_left", "aligned") == "BtoA"
    assert detect_direction(tmp_path / "sketch_left", "aligned") == "AtoB"
    assert whiteness(torch.ones(3, 8, 8)) == 1.0 and whiteness(-torch.ones(3, 8, 8)) == 0.0


def test_sketch2photo_paired_items_have_binary_one_channel_sketches(host, tmp_path):
    _aligned_pairs(tmp_path / "pairs", n=6)
    task = host.get("sketch2photo")
    ds = task.build_dataset(tmp_path / "pairs", "train", 32, val_fraction=0.0)
    item = ds[(0, 0)]
    assert item["y"].shape == (1, 32, 32) and item["x"].shape == (3, 32, 32)
    assert set(item["y"].unique().tolist()) <= {-1.0, 1.0}


def test_sketch2photo_photo_folder_extracts_sketches(host, tmp_path):
    (tmp_path / "photos").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40), (30 * i, 100, 200)).save(tmp_path / "photos" / f"{i}.png")
    task = host.get("sketch2photo")
    assert detect_layout(tmp_path / "photos") == "photos"
    ds = task.build_dataset(tmp_path / "photos", "train", 32, val_fraction=0.0)
    x = torch.stack([ds[i]["x"] for i in range(3)])
    y = task.make_condition(x, make_generator(0))
    assert y.shape == (3, 1, 32, 32)


def test_blank_sketch_is_a_clear_error(host):
    with pytest.raises(Img2ImgError, match="sketch is empty"):
        host.get("sketch2photo").prepare_input(torch.ones(1, 3, 64, 64))


def test_example_inputs_are_made_by_code(host):
    for name in ("sketch2photo", "restore", "uncrop"):
        examples = host.get(name).examples()
        assert examples and all(e.dim() == 4 and e.shape[1] == 3 and e.min() >= -1 and e.max() <= 1 for e in examples)


def test_restore_examples_come_damaged(host):
    # Clicking an example in the app should show a restoration, so the examples are degraded scenes.
    from img2img.metrics import sharpness

    task = host.get("restore")
    damaged, clean = task.examples(), img2img.Task.examples(task)
    assert len(damaged) == len(clean)
    for d, c in zip(damaged, clean):
        assert d.shape == c.shape and (d - c).abs().mean() > 0.02
        assert sharpness(d) < sharpness(c)  # blur and resizing take detail away; noise does not give it back
    assert all(torch.equal(a, b) for a, b in zip(damaged, task.examples()))  # the same damage every time


@pytest.mark.parametrize("name", ["sketch2photo", "restore", "uncrop", "facades", "paired"])
def test_every_builtin_option_is_explained(host, name):
    task = host.get(name)
    assert set(task.option_help) == set(task.default_options), "img2img tasks NAME shows one line per option"
