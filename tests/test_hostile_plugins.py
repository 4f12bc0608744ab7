"""Broken third-party plugins next to the real ones, found through (patched) entry points exactly as installed
plugins are: one that raises on import, one that calls sys.exit on import, one that takes a built-in task's name,
and two that hand garbage to / return garbage from the hook. The host names each one and skips it; the
built-in tasks keep working in ``img2img tasks``, ``img2img train`` and the app."""

from __future__ import annotations

import sys
import types
from importlib.metadata import entry_points

import pytest

import img2img
from img2img.cli import main
from img2img.plugins import ENTRY_POINT_GROUP, load_plugins

REAL = list(entry_points(group=ENTRY_POINT_GROUP))


class _FakeEntryPoint:
    group = ENTRY_POINT_GROUP
    dist = None  # a third party's: not the img2img distribution

    def __init__(self, name: str, load) -> None:
        self.name, self.value, self._load = name, f"{name.replace('-', '_')}_module", load

    def load(self):
        return self._load()


def _module(register_tasks) -> types.ModuleType:
    module = types.ModuleType("fake_plugin")
    module.register_tasks = img2img.hookimpl(register_tasks)
    return module


def _raise_on_import():
    raise RuntimeError("boom while importing")


def _exit_on_import():
    sys.exit("this plugin quits the interpreter")


def _duplicate():
    def register_tasks(register):
        uncrop_type = type(load_plugins(allow=["uncrop"]).get("uncrop"))
        register(uncrop_type())  # a second task called "uncrop"

    return _module(register_tasks)


BROKEN = {
    "aaa-steals-uncrop": ("already registered by plugin 'uncrop'", _duplicate),
    "raises-on-import": ("failed to import raises_on_import_module: RuntimeError: boom while importing", _raise_on_import),
    "exits-on-import": ("SystemExit: this plugin quits the interpreter", _exit_on_import),
    "returns-garbage": ("register_tasks returned [1, 2, 3]", lambda: _module(lambda register: [1, 2, 3])),
    "registers-garbage": ("not an img2img.Task instance", lambda: _module(lambda register: register(object()))),
}


@pytest.fixture
def hostile_plugins(monkeypatch):
    fakes = [_FakeEntryPoint(name, load) for name, (_, load) in BROKEN.items()]
    monkeypatch.setattr("img2img.plugins.entry_points", lambda group: [*fakes, *REAL] if group == ENTRY_POINT_GROUP else [])
    monkeypatch.delenv("IMG2IMG_PLUGINS", raising=False)


def test_host_names_and_skips_each_broken_plugin(hostile_plugins):
    with pytest.warns(UserWarning, match="skipping plugin"):
        host = load_plugins()
    broken = {b.plugin: b.error for b in host.broken}
    assert set(broken) == set(BROKEN)
    for name, (fragment, _) in BROKEN.items():
        assert fragment in broken[name], (name, broken[name])
    assert {"restore", "sketch2photo", "uncrop"} <= set(host.names())
    assert host.tasks["uncrop"].plugin == "uncrop", "the built-in keeps its name"


def test_cli_tasks_lists_broken_lines_and_train_still_works(hostile_plugins, tmp_path, capsys):
    with pytest.warns(UserWarning):
        assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in BROKEN:
        assert any(line.startswith(f"BROKEN  {name}: ") for line in out.splitlines()), out
    assert any(line.split()[0] == "uncrop" for line in out.splitlines())
    with pytest.warns(UserWarning):
        code = main(["train", "--task", "uncrop", "--steps", "1", "--out", str(tmp_path / "r"), "--size", "32",
                     "--batch-size", "2", "--num-workers", "0", "--quiet", "--set", "generator.ngf=8",
                     "--set", "discriminator.ndf=8", "--set", "discriminator.n_layers=2"])
    assert code == 0 and (tmp_path / "r" / "uncrop-cgan.safetensors").is_file()
    with pytest.warns(UserWarning):
        code = main(["train", "--task", "raises-on-import"])
    err = capsys.readouterr().err
    assert code != 0 and "task 'raises-on-import' is unavailable: failed to import" in err


def test_app_builds_tabs_for_the_good_tasks(hostile_plugins, tmp_path):
    pytest.importorskip("gradio")
    import gradio as gr

    from img2img.app.ui import build_app

    with pytest.warns(UserWarning):
        host = load_plugins()
    demo = build_app(host, tmp_path, device="cpu")  # no weights: tabs explain how to train them
    tabs = {block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert {"restore", "sketch2photo", "uncrop"} <= tabs
    assert not tabs & set(BROKEN)
    notes = " ".join(str(block.value) for block in demo.blocks.values() if isinstance(block, gr.Markdown))
    for name in BROKEN:
        assert f"Plugin `{name}` failed to load" in notes
