"""The theory of Goodfellow et al. 2014 ("Generative Adversarial Nets"), checked on toy data with the
project's own AdversarialLoss:

* Proposition 1: for a fixed G the optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)).
* Theorem 1: C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g), whose global minimum -log 4 is reached
  exactly at p_g = p_data.
* Section 3: the saturating generator loss log(1 - D(G(z))) gives no gradient early in training, when
  D rejects the samples confidently; the non-saturating -log D(G(z)) does.
* Section 5 style experiment: a small GAN with the default (non-saturating) loss learns a multi-modal
  2-D distribution without dropping its modes.

Each test seeds its own generator state so the results do not depend on the test order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from img2img.losses import AdversarialLoss

LOG4 = math.log(4.0)

# p_data and p_g of the 1-D tests: different means and widths, so log D*/(1 - D*) = log p - log q is a
# quadratic, not a line, and the discriminator has to learn a curved boundary.
DATA_MEAN, DATA_STD = 0.0, 1.0
GEN_MEAN, GEN_STD = 1.5, 0.7


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    # The nets here are tiny: extra threads only add synchronisation cost, and on a busy machine
    # oversubscribed threads slowed the D training ~100x. Module scope so it also covers the
    # module-scoped trained_discriminator fixture, which is set up before function-scoped fixtures.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _normal_log_pdf(x: Tensor, mean: float, std: float) -> Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2.0 * math.pi))


def _optimal_logit(x: Tensor) -> Tensor:
    """The logit of D*: log p - log q, kept in log space because D* itself rounds to 0 or 1 in the tails."""
    return _normal_log_pdf(x, DATA_MEAN, DATA_STD) - _normal_log_pdf(x, GEN_MEAN, GEN_STD)


def _optimal_discriminator(x: Tensor) -> Tensor:
    """D*(x) = p / (p + q) = sigmoid(log p - log q)."""
    return torch.sigmoid(_optimal_logit(x))


def _mlp_discriminator(width: int = 32) -> nn.Module:
    # Tanh gives a smooth logit, which fits the smooth log density ratio with few units.
    return nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))


def _train_discriminator(
    data_mean: float, data_std: float, gen_mean: float, gen_std: float, seed: int, steps: int = 800
) -> nn.Module:
    """Inner loop of Algorithm 1 with G frozen: D minimises the non-saturating D loss (= -V(D, G)).

    Fresh samples every step estimate the expectations of V rather than fitting a finite sample, and the
    learning rate decays so that the final D is not left jittering around the optimum.
    """
    torch.manual_seed(seed)
    discriminator = _mlp_discriminator()
    optimiser = torch.optim.Adam(discriminator.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    loss = AdversarialLoss("nonsaturating")
    batch = 1024
    for _ in range(steps):
        real = data_mean + data_std * torch.randn(batch, 1)
        fake = gen_mean + gen_std * torch.randn(batch, 1)
        d_loss = loss.discriminator_loss(discriminator(real), discriminator(fake))
        optimiser.zero_grad()
        d_loss.backward()
        optimiser.step()
        schedule.step()
    return discriminator


@pytest.fixture(scope="module")
def trained_discriminator() -> nn.Module:
    return _train_discriminator(DATA_MEAN, DATA_STD, GEN_MEAN, GEN_STD, seed=0, steps=500)


def _value(discriminator: nn.Module, data: Tensor, generated: Tensor) -> float:
    """V(D, G) = E_p[log D] + E_q[log(1 - D)], which is exactly minus the BCE discriminator loss."""
    with torch.no_grad():
        d_loss = AdversarialLoss("nonsaturating").discriminator_loss(discriminator(data), discriminator(generated))
    return -d_loss.item()


# ---------------------------------------------------------------------------------------- (a) D*


def test_trained_discriminator_approximates_optimal_discriminator(trained_discriminator: nn.Module) -> None:
    # On [0, 2] both densities exceed 0.05; outside, one of them is so rare in the samples that D is
    # barely constrained there and no learner could be held to D*.
    grid = torch.linspace(0.0, 2.0, 41).unsqueeze(1)
    optimal = _optimal_discriminator(grid)
    with torch.no_grad():
        learned = torch.sigmoid(trained_discriminator(grid))
    # D* spans ~0.88 down to ~0.11 on this grid, so a D stuck near 1/2 cannot pass the check below.
    assert optimal.max() > 0.85 and optimal.min() < 0.15
    # 0.05: seeds 0-3 of this 500-step run gave max errors 0.006-0.010, so a 5x margin for other torch
    # builds, while still 10x tighter than the spread of D* over the grid checked above.
    max_error = (learned - optimal).abs().max().item()
    assert max_error < 0.05, f"max |D - D*| = {max_error:.3f}"


def test_trained_discriminator_reaches_the_value_of_the_optimal_one(trained_discriminator: nn.Module) -> None:
    # V(D*, G) = C(G) is the maximum of V over D; the trained D should come close to it from below.
    torch.manual_seed(1)
    data = DATA_MEAN + DATA_STD * torch.randn(50_000, 1)
    generated = GEN_MEAN + GEN_STD * torch.randn(50_000, 1)
    optimal_loss = AdversarialLoss("nonsaturating").discriminator_loss(_optimal_logit(data), _optimal_logit(generated))
    optimal_value = -optimal_loss.item()
    learned_value = _value(trained_discriminator, data, generated)
    # Both values are estimated on the same samples, so sampling noise largely cancels; the gap is what
    # D's deviations from D* cost (second order in them): observed 0.0013 nats, 0.01 leaves a 7x margin.
    assert learned_value == pytest.approx(optimal_value, abs=0.01)
    assert learned_value <= optimal_value + 1e-3  # D* maximises V; 1e-3 covers float32 rounding
    # p_g != p_data here, so C(G) sits clearly above the global minimum -log 4 (Theorem 1).
    assert optimal_value > -LOG4 + 0.2


# ------------------------------------------------------------------------------- (b) C(G) = -log 4


def test_value_at_equilibrium_is_minus_log_4_analytically() -> None:
    # With p_g = p_data, D* = 1/2 everywhere, i.e. a logit of 0; V = log(1/2) + log(1/2) = -log 4.
    half = torch.zeros(7, 1, 5, 5)  # any shape: D* is 1/2 at every patch
    value = -AdversarialLoss("nonsaturating").discriminator_loss(half, half)
    assert value.item() == pytest.approx(-LOG4, rel=1e-6)


@pytest.mark.parametrize("gen_mean", [0.0, 0.5, 1.5, 3.0])
def test_virtual_training_criterion_is_minus_log_4_plus_twice_jsd(gen_mean: float) -> None:
    # Quadrature of C(G) = V(D*, G) against -log 4 + 2 JSD on a grid wide enough that the tails are < 1e-20.
    x = torch.linspace(-15.0, 15.0, 60_001, dtype=torch.float64)
    gen_std = 1.0 if gen_mean == 0.0 else GEN_STD  # mean 0, std 1: p_g = p_data exactly
    log_p = _normal_log_pdf(x, DATA_MEAN, DATA_STD)
    log_q = _normal_log_pdf(x, gen_mean, gen_std)
    p, q = log_p.exp(), log_q.exp()
    logit = log_p - log_q  # the logit of D*
    criterion = torch.trapezoid(p * F.logsigmoid(logit) + q * F.logsigmoid(-logit), x).item()
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    jsd = 0.5 * torch.trapezoid(p * (log_p - log_m) + q * (log_q - log_m), x).item()
    # The quadrature itself is accurate to ~1e-9; 1e-6 only leaves room for float rounding of the sums.
    assert criterion == pytest.approx(-LOG4 + 2.0 * jsd, abs=1e-6)
    if gen_mean == 0.0:
        assert criterion == pytest.approx(-LOG4, abs=1e-6)
    else:
        assert criterion > -LOG4 + 1e-3  # the minimum is attained only at p_g = p_data


def test_discriminator_trained_on_identical_distributions_gives_minus_log_4() -> None:
    discriminator = _train_discriminator(DATA_MEAN, DATA_STD, DATA_MEAN, DATA_STD, seed=2, steps=250)
    # Nothing separates the two sample sets, so the best D is 1/2 and V on fresh samples is -log 4.
    torch.manual_seed(3)
    data, generated = torch.randn(50_000, 1), torch.randn(50_000, 1)
    value = _value(discriminator, data, generated)
    # A D of 1/2 + d gives V = E[log(1/4 - d^2)] ~ -log 4 - 4 E[d^2]; 0.05 allows an RMS deviation of
    # ~0.11 from 1/2. Observed: |V + log 4| ~ 1e-4 and max |D - 1/2| < 0.01 over seeds 10-13, so both
    # bounds have a wide margin, while a D that had fitted noise in its batches would show up on these
    # fresh samples as V < -log 4.
    assert value == pytest.approx(-LOG4, abs=0.05)
    grid = torch.linspace(-2.0, 2.0, 41).unsqueeze(1)
    with torch.no_grad():
        assert (torch.sigmoid(discriminator(grid)) - 0.5).abs().max().item() < 0.05


# ------------------------------------------------------------------------------ (c) saturation


def _generator_loss_grad(kind: str, logit: float) -> float:
    logit_tensor = torch.tensor([logit], requires_grad=True)
    AdversarialLoss(kind).generator_loss(logit_tensor).backward()
    assert logit_tensor.grad is not None
    return logit_tensor.grad.item()


def test_minimax_generator_loss_saturates_when_discriminator_rejects_fakes() -> None:
    # Logit -10: D(G(z)) = sigmoid(-10) ~ 4.5e-5, the situation early in training.
    minimax = _generator_loss_grad("minimax", -10.0)
    nonsaturating = _generator_loss_grad("nonsaturating", -10.0)
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ -4.5e-5; d/dl -log sigmoid(l) = -(1 - sigmoid(l)) ~ -1.
    assert abs(minimax) < 1e-3
    assert abs(nonsaturating) == pytest.approx(1.0, abs=1e-3)
    # Same fixed point and direction: descent raises the logit of fakes under both losses.
    assert minimax < 0 and nonsaturating < 0


def test_nonsaturating_generator_loss_is_the_one_that_fades_once_fakes_fool_d() -> None:
    # Mirror image at logit +10: the saturating loss keeps its full gradient, the non-saturating one
    # (already winning) fades, so the two differ in where G learns, not in what it learns.
    assert abs(_generator_loss_grad("minimax", 10.0)) == pytest.approx(1.0, abs=1e-3)
    assert abs(_generator_loss_grad("nonsaturating", 10.0)) < 1e-3


# ------------------------------------------------------------------------------ (d) 8-Gaussian ring

RING_MODES = 8
RING_RADIUS = 2.0
RING_STD = 0.05


def _ring_centres() -> Tensor:
    angles = torch.arange(RING_MODES) * (2.0 * math.pi / RING_MODES)
    return RING_RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)


def _mlp(inputs: int, outputs: int, width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, outputs)
    )


def _train_ring_gan(seed: int, steps: int, batch: int = 256, latent: int = 2) -> nn.Module:
    """Algorithm 1 with k = 1, the default non-saturating loss and Adam (lr 1e-3, beta1 0.5)."""
    torch.manual_seed(seed)
    centres = _ring_centres()
    # D twice as wide as G: with equal widths some seeds (5 and 7 of 0-7) dropped 2-5 modes; a D that
    # can resolve all eight bumps keeps pushing G towards the ones it under-covers.
    generator, discriminator = _mlp(latent, 2), _mlp(2, 1, width=128)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    # Constant lr for the first half, then linear decay to 0 (the pix2pix schedule): GAN dynamics keep
    # oscillating at a constant lr, and the share of each mode swings with them; the decay lets the
    # final generator settle instead of being sampled at a random phase of the oscillation.
    decay = [
        torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, 2.0 * (1.0 - step / steps)))
        for opt in (opt_g, opt_d)
    ]
    loss = AdversarialLoss()
    for _ in range(steps):
        real = centres[torch.randint(0, RING_MODES, (batch,))] + RING_STD * torch.randn(batch, 2)
        fake = generator(torch.randn(batch, latent))
        # One D forward over real and fake together: half the per-step overhead of two small calls.
        logits = discriminator(torch.cat([real, fake.detach()]))
        d_loss = loss.discriminator_loss(logits[:batch], logits[batch:])
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = loss.generator_loss(discriminator(fake))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for schedule in decay:
            schedule.step()
    return generator


@pytest.mark.slow
def test_toy_gan_covers_the_modes_of_an_eight_gaussian_ring() -> None:
    # Seeds 0-7 of this recipe covered 8, 8, 8, 7, 8, 7, 6, 7 modes (1500 steps: 4-8). The seed is
    # fixed, so the test is deterministic on one torch build; a new build draws a fresh "seed", which
    # passes about 7 times in 8 by that count: if it fails after a torch upgrade, retry seeds first.
    generator = _train_ring_gan(seed=0, steps=2000)
    torch.manual_seed(100)
    with torch.no_grad():
        samples = generator(torch.randn(2000, 2))
    distances = torch.cdist(samples, _ring_centres())
    share_near_mode = (distances < 3.0 * RING_STD).float().mean(dim=0)
    # A mode counts as covered when >= 2% of the samples (40 points, 1/6 of its fair 12.5% share) lie
    # within 3 std of its centre, where 99% of the real mass is: a dropped mode gets ~0, not a few %.
    # 7 of 8: even GANs that cover the ring sometimes leave one mode under-fed at a given step; the
    # failure this guards against is mode collapse, which covers one or a few modes.
    covered = int((share_near_mode >= 0.02).sum())
    assert covered >= 7, f"covered {covered}/8 modes; share near each: {share_near_mode.tolist()}"
    # And the samples are on the ring, not spread everywhere: over half lie within 3 std of some mode.
    assert share_near_mode.sum().item() > 0.5
