"""The conformance kit (img2img.testing): every registered task passes it, and a broken task gets one readable
report that names each problem."""

from __future__ import annotations

import torch
import pytest

import img2img
from img2img.plugins import load_plugins
from img2img.testing import ConformanceError, check_task, conformance_test, find_problems
from paired_data import drawing_to_picture

# Collected once per process; the example plugin is installed before collection (tests/conftest.py), so
# every xdist worker sees the same list.
REGISTERED = load_plugins().names()


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_task_conforms(name, host, tmp_path):
    # Paired tasks have no embedded data: they learn from the user's pairs, so they get a tiny set of them.
    data = drawing_to_picture(tmp_path / "pairs", n=40) if host.get(name).paired else None
    check_task(name, data, tmp_path=tmp_path)


class _Fine(img2img.Task):
    name = "fine"
    description = "Inverts colours (a toy)."

    def make_condition(self, x, generator):
        return -x


class _Broken(img2img.Task):
    name = "broken"
    description = "Breaks several rules at once."
    in_channels = 3
    app = img2img.AppHints(controls=[img2img.Control("strength", "Strength", "slider", 2.0)])

    def make_condition(self, x, generator):
        # Wrong channel count, and noise from the global RNG instead of `generator`.
        return (x[:, :1] + 0.1 * torch.randn_like(x[:, :1])).clamp(-1, 1)

    def loss_terms(self):
        return [
            img2img.LossTerm("nan_term", lambda fake, real, y: fake.mean() * float("nan")),
            img2img.LossTerm("l1", lambda fake, real, y: (fake - real).abs().mean()),
            img2img.LossTerm("constant", lambda fake, real, y: real.mean()),
        ]

    def prepare_input(self, image):  # does not take the 'strength' control
        return image

    def metrics(self):
        return {"batch_mean": lambda fake, real: (fake - real).abs().mean()}


def test_a_fine_task_passes_without_training():
    check_task(_Fine(), train=False)


def test_a_broken_task_gets_one_report_naming_every_problem():
    with pytest.raises(ConformanceError) as info:
        check_task(_Broken(), train=False)
    message = str(info.value)
    assert isinstance(info.value, AssertionError), "pytest must report it as a failed assertion"
    assert message.startswith("task 'broken' breaks the img2img Task contract")
    expected = [
        "make_condition: the condition (N, in_channels, H, W) must have shape (2, 3, 32, 32), got (2, 1, 32, 32)",
        "loss term 'nan_term': fn(fake, real, y) must be finite, got nan",
        "loss term 'l1': task 'broken': loss term 'l1' has the name of the engine's own term 'l1'",
        "loss term 'constant': fn(fake, real, y) must be differentiable with respect to fake",
        "metric 'batch_mean': fn(fake, real) (one value per image, shape (N,)) must have shape (2,), got ()",
        "app control 'strength': default 2.0 must lie between minimum and maximum",
        "app control 'strength': prepare_input must accept the keyword argument 'strength'",
        "make_condition: must return the same condition for the same generator seed",
        "prepare_input (default controls): raised TypeError",
    ]
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert len(info.value.problems) == len(expected), message
    assert "Traceback" not in message


@pytest.mark.parametrize("name", ["spectral", "perceptual", "feature_matching", "d_adversarial"])
def test_every_engine_term_name_is_reserved_with_the_message_training_gives(name):
    """The kit and the trainer read the one list of engine terms (img2img.losses.ENGINE_TERMS), and say the same."""
    from img2img.errors import PluginError
    from img2img.losses import ENGINE_TERMS, check_term_names

    class Shadowing(_Fine):
        def loss_terms(self):
            return [img2img.LossTerm(name, lambda fake, real, y: (fake - real).abs().mean(), models=("regression",))]

    Shadowing.name = f"shadow_{name}"
    assert name in ENGINE_TERMS
    problems = find_problems(Shadowing(), train=False)
    assert [p.where for p in problems] == [f"loss term '{name}'"]
    with pytest.raises(PluginError) as info:
        check_term_names(Shadowing())
    assert problems[0].message == str(info.value)
    assert f"loss term '{name}' has the name of the engine's own term '{name}'" in str(info.value)


def test_a_non_deterministic_condition_is_named():
    class Noisy(_Fine):
        name = "noisy"

        def make_condition(self, x, generator):
            return (x + 0.1 * torch.randn(x.shape)).clamp(-1, 1)  # ignores the generator

    problems = find_problems(Noisy(), train=False)
    assert [p.where for p in problems] == ["make_condition"]
    assert "same condition for the same generator seed" in problems[0].message


