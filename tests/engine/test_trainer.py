from __future__ import annotations

import copy
import json

import pytest
import torch
from conftest import tiny_config

import img2img
from img2img.engine.checkpoint import list_checkpoints, load_checkpoint
from img2img.engine.trainer import Trainer
from img2img.errors import ConfigError, PluginError, TrainingDivergedError, WeightsError
from img2img.features import perceptual_available
from img2img.losses import generator_terms
from img2img.models import sample_latent
from img2img.seeding import make_generator
from img2img.weights import load_generator


@pytest.fixture
def uncrop(cached_uncrop):
    return cached_uncrop


def _held_in_l1(trainer: Trainer) -> float:
    """L1 of the raw generator (not the EMA) on a fixed batch of *training* images."""
    items = [trainer.train_set[i] for i in range(len(trainer.train_set))]
    x = torch.stack([it["x"] for it in items])
    y = trainer.task.make_eval_condition(x, [it["key"] for it in items])
    trainer.G.eval()
    with torch.no_grad():
        fake = trainer.task.compose(trainer.G(y, torch.zeros(len(items), trainer.G.nz)), y)
    return float((fake - x).abs().mean())


@pytest.mark.parametrize("model, steps", [("cgan", 160), ("regression", 80)])
def test_short_run_lowers_l1_on_held_in_samples(uncrop, tmp_path, model, steps):
    cfg = tiny_config(model=model, steps=steps, batch_size=8)
    cfg.optim.lr = 1e-3
    trainer = Trainer(cfg, uncrop, tmp_path / model, progress=False)
    before = _held_in_l1(trainer)
    trainer.fit()
    after = _held_in_l1(trainer)
    # An untrained tanh U-Net paints ~0 (grey) into the hole; a short run on 16 images must do clearly
    # better (measured: cgan 0.155 -> 0.114 at 160 steps, regression 0.155 -> 0.105 at 80).
    assert after < 0.8 * before, (before, after)


DEFAULT_RECIPE = {"loss__perceptual_weight": None, "discriminator__kind": "auto"}


@pytest.mark.parametrize("precision, recipe", [
    ("fp32", {}), ("bf16", {}),
    # The default recipe's priors: DiffAugment draws from the per-step seeded RNG, LPIPS and Lite0 are frozen.
    pytest.param("fp32", DEFAULT_RECIPE, id="fp32-default-recipe", marks=pytest.mark.skipif(
        not perceptual_available(), reason="pretrained weights not installed")),
])
def test_resume_equals_uninterrupted(uncrop, tmp_path, precision, recipe):
    # Exact under bf16 autocast too: rounding is deterministic, so resuming must not change a single bit.
    straight = Trainer(tiny_config(steps=6, precision=precision, **recipe), uncrop, tmp_path / "a", progress=False)
    straight.fit()
    assert not recipe or straight.cfg.discriminator.kind == "projected"

    first = Trainer(tiny_config(steps=6, precision=precision, **recipe), uncrop, tmp_path / "b", progress=False)
    first.fit(until=4)  # as if the process died right after its step-4 checkpoint
    resumed = Trainer(tiny_config(steps=6, precision=precision, **recipe), uncrop, tmp_path / "b", resume=True,
                      progress=False)
    assert resumed.step == 4
    resumed.fit()

    for name in ("G", "D", "ema", "opt_G", "opt_D"):
        a, b = straight.state_dict()[name], resumed.state_dict()[name]
        for ta, tb in zip(_tensors(a), _tensors(b)):
            assert torch.equal(ta, tb), name


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, dict):
        for key in sorted(tree, key=str):
            yield from _tensors(tree[key])
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(item)


def test_run_folder_holds_checkpoint_weights_grid_and_log(uncrop, tmp_path):
    cfg = tiny_config(steps=4, sample_every=2)
    out = tmp_path / "run"
    weights = Trainer(cfg, uncrop, out, progress=False).fit()
    assert weights == out / "uncrop-cgan.safetensors" and weights.is_file()
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step_00000002.pt", "step_00000004.pt"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_00000002.png", "step_00000004.png"]
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert {"loss/d_adversarial", "loss/adversarial", "loss/l1", "loss/mode_seeking", "images_per_s"} <= set(records[0])
    assert (out / "loss_curve.png").is_file()
    state = load_checkpoint(out / "checkpoints" / "step_00000004.pt")
    assert state["step"] == 4 and state["config"]["size"] == 32
    generator, info = load_generator(weights, expected_task="uncrop")
    assert info.model == "cgan" and info.step == 4 and generator.nz == cfg.generator.nz


