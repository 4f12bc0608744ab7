"""Unit tests of the loss functions on hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from img2img.config import ADVERSARIAL_LOSSES
from img2img.losses import AdversarialLoss, best_of_pairs, gradient_penalty, l1_loss, l2_loss, mode_seeking_loss, pair_distance, r1_penalty

LOG2 = math.log(2.0)


def _const(value: float, shape: tuple[int, ...] = (2, 1, 3, 3)) -> Tensor:
    return torch.full(shape, value)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_unknown_kind_raises() -> None:
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        AdversarialLoss("vanilla")


def test_out_of_range_label_smoothing_raises() -> None:
    with pytest.raises(ValueError):
        AdversarialLoss("lsgan", label_smoothing=1.0)


def test_default_kind_is_nonsaturating() -> None:
    assert AdversarialLoss().kind == "nonsaturating"


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_bce_discriminator_at_zero_logits_is_two_log_two(kind: str) -> None:
    # D = 1/2 on both: -log(1/2) for the real term plus -log(1 - 1/2) for the fake term.
    loss = AdversarialLoss(kind).discriminator_loss([_const(0.0)], [_const(0.0)])
    assert loss.item() == pytest.approx(2 * LOG2)


def test_bce_discriminator_at_other_logits() -> None:
    # real logit 2: -log sigmoid(2) = softplus(-2); fake logit -1: -log(1 - sigmoid(-1)) = softplus(-1)
    loss = AdversarialLoss("nonsaturating").discriminator_loss(_const(2.0), _const(-1.0))
    assert loss.item() == pytest.approx(_softplus(-2.0) + _softplus(-1.0), rel=1e-6)


@pytest.mark.parametrize(
    ("kind", "logit", "expected"),
    [
        ("minimax", 0.0, -LOG2),  # log(1 - 1/2)
        ("minimax", 3.0, -_softplus(3.0)),  # log(1 - sigmoid(3))
        ("nonsaturating", 0.0, LOG2),  # -log(1/2)
        ("nonsaturating", -3.0, _softplus(3.0)),  # -log sigmoid(-3)
        ("lsgan", 0.25, 0.75**2),
        ("hinge", 0.7, -0.7),
        ("wgan-gp", -1.5, 1.5),
    ],
)
def test_generator_loss_values(kind: str, logit: float, expected: float) -> None:
    loss = AdversarialLoss(kind).generator_loss([_const(logit)])
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("kind", "real", "fake", "expected"),
    [
        ("lsgan", 0.5, 0.25, 0.5**2 + 0.25**2),
        ("hinge", 0.5, -0.25, 0.5 + 0.75),  # relu(1 - 0.5) + relu(1 - 0.25)
        ("hinge", 2.0, -3.0, 0.0),  # both beyond the margin
        ("wgan-gp", 2.0, 0.5, 0.5 - 2.0),
    ],
)
def test_discriminator_loss_values(kind: str, real: float, fake: float, expected: float) -> None:
    loss = AdversarialLoss(kind).discriminator_loss([_const(real)], [_const(fake)])
    assert loss.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_minimax_generator_loss_is_finite_for_extreme_logits() -> None:
    # log(1 - sigmoid(100)) underflows to log(0) if computed naively.
    loss = AdversarialLoss("minimax").generator_loss(_const(100.0))
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(-100.0, rel=1e-6)


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_label_smoothing_changes_only_the_real_term_bce(kind: str) -> None:
    s = 0.1
    real, fake = _const(0.8), _const(-0.4)
    plain, smoothed = AdversarialLoss(kind), AdversarialLoss(kind, label_smoothing=s)
    # BCE with target t at logit l is softplus(l) - t * l, so the real term grows by s * l.
    diff = smoothed.discriminator_loss(real, fake) - plain.discriminator_loss(real, fake)
    assert diff.item() == pytest.approx(s * 0.8, rel=1e-5)
    # With the real logits fixed, the fake term's dependence is identical with and without smoothing.
    other_fake = _const(1.3)
    fake_delta_plain = plain.discriminator_loss(real, other_fake) - plain.discriminator_loss(real, fake)
    fake_delta_smoothed = smoothed.discriminator_loss(real, other_fake) - smoothed.discriminator_loss(real, fake)
    assert fake_delta_smoothed.item() == pytest.approx(fake_delta_plain.item(), rel=1e-6)
    # G side is untouched.
    assert smoothed.generator_loss(fake).item() == pytest.approx(plain.generator_loss(fake).item())


def test_label_smoothing_lsgan_targets_one_minus_s() -> None:
    loss = AdversarialLoss("lsgan", label_smoothing=0.2).discriminator_loss(_const(0.8), _const(0.0))
    assert loss.item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("kind", ["hinge", "wgan-gp"])
def test_label_smoothing_is_ignored_by_margin_losses(kind: str) -> None:
    real, fake = _const(0.3), _const(-0.6)
    plain = AdversarialLoss(kind).discriminator_loss(real, fake)
    smoothed = AdversarialLoss(kind, label_smoothing=0.2).discriminator_loss(real, fake)
    assert smoothed.item() == pytest.approx(plain.item())


@pytest.mark.parametrize("kind", ADVERSARIAL_LOSSES)
def test_bare_tensor_equals_one_element_list(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 1, 4, 4, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)
    loss = AdversarialLoss(kind)
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(loss.discriminator_loss([real], [fake]).item())
    assert loss.generator_loss(fake).item() == pytest.approx(loss.generator_loss([fake]).item())


@pytest.mark.parametrize("kind", ADVERSARIAL_LOSSES)
def test_multi_scale_losses_are_the_mean_over_scales(kind: str) -> None:
    gen = torch.Generator().manual_seed(1)
    # Scales of different spatial size, as a multi-scale PatchGAN returns.
    reals = [torch.randn(2, 1, 8, 8, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)]
    fakes = [torch.randn(2, 1, 8, 8, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)]
    loss = AdversarialLoss(kind)
    d_each = [loss.discriminator_loss(r, f).item() for r, f in zip(reals, fakes)]
    g_each = [loss.generator_loss(f).item() for f in fakes]
    assert loss.discriminator_loss(reals, fakes).item() == pytest.approx(sum(d_each) / 2, rel=1e-6)
    assert loss.generator_loss(fakes).item() == pytest.approx(sum(g_each) / 2, rel=1e-6)


def test_mismatched_scale_counts_raise() -> None:
    with pytest.raises(ValueError):
        AdversarialLoss().discriminator_loss([_const(0.0), _const(0.0)], [_const(0.0)])


class _LinearCritic(nn.Module):
    """D(cat[condition, image]) = w . image: its input gradient is w everywhere, for every sample."""

    def __init__(self, weight: Tensor, condition_channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.condition_channels = condition_channels

    def forward(self, x: Tensor) -> list[Tensor]:
        image = x[:, self.condition_channels :]
        return [(image.flatten(1) * self.weight.flatten()).sum(dim=1, keepdim=True)]


class _QuadraticCritic(nn.Module):
    """D(x) = sum(image^2): gradient norm 2 ||image||, far from 1 for large inputs."""

    def forward(self, x: Tensor) -> list[Tensor]:
        return [x[:, 1:].flatten(1).square().sum(dim=1, keepdim=True)]


def test_gradient_penalty_is_zero_for_unit_gradient_critic() -> None:
    gen = torch.Generator().manual_seed(2)
    weight = torch.randn(1, 3, 4, 4, generator=gen)
    critic = _LinearCritic(weight / weight.norm(), condition_channels=2)
    real, fake = torch.randn(8, 3, 4, 4, generator=gen), torch.randn(8, 3, 4, 4, generator=gen)
    condition = torch.randn(8, 2, 4, 4, generator=gen)
    penalty = gradient_penalty(critic, real, fake, condition)
    # float32 rounding of a unit norm over 48 weights: far below 1e-6.
    assert penalty.item() == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_is_positive_and_differentiable_otherwise() -> None:
    gen = torch.Generator().manual_seed(3)
    weight = torch.randn(1, 3, 4, 4, generator=gen)
    critic = _LinearCritic(3.0 * weight / weight.norm(), condition_channels=1)
    real, fake = torch.randn(4, 3, 4, 4, generator=gen), torch.randn(4, 3, 4, 4, generator=gen)
    condition = torch.randn(4, 1, 4, 4, generator=gen)
    penalty = gradient_penalty(critic, real, fake, condition)
    # gradient norm 3 everywhere: (3 - 1)^2
    assert penalty.item() == pytest.approx(4.0, rel=1e-5)
    penalty.backward()  # create_graph=True lets the penalty train the critic's weights
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0

    quadratic = gradient_penalty(_QuadraticCritic(), 5 * real, 5 * fake, condition)
    assert quadratic.item() > 1.0


def test_gradient_penalty_does_not_depend_on_batch_size() -> None:
    # Each sample's gradient must be its own, not shrunk by a batch mean.
    weight = torch.ones(1, 2, 2, 2) / math.sqrt(8.0)
    critic = _LinearCritic(weight, condition_channels=1)
    for batch in (1, 16):
        real, fake = torch.randn(batch, 2, 2, 2), torch.randn(batch, 2, 2, 2)
        penalty = gradient_penalty(critic, real, fake, torch.zeros(batch, 1, 2, 2))
        assert penalty.item() == pytest.approx(0.0, abs=1e-6)


def test_r1_penalty_of_linear_discriminator_is_half_squared_weight_norm() -> None:
    gen = torch.Generator().manual_seed(4)
    weight = torch.randn(1, 3, 4, 4, generator=gen)
    critic = _LinearCritic(weight, condition_channels=0)
    real = torch.randn(5, 3, 4, 4, generator=gen).requires_grad_(True)
    penalty = r1_penalty(critic(real), real)
    assert penalty.item() == pytest.approx(0.5 * weight.square().sum().item(), rel=1e-5)
    penalty.backward()
    # d/dw of 0.5 ||w||^2 is w
    torch.testing.assert_close(critic.weight.grad, weight, rtol=1e-5, atol=1e-6)


def test_r1_penalty_needs_input_with_grad() -> None:
    real = torch.randn(2, 3)
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty([real.sum(dim=1, keepdim=True)], real)


def test_reconstruction_losses() -> None:
    fake = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    real = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    assert l1_loss(fake, real).item() == pytest.approx((1 + 0 + 2 + 1) / 4)
    assert l2_loss(fake, real).item() == pytest.approx((1 + 0 + 4 + 1) / 4)


def test_mode_seeking_loss_value() -> None:
    fake_a, fake_b = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    z_a, z_b = torch.zeros(2, 8), torch.full((2, 8), 2.0)
    # ratio = 0.5 / 2 = 0.25
    loss = mode_seeking_loss(fake_a, fake_b, z_a, z_b, eps=0.0)
    assert loss.item() == pytest.approx(4.0)


def test_mode_seeking_loss_decreases_as_outputs_move_apart() -> None:
    gen = torch.Generator().manual_seed(5)
    base = torch.randn(2, 3, 4, 4, generator=gen)
    direction = torch.randn(2, 3, 4, 4, generator=gen)
    z_a, z_b = torch.randn(2, 8, generator=gen), torch.randn(2, 8, generator=gen)
    losses = [mode_seeking_loss(base, base + step * direction, z_a, z_b).item() for step in (0.01, 0.1, 1.0)]
    assert losses[0] > losses[1] > losses[2]
    # Identical outputs: bounded by 1 / eps rather than infinite.
    assert mode_seeking_loss(base, base, z_a, z_b, eps=1e-5).item() == pytest.approx(1e5)


def test_mode_seeking_loss_gradient_pushes_outputs_apart() -> None:
    fake_a = torch.zeros(1, 4)
    fake_b = torch.full((1, 4), 0.1, requires_grad=True)
    mode_seeking_loss(fake_a, fake_b, torch.zeros(1, 2), torch.ones(1, 2)).backward()
    # A gradient step (minus the gradient) moves fake_b further from fake_a, which sits below it.
    assert (fake_b.grad < 0).all()


def test_bounded_mode_seeking_pushes_until_tau_then_stops() -> None:
    z_a, z_b = torch.zeros(2, 8), torch.ones(2, 8)  # latent distance 1
    same = torch.zeros(2, 3, 4, 4)
    close, far = same + 0.1, same + 0.5
    assert mode_seeking_loss(same, close, z_a, z_b, eps=0.0, tau=0.2).item() == pytest.approx(0.1)
    assert mode_seeking_loss(same, far, z_a, z_b, eps=0.0, tau=0.2).item() == 0.0
    close.requires_grad_(True)
    mode_seeking_loss(same, close, z_a, z_b, eps=0.0, tau=0.2).backward()
    assert close.grad.sum().item() < 0  # minimising moves the outputs apart


def test_mode_seeking_measures_the_outputs_with_the_given_distance() -> None:
    # loss.mode_seeking_distance=lpips passes LPIPS: a uniform tint, which pixel L1 counts in full, can be worth
    # nothing to a distance that ignores it, so the push stays on until the samples differ another way.
    z_a, z_b = torch.zeros(2, 8), torch.ones(2, 8)
    same = torch.zeros(2, 3, 4, 4)
    tinted = same + 0.5

    def texture_only(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # blind to a per-image offset
        centred = lambda t: t - t.mean(dim=(1, 2, 3), keepdim=True)  # noqa: E731
        return (centred(a) - centred(b)).abs().flatten(1).mean(1)

    assert mode_seeking_loss(same, tinted, z_a, z_b, eps=0.0, tau=0.2).item() == 0.0
    assert mode_seeking_loss(same, tinted, z_a, z_b, eps=0.0, tau=0.2, distance=texture_only).item() == pytest.approx(0.2)
    textured = same + torch.tensor([0.3, -0.3]).repeat(48).view(2, 3, 4, 4)
    assert mode_seeking_loss(same, textured, z_a, z_b, eps=0.0, tau=0.2, distance=texture_only).item() == 0.0


def test_a_blurred_mode_seeking_distance_does_not_pay_for_a_stride_grid() -> None:
    # loss.mode_seeking_blur=3: two samples that differ by a period-8 grid are nearly the same after the blur;
    # two that differ in their colour are not.
    distance = pair_distance("l1", 3.0, "alexnet", torch.device("cpu"))
    rows = torch.arange(64, dtype=torch.float32)
    grid = (torch.cos(2 * torch.pi * rows / 8)[:, None] * torch.cos(2 * torch.pi * rows / 8)[None, :]) * 0.3
    base = torch.zeros(2, 3, 64, 64)
    gridded, tinted = base + grid, base + 0.3
    raw = (gridded - base).abs().flatten(1).mean(1)
    assert torch.all(distance(base, gridded) < 0.1 * raw)
    assert torch.allclose(distance(base, tinted), torch.full((2,), 0.3), atol=1e-4)
    assert pair_distance("l1", 0.0, "alexnet", torch.device("cpu")) is None  # the plain pixel L1


def test_best_of_pairs_keeps_the_closer_sample_of_each_pair() -> None:
    # Rows i and i + 2 share a condition: pair (0, 2) is won by row 2, pair (1, 3) by row 1.
    real = torch.zeros(4, 3, 4, 4)
    fake = torch.stack([torch.full((3, 4, 4), e) for e in (1.0, 0.1, -0.5, 0.3)])
    y = torch.arange(4.0)
    kept_fake, kept_real, kept_y = best_of_pairs(fake, real, y)
    assert kept_y.tolist() == [2.0, 1.0]
    assert torch.equal(kept_fake, fake[[2, 1]]) and kept_real.shape == (2, 3, 4, 4)


def test_best_of_pairs_sends_no_gradient_to_the_other_sample() -> None:
    fake = torch.tensor([[0.9], [0.2], [0.1], [0.8]], requires_grad=True)
    kept, real = best_of_pairs(fake, torch.zeros(4, 1))
    l1_loss(kept, real).backward()
    assert fake.grad.flatten().tolist() == [0.0, 0.5, 0.5, 0.0]