def test_registration_errors_stop_early_with_the_registration_message():
    class NoDescription(_Fine):
        name = "nodesc"
        description = ""

    with pytest.raises(ConformanceError, match="registration: task 'nodesc' needs a one-line description"):
        check_task(NoDescription())


def test_a_crashing_method_is_reported_not_raised():
    class Crashes(_Fine):
        name = "crashes"

        def condition_preview(self, y):
            raise RuntimeError("boom")

    problems = find_problems(Crashes(), train=False)
    assert [str(p) for p in problems] == ["condition_preview: raised RuntimeError: boom"]


def test_a_bad_work_scale_work_detail_and_a_resize_condition_of_the_wrong_size_are_named():
    class WrongResize(_Fine):
        name = "wrongresize"
        work_scale = -2
        work_detail = "yes"

        def resize_condition(self, y, size):
            return y  # ignores the size it was asked for

    problems = find_problems(WrongResize(), train=False)
    assert [p.where for p in problems] == ["work_scale", "work_detail", "resize_condition"]
    assert "positive number" in problems[0].message and "True or False" in problems[1].message
    assert "must have shape" in problems[2].message


def test_the_kit_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    find_problems(_Fine(), train=False)
    assert torch.equal(torch.rand(3), expected)


def test_conformance_test_builds_a_pytest_test(tmp_path):
    test = conformance_test(_Fine, train=False)
    test(tmp_path)  # passes; a factory (the class) is called when the test runs


def test_training_failures_are_reported(tmp_path):
    class BadDefaults(_Fine):
        name = "baddefaults"
        defaults = {"generator.ngf": "wide"}

    problems = find_problems(BadDefaults(), tmp_path=tmp_path)
    assert any(p.where == "defaults" and "generator.ngf must be an integer" in p.message for p in problems)
    assert any(p.where.startswith("tiny training") for p in problems)


def test_unknown_task_name_is_one_problem():
    assert [p.where for p in find_problems("no-such-task-anywhere")] == ["registration"]


def test_prepare_input_must_accept_what_the_host_sends_for_its_controls():
    class Picky(_Fine):
        name = "picky"
        app = img2img.AppHints(controls=[
            img2img.Control("amount", "Amount", "slider", 0.25, minimum=0.0, maximum=1.0),
            img2img.Control("strong", "Strong", "checkbox", False),
        ])

        def prepare_input(self, image, amount=0.3, strong=False, **_):
            if not isinstance(amount, float) or not isinstance(strong, bool):
                raise TypeError(f"got {amount!r}, {strong!r}")
            if amount == 1.0 or strong:  # breaks at the slider's end and with the box ticked
                raise ValueError("cannot do that")
            return image

    problems = [str(p) for p in find_problems(Picky(), train=False)]
    assert problems == ["prepare_input (amount=1.0): raised ValueError: cannot do that",
                        "prepare_input (strong=True): raised ValueError: cannot do that"]


def test_a_task_that_refuses_its_own_declared_default_is_named():
    class Disagrees(_Fine):
        name = "disagrees"
        app = img2img.AppHints(controls=[img2img.Control("mode", "Mode", "choice", "fast", choices=["fast", "slow"])])

        def prepare_input(self, image, mode="slow", **_):
            if mode != "slow":
                raise ValueError(f"unknown mode {mode}")
            return image

    problems = [str(p) for p in find_problems(Disagrees(), train=False)]
    assert problems == ["prepare_input (default controls): raised ValueError: unknown mode fast"]


@pytest.mark.parametrize("control, fragment", [
    (img2img.Control("level", "Level", "slider", 0.5, maximum=float("inf")), "needs finite numbers"),
    (img2img.Control("level", "Level", "slider", float("nan")), "default nan must lie between minimum and maximum"),
    (img2img.Control("level", "Level", "checkbox", "yes"), "a checkbox default must be True or False"),
    (img2img.Control("level", "Level", "choice", "c", choices=["a", "b"]), "default 'c' is not one of its choices"),
])
def test_an_invalid_control_declaration_is_named(control, fragment):
    class Declares(_Fine):
        name = "declares"
        app = img2img.AppHints(controls=[control])

    problems = [str(p) for p in find_problems(Declares(), train=False)]
    assert any(p.startswith("app control 'level'") and fragment in p for p in problems), problems