def test_keeps_only_last_n_checkpoints(uncrop, tmp_path):
    cfg = tiny_config(steps=8, checkpoint_every=1, keep_checkpoints=3)
    Trainer(cfg, uncrop, tmp_path, progress=False).fit()
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == [
        "step_00000006.pt", "step_00000007.pt", "step_00000008.pt"]


def test_different_seeds_give_different_cgan_outputs(uncrop, tmp_path):
    trainer = Trainer(tiny_config(steps=10), uncrop, tmp_path, progress=False)
    trainer.fit()
    G = trainer.ema.model
    x = trainer.preview_set[(0, 0)]["x"][None]
    y = trainer.task.make_eval_condition(x, ["k"])
    with torch.no_grad():
        a = G(y, sample_latent(1, G.nz, make_generator(1)))
        b = G(y, sample_latent(1, G.nz, make_generator(2)))
        a2 = G(y, sample_latent(1, G.nz, make_generator(1)))
    assert torch.equal(a, a2)
    assert (a - b).abs().mean() > 1e-3


def test_regression_model_is_deterministic_mse(uncrop, tmp_path):
    trainer = Trainer(tiny_config(model="regression", steps=2), uncrop, tmp_path, progress=False)
    assert trainer.G.nz == 0 and trainer.D is None
    scalars = trainer.train_step(trainer._batches())
    assert set(scalars) == {"loss/mse"}


class _NanTask(img2img.Task):
    name = "nan"
    description = "a task whose extra loss explodes at the 3rd step"
    calls = 0

    def make_condition(self, x, generator):
        return x

    def loss_terms(self):
        def exploding(fake, real, y):
            _NanTask.calls += 1
            return fake.mean() * (float("nan") if _NanTask.calls >= 3 else 0.0)
        return [img2img.LossTerm("exploding", exploding)]


def test_nan_loss_stops_with_step_and_term_and_keeps_checkpoint(tmp_path):
    cfg = tiny_config(steps=10, checkpoint_every=1, task="nan")
    trainer = Trainer(cfg, _NanTask(), tmp_path, progress=False)
    with pytest.raises(TrainingDivergedError, match="step 3.*'exploding'"):
        trainer.fit()
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")][-1] == "step_00000002.pt"
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000002.pt")["step"] == 2


def test_resume_with_another_architecture_is_refused(uncrop, tmp_path):
    Trainer(tiny_config(steps=2), uncrop, tmp_path, progress=False).fit()
    changed = tiny_config(steps=4)
    changed.generator.ngf = 16
    with pytest.raises(ConfigError, match="generator"):
        Trainer(changed, uncrop, tmp_path, resume=True, progress=False)


