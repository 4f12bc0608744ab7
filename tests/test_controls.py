"""The host owns the control contract: whatever the user typed (``predict --option``), clicked (the app) or passed
(the Python API), ``prepare_input`` receives every declared control, converted to its kind and within range."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import img2img
from img2img.cli import main
from img2img.config import GeneratorConfig
from img2img.errors import ConfigError, PluginError
from img2img.inference import Translator
from img2img.models import UNetGenerator
from img2img.plugins import PluginHost, TaskInfo
from img2img.task import Control, resolve_controls
from img2img.weights import save_generator

SLIDER = Control("darkness", "Darkness", "slider", 0.5, minimum=0.0, maximum=1.0)
CHECKBOX = Control("boost", "Boost", "checkbox", False)
CHOICE = Control("mode", "Mode", "choice", "soft", choices=["soft", "hard"])
NUMBERS = Control("passes", "Passes", "choice", 2, choices=[1, 2, 4])


class Recorder(img2img.Task):
    """A task whose prepare_input keeps what the host gave it."""

    name = "recorder"
    description = "Records the controls it receives."
    app = img2img.AppHints(controls=[SLIDER, CHECKBOX, CHOICE, NUMBERS])
    seen: list[dict[str, Any]] = []

    def make_condition(self, x, generator):
        return x

    def prepare_input(self, image, **controls):
        type(self).seen.append(dict(controls))
        return image


@pytest.fixture
def recorder() -> Recorder:
    Recorder.seen = []
    return Recorder()


def test_each_kind_is_converted():
    assert SLIDER.convert("0.3") == 0.3 and isinstance(SLIDER.convert(1), float)
    assert SLIDER.convert(np.float32(0.25)) == 0.25 and SLIDER.convert(torch.tensor(0.75)) == 0.75
    for raw, want in [("true", True), ("YES", True), ("1", True), (1, True), ("off", False), ("0", False),
                      ("no", False), (False, False), (np.bool_(True), True)]:
        assert CHECKBOX.convert(raw) is want, raw
    assert CHOICE.convert("hard") == "hard"
    assert NUMBERS.convert("4") == 4 and isinstance(NUMBERS.convert("4"), int)  # "--option passes=4"


@pytest.mark.parametrize("control, value, fragment", [
    (SLIDER, "nan", "control 'darkness' must be a number from 0 to 1, got 'nan'"),
    (SLIDER, float("nan"), "got nan"),
    (SLIDER, math.inf, "got inf"),
    (SLIDER, "2", "from 0 to 1, got '2'"),
    (SLIDER, -0.01, "got -0.01"),
    (SLIDER, "very", "got 'very'"),
    (SLIDER, True, "got True"),
    (SLIDER, [0.5], "got [0.5]"),
    (CHECKBOX, "very", "control 'boost' is a checkbox: true or false (also 1/0, yes/no), got 'very'"),
    (CHECKBOX, 2, "got 2"),
    (CHECKBOX, 0.5, "got 0.5"),
    (CHOICE, "medium", "control 'mode' must be one of soft, hard, got 'medium'"),
    (NUMBERS, True, "must be one of 1, 2, 4, got True"),
])
def test_bad_values_are_refused_in_one_line_naming_the_control(control, value, fragment):
    with pytest.raises(ConfigError) as info:
        control.convert(value)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_every_control_is_resolved_with_its_default(recorder):
    assert resolve_controls(recorder, {}) == {"darkness": 0.5, "boost": False, "mode": "soft", "passes": 2}
    given = resolve_controls(recorder, {"darkness": "1", "boost": "yes", "mode": None})
    assert given == {"darkness": 1.0, "boost": True, "mode": "soft", "passes": 2}
    assert resolve_controls(recorder, given) == given  # converting twice changes nothing
    with pytest.raises(ConfigError, match=r"task 'recorder' has no control 'darknes' \(controls: darkness, boost, "
                                          r"mode, passes\)"):
        resolve_controls(recorder, {"darknes": 0.2})
    with pytest.raises(ConfigError, match="^task 'recorder': control 'darkness' must be a number from 0 to 1"):
        resolve_controls(recorder, {"darkness": 2})


def test_an_invalid_declared_default_is_the_plugins_fault():
    class BadDefault(Recorder):
        name = "baddefault"
        app = img2img.AppHints(controls=[Control("amount", "Amount", "slider", 2.0)])

    with pytest.raises(PluginError, match="task 'baddefault' declares an invalid default: control 'amount'"):
        resolve_controls(BadDefault(), {})


# -- the three entry points ----------------------------------------------------------------------------
@pytest.fixture
def weights(tmp_path) -> Path:
    """Untrained (deterministic) weights for the recorder: the conversion happens before the generator runs."""
    torch.manual_seed(0)
    generator = UNetGenerator(GeneratorConfig(ngf=8, max_mult=2, depth=3, nz=0), size=32)
    for model in ("cgan", "regression"):
        save_generator(tmp_path / f"recorder-{model}.safetensors", generator, task="recorder", model=model,
                       train_size=32, step=0)
    return tmp_path


def _host(task: img2img.Task) -> PluginHost:
    host = PluginHost()
    host.tasks["recorder"] = TaskInfo(task, "recorder", "0")
    return host


def _assert_typed(controls: dict[str, Any]) -> None:
    assert set(controls) == {"darkness", "boost", "mode", "passes"}
    assert type(controls["darkness"]) is float and 0.0 <= controls["darkness"] <= 1.0
    assert type(controls["boost"]) is bool and controls["mode"] in ("soft", "hard") and controls["passes"] in (1, 2, 4)


def test_python_api_converts_and_fills_in(recorder, weights, monkeypatch):
    monkeypatch.setattr("img2img.plugins.load_plugins", lambda *a, **k: _host(recorder))
    translator = img2img.load_model("recorder", weights=weights / "recorder-cgan.safetensors", device="cpu")
    image = Image.new("RGB", (32, 32), (90, 20, 200))
    img2img.translate(image, "recorder", weights=weights / "recorder-cgan.safetensors", darkness=1, boost=1)
    translator.translate(torch.zeros(1, 3, 32, 32))
    assert Recorder.seen == [{"darkness": 1.0, "boost": True, "mode": "soft", "passes": 2},
                             {"darkness": 0.5, "boost": False, "mode": "soft", "passes": 2}]
    for seen in Recorder.seen:
        _assert_typed(seen)
    with pytest.raises(ConfigError, match="control 'darkness' must be a number from 0 to 1, got nan"):
        translator.translate(torch.zeros(1, 3, 32, 32), darkness=float("nan"))
    assert len(Recorder.seen) == 2  # a refused value never reaches the plugin


def test_predict_options_are_converted(recorder, weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("img2img.plugins.load_plugins", lambda *a, **k: _host(recorder))
    Image.new("RGB", (32, 32), (10, 120, 40)).save(tmp_path / "in.png")
    base = ["predict", "--task", "recorder", "--weights", str(weights / "recorder-cgan.safetensors"),
            "--input", str(tmp_path / "in.png"), "--backend", "torch"]
    assert main([*base, "--output", str(tmp_path / "a.png"), "--option", "darkness=1", "--option", "boost=yes",
                 "--option", "passes=4"]) == 0
    assert Recorder.seen == [{"darkness": 1.0, "boost": True, "mode": "soft", "passes": 4}]
    _assert_typed(Recorder.seen[0])
    capsys.readouterr()
    for option, fragment in [("darkness=2", "control 'darkness' must be a number from 0 to 1, got '2'"),
                             ("darkness=nan", "got 'nan'"),
                             ("boost=very", "control 'boost' is a checkbox"),
                             ("mode=medium", "control 'mode' must be one of soft, hard"),
                             ("dark=0.1", "has no control 'dark' (controls: darkness, boost, mode, passes)")]:
        assert main([*base, "--output", str(tmp_path / "b.png"), "--option", option]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], (option, err)
    assert not (tmp_path / "b.png").exists() and len(Recorder.seen) == 1


def test_the_app_converts_and_fills_in(recorder, weights):
    from img2img.app.service import AppService

    service = AppService(_host(recorder), weights, device="cpu", backend="torch")
    image = Image.new("RGB", (32, 32), (200, 200, 30))
    service.generate("recorder", image, k=1, controls={"darkness": 0, "mode": "hard"}, interpolation_steps=0)
    assert Recorder.seen == [{"darkness": 0.0, "boost": False, "mode": "hard", "passes": 2}]
    _assert_typed(Recorder.seen[0])
    with pytest.raises(ConfigError, match="control 'darkness' must be a number from 0 to 1, got 1.5"):
        service.generate("recorder", image, k=1, controls={"darkness": 1.5}, interpolation_steps=0)
    assert len(Recorder.seen) == 1


def test_translator_condition_is_the_one_place(recorder, weights):
    translator = Translator(recorder, weights / "recorder-cgan.safetensors", device="cpu", backend="torch")
    translator.condition(torch.zeros(1, 3, 32, 32), darkness="0.25")
    assert Recorder.seen == [{"darkness": 0.25, "boost": False, "mode": "soft", "passes": 2}]
