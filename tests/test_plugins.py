from __future__ import annotations

import types
from pathlib import Path

import pytest

import img2img
from img2img import hookspecs
from img2img.errors import UnknownTaskError
from img2img.plugins import PluginHost, load_plugins


class _Good(img2img.Task):
    name = "good"
    description = "a fine task"

    def make_condition(self, x, generator):
        return x


def _plugin(register_fn):
    module = types.ModuleType("fake_plugin")
    module.register_tasks = img2img.hookimpl(register_fn)
    return module


def _host_with(**plugins) -> PluginHost:
    host = PluginHost()
    for name, plugin in plugins.items():
        host.add_plugin(plugin, name, "1.0")
    return host


def test_builtin_uncrop_is_found_through_its_entry_point():
    host = load_plugins()
    info = host.tasks["uncrop"]
    assert info.plugin == "uncrop" and info.version == img2img.__version__
    assert type(info.task).__module__ == "img2img_plugins.uncrop"


def test_allow_list_from_environment(monkeypatch):
    monkeypatch.setenv("IMG2IMG_PLUGINS", "nothing-by-that-name")
    assert load_plugins().names() == []
    monkeypatch.setenv("IMG2IMG_PLUGINS", "uncrop")
    assert "uncrop" in load_plugins().names()


def test_a_good_plugin_registers():
    host = _host_with(mine=_plugin(lambda register: register(_Good())))
    assert host.names() == ["good"] and host.tasks["good"].plugin == "mine" and not host.broken


@pytest.mark.parametrize(
    "register_fn, message",
    [
        (lambda register: register(_Good), "registered the class _Good; register an instance"),
        (lambda register: register("good"), "not an img2img.Task instance"),
        (lambda register: register(type("Bad", (_Good,), {"name": "Bad Name"})()), "lowercase letters"),
        (lambda register: register(type("NoDesc", (_Good,), {"name": "nodesc", "description": ""})()), "description"),
        (lambda register: register(type("Ch", (_Good,), {"name": "ch", "in_channels": 0})()), "in_channels=0"),
        (lambda register: register(type("NoCond", (img2img.Task,), {"name": "nocond", "description": "d"})()),
         "does not define make_condition"),
        (lambda register: 1 / 0, "raised in register_tasks: ZeroDivisionError"),
        (lambda register: register(type("P", (_Good,), {"name": "p", "app": img2img.AppHints(input_kind="paint")})()),
         "paints (app.input_kind='paint') but has no app.palette"),
        (lambda register: register(type("P", (_Good,), {"name": "p", "app": img2img.AppHints(
            input_kind="paint", palette=[("wall", "blue")])})()), "entries must be (name, '#rrggbb')"),
        (lambda register: register(type("H", (_Good,), {"name": "h", "option_help": {"speed": "how fast"}})()),
         "option_help names options it does not have: speed"),
        (lambda register: register(type("H", (_Good,), {"name": "h", "default_options": {"speed": 1},
                                                       "option_help": {"speed": 3}})()), "option_help must be a dict"),
        (lambda register: register(type("L", (_Good,), {"name": "l", "legacy_options": {"speed": 1}})()),
         "legacy_options must be a dict of options it has"),
    ],
)
def test_broken_plugins_are_named_and_skipped(register_fn, message):
    with pytest.warns(UserWarning, match="skipping plugin 'bad'"):
        host = _host_with(bad=_plugin(register_fn), fine=_plugin(lambda register: register(_Good())))
    assert host.names() == ["good"], "the healthy plugin keeps working"
    (broken,) = host.broken
    assert broken.plugin == "bad" and message in broken.error


def test_duplicate_task_name_is_refused_and_names_both_plugins():
    with pytest.warns(UserWarning):
        host = _host_with(first=_plugin(lambda register: register(_Good())),
                          second=_plugin(lambda register: register(_Good())))
    assert host.tasks["good"].plugin == "first"
    assert "already registered by plugin 'first'" in host.broken[0].error


def test_a_plugin_is_all_or_nothing():
    def half(register):
        register(_Good())
        raise RuntimeError("boom after the first task")

    with pytest.warns(UserWarning):
        host = _host_with(half=_plugin(half))
    assert host.names() == []


def test_plugin_that_fails_to_import_is_reported(monkeypatch):
    class FakeEntryPoint:
        name, value, group, dist = "exploding", "exploding_module", "img2img", None

        def load(self):
            raise ImportError("No module named 'exploding_module'")

    monkeypatch.setattr("img2img.plugins.entry_points", lambda group: [FakeEntryPoint()])
    with pytest.warns(UserWarning, match="exploding"):
        host = load_plugins()
    assert host.broken[0].plugin == "exploding" and "failed to import" in host.broken[0].error
    with pytest.raises(UnknownTaskError, match="unavailable"):
        host.get("exploding")


def test_unknown_task_suggests_a_close_name():
    with pytest.raises(UnknownTaskError, match="did you mean 'uncrop'"):
        load_plugins().get("uncorp")


def test_every_hook_is_documented():
    """Like datasette: each hookspec has a docstring and appears in docs/plugins.md if that guide exists."""
    specs = [name for name in dir(hookspecs) if getattr(getattr(hookspecs, name), "img2img_spec", None)]
    assert specs == ["register_tasks"]
    for name in specs:
        assert getattr(hookspecs, name).__doc__
    guide = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
    if guide.exists():
        text = guide.read_text()
        for name in specs:
            assert name in text


def test_hook_with_wrong_argument_names_is_reported():
    with pytest.warns(UserWarning):
        host = _host_with(typo=_plugin(lambda regster: None))
    assert host.broken[0].plugin == "typo" and "cannot be registered" in host.broken[0].error