def test_init_fine_tunes_from_weights_with_their_architecture(uncrop, tmp_path):
    source = tiny_config(steps=2)
    source.generator.ngf = 12  # not tiny_config's 8: the fine-tune run must take the weights' architecture
    weights = Trainer(source, uncrop, tmp_path / "source", progress=False).fit()
    tuned = Trainer(tiny_config(steps=4, init=str(weights)), uncrop, tmp_path / "tuned", progress=False)
    assert tuned.G.config.ngf == 12 and tuned.cfg.generator.ngf == 12
    start, _ = load_generator(weights)
    assert all(torch.equal(a, b) for a, b in zip(tuned.G.state_dict().values(), start.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(tuned.ema.model.state_dict().values(), start.state_dict().values()))
    tuned.fit(until=2)
    # A resumed fine-tune continues from its own checkpoint (not from the init weights again), exactly.
    resumed = Trainer(tiny_config(steps=4, init=str(weights)), uncrop, tmp_path / "tuned", resume=True, progress=False)
    assert resumed.step == 2 and resumed.G.config.ngf == 12
    assert all(torch.equal(a, b) for a, b in zip(resumed.G.state_dict().values(), tuned.G.state_dict().values()))


@pytest.mark.parametrize("option", ["noise", "film"])
def test_init_may_add_noise_inputs_or_film_and_keeps_the_mean_sample(uncrop, tmp_path, option):
    weights = Trainer(tiny_config(steps=2), uncrop, tmp_path / "source", progress=False).fit()
    cfg = tiny_config(steps=2, init=str(weights))
    setattr(cfg.generator, option, True)
    tuned = Trainer(cfg, uncrop, tmp_path / "tuned", progress=False)
    assert getattr(tuned.G.config, option) and getattr(tuned.G, option) is not None
    assert ("latent FiLM" if option == "film" else "noise inputs") in tuned.summary()
    start, _ = load_generator(weights)
    y = torch.rand(2, 4, 32, 32) * 2 - 1
    with torch.no_grad():  # the mean sample (z = 0: no noise, FiLM the identity) is the init's
        assert torch.allclose(tuned.ema.model.eval()(y), start.eval()(y), atol=1e-6)
    added = {name: p.detach().clone() for name, p in tuned.G.named_parameters() if name.startswith(f"{option}.")}
    assert added
    tuned.fit()
    learned = dict(tuned.G.named_parameters())
    assert any(not torch.equal(value, learned[name]) for name, value in added.items())  # the new part learns
    resumed = Trainer(tiny_config(steps=2, init=str(weights)), uncrop, tmp_path / "tuned", resume=True, progress=False)
    assert getattr(resumed.G, option) is not None  # the run's own architecture, the added part included


def test_init_may_switch_a_tanh_output_to_clip_and_never_back(uncrop, tmp_path, cpu_bf16):
    weights = Trainer(tiny_config(steps=2), uncrop, tmp_path / "source", progress=False).fit()
    cfg = tiny_config(steps=2, init=str(weights), precision="auto")
    cfg.generator.output = "clip"
    tuned = Trainer(cfg, uncrop, tmp_path / "tuned", progress=False)
    assert tuned.G.config.output == "clip" and tuned.G.clip and "clipped output" in tuned.summary()
    start, _ = load_generator(weights)
    assert all(torch.equal(a, b) for a, b in zip(tuned.G.state_dict().values(), start.state_dict().values()))
    clipped = tuned.fit()
    again, _ = load_generator(clipped)
    assert again.config.output == "clip"
    # a config that does not name the output (tanh, the default) keeps the clipped init's
    assert Trainer(tiny_config(steps=2, init=str(clipped)), uncrop, tmp_path / "again", progress=False).G.config.output == "clip"


@pytest.mark.skipif(not perceptual_available(), reason="pretrained weights not installed")
def test_mode_seeking_in_lpips_trains_and_says_so(uncrop, tmp_path):
    cfg = tiny_config(steps=2, loss__mode_seeking_distance="lpips")
    trainer = Trainer(cfg, uncrop, tmp_path, progress=False)
    assert "mode seeking x 20 in LPIPS" in trainer.summary()
    trainer.fit()
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert any("loss/mode_seeking" in row for row in logged)
    assert "mode seeking x 20 in L1" in Trainer(tiny_config(steps=2), uncrop, tmp_path / "pixel", progress=False).summary()
    blurred = Trainer(tiny_config(steps=2, loss__mode_seeking_distance="lpips", loss__mode_seeking_blur=2.0), uncrop,
                      tmp_path / "blurred", progress=False)
    assert "mode seeking x 20 in LPIPS blurred by 2 px" in blurred.summary()
    blurred.fit()


def test_init_refuses_another_task_and_cgan_weights_for_the_baseline(uncrop, host, tmp_path):
    weights = Trainer(tiny_config(steps=2), uncrop, tmp_path / "source", progress=False).fit()
    with pytest.raises(WeightsError, match="not 'restore'"):
        Trainer(tiny_config(task="restore", init=str(weights)), host.get("restore"), tmp_path / "a", progress=False)
    with pytest.raises(WeightsError, match="no latent input"):
        Trainer(tiny_config(model="regression", init=str(weights)), uncrop, tmp_path / "b", progress=False)
    with pytest.raises(WeightsError, match="not found"):
        Trainer(tiny_config(init=str(tmp_path / "missing.safetensors")), uncrop, tmp_path / "c", progress=False)
    baseline = Trainer(tiny_config(model="regression", steps=2), uncrop, tmp_path / "base", progress=False).fit()
    for option in ("noise", "film"):
        cfg = tiny_config(init=str(baseline), generator__nz=0)  # a deterministic cGAN: no latent to act on
        setattr(cfg.generator, option, True)
        with pytest.raises(ConfigError, match=f"generator.{option} needs a latent"):
            Trainer(cfg, uncrop, tmp_path / "d", progress=False)


def test_truncated_newest_checkpoint_falls_back_to_previous(uncrop, tmp_path):
    Trainer(tiny_config(steps=4), uncrop, tmp_path, progress=False).fit()
    newest = list_checkpoints(tmp_path / "checkpoints")[-1]
    newest.write_bytes(newest.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="unreadable"):
        resumed = Trainer(tiny_config(steps=4), uncrop, tmp_path, resume=True, progress=False)
    assert resumed.step == 2


def test_too_small_size_for_patchgan_is_a_config_error(uncrop, tmp_path):
    cfg = tiny_config(size=16)
    cfg.discriminator.n_layers = 3
    with pytest.raises(ConfigError, match="too small"):
        Trainer(cfg, uncrop, tmp_path, progress=False)


def test_k_discriminator_steps_per_generator_step(uncrop, tmp_path):
    cfg = tiny_config(steps=2)
    cfg.optim.d_steps = 2
    trainer = Trainer(cfg, uncrop, tmp_path, progress=False)
    trainer.fit()
    assert trainer.opt_D.state_dict()["state"][0]["step"] == 4  # 2 D updates per G update
    assert trainer.opt_G.state_dict()["state"][0]["step"] == 2


@pytest.mark.parametrize("kind", ["minimax", "lsgan", "hinge", "wgan-gp"])
def test_every_adversarial_loss_trains(uncrop, tmp_path, kind):
    cfg = tiny_config(steps=2)
    cfg.loss.adversarial = kind
    cfg.loss.r1_weight = 1.0 if kind == "hinge" else 0.0
    Trainer(cfg, uncrop, tmp_path, progress=False).fit()
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    assert all(torch.isfinite(torch.tensor(v)) for k, v in record.items() if k.startswith("loss/"))


class _ClashTask(_NanTask):
    name = "clash"
    clash = "l1"

    def loss_terms(self):
        return [img2img.LossTerm(self.clash, lambda fake, real, y: fake.mean(), models=("regression",))]


@pytest.mark.parametrize("name", ["l1", "spectral", "perceptual", "d_r1"])
def test_task_loss_term_may_not_shadow_an_engine_term(tmp_path, name):
    """Whatever model the term is for: the names are the engine's, generator and discriminator side."""
    task = type("Clash", (_ClashTask,), {"clash": name})()  # a class: the trainer configures a fresh instance
    with pytest.raises(PluginError, match=f"task 'clash': loss term '{name}' has the name of the engine's own term '{name}'"):
        Trainer(tiny_config(task="clash"), task, tmp_path, progress=False)


def _with_task_terms(trainer, terms, **task_weights):
    """Rebuild the trainer's terms as if its task had ``terms`` and the run ``loss.task_weights``."""
    task, cfg = copy.copy(trainer.task), copy.deepcopy(trainer.cfg)
    task.loss_terms = lambda: terms
    cfg.loss.task_weights = task_weights
    trainer.terms = generator_terms(cfg, task, trainer.D, trainer.device)


def test_best_of_pair_needs_the_mode_seeking_pairs():
    for overrides in ({"generator__nz": 0}, {"loss__mode_seeking_weight": 0.0}):
        with pytest.raises(ConfigError, match="best_of_pair needs the mode-seeking pairs"):
            tiny_config(loss__reconstruction="best_of_pair", **overrides).validate()
    tiny_config(model="regression", generator__nz=0, loss__reconstruction="best_of_pair").validate()


def test_best_of_pair_reconstructs_only_the_closer_sample_of_each_pair(uncrop, tmp_path):
    trainer = Trainer(tiny_config(loss__reconstruction="best_of_pair", batch_size=8), uncrop, tmp_path, progress=False)
    assert "on the best of each pair" in trainer.summary()
    seen = []

    def probe(fake, real, y):  # a task term: gets what every reconstruction term gets
        seen.append((fake.detach(), real))
        return fake.sum() * 0

    _with_task_terms(trainer, [img2img.LossTerm("probe", probe)])
    x, y, z = trainer._prepare(next(trainer._batches()), 0)
    trainer.G.train()
    torch.manual_seed(1)  # the same dropout masks as in the step
    with torch.no_grad():
        fake = trainer.task.compose(trainer.G(y, z), y)
    torch.manual_seed(1)
    trainer._generator_step(x, y, z)
    (kept, real), = seen
    assert kept.shape[0] == 4 and torch.equal(real, x[:4])  # one of each pair; the pairs share their target
    error = (fake - x).abs().flatten(1).mean(1)
    assert torch.allclose(kept, torch.where((error[:4] <= error[4:])[:, None, None, None], fake[:4], fake[4:]))


def test_a_task_term_weighted_zero_is_off(uncrop, tmp_path):
    """A term a task ships off (weight 0) or a run turns off (loss.task_weights.NAME=0) is not even computed."""
    calls = []

    def probe(fake, real, y):
        calls.append(1)
        return fake.mean() * 0

    trainer = Trainer(tiny_config(), uncrop, tmp_path, progress=False)
    terms = [img2img.LossTerm("off", probe, weight=0.0), img2img.LossTerm("on", probe)]
    _with_task_terms(trainer, terms)
    x, y, z = trainer._prepare(next(trainer._batches()), 0)
    logged = trainer._generator_step(x, y, z)
    assert "loss/on" in logged and "loss/off" not in logged and len(calls) == 1
    _with_task_terms(trainer, terms, on=0.0)
    logged = trainer._generator_step(x, y, z)
    assert "loss/on" not in logged and len(calls) == 1
