"""docs/plugins.md must stay true: its minimal plugin passes the conformance kit, every Python snippet compiles,
every TOML snippet parses, and every `img2img ...` command line is accepted by the CLI's parser."""

from __future__ import annotations

import re
import shlex
import sys
import types
from pathlib import Path

import pytest

import img2img
from img2img.cli import build_parser
from img2img.plugins import PluginHost
from img2img.testing import check_task, find_problems
from paired_data import drawing_to_picture

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
MINIMAL_HEADING = "## A complete minimal plugin"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(text: str, lang: str) -> list[str]:
    return [body for kind, body in _FENCE.findall(text) if kind == lang]


def minimal_plugin_source() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    assert MINIMAL_HEADING in text, f"{GUIDE} lost its '{MINIMAL_HEADING}' section"
    section = text.split(MINIMAL_HEADING, 1)[1].split("\n## ", 1)[0]
    found = blocks(section, "python")
    assert found, f"no ```python block under '{MINIMAL_HEADING}'"
    return found[0]


def test_the_minimal_plugin_in_the_guide_passes_the_conformance_kit(tmp_path):
    module = types.ModuleType("doc_example")
    exec(compile(minimal_plugin_source(), f"{GUIDE}:minimal plugin", "exec"), module.__dict__)
    host = PluginHost()
    host.add_plugin(module, "doc-example")
    assert not host.broken and len(host.names()) == 1
    check_task(host.get(host.names()[0]), tmp_path=tmp_path)


def test_every_python_snippet_runs_and_its_tasks_conform(monkeypatch, tmp_path):
    # The snippets import the guide's package as `img2img_unblur`: make it the minimal plugin above.
    package = types.ModuleType("img2img_unblur")
    exec(compile(minimal_plugin_source(), f"{GUIDE}:minimal plugin", "exec"), package.__dict__)
    monkeypatch.setitem(sys.modules, "img2img_unblur", package)
    for i, source in enumerate(blocks(GUIDE.read_text(encoding="utf-8"), "python")):
        name = f"doc_snippet_{i}"
        namespace = {"__name__": name}
        exec(compile(source, f"{GUIDE}:python block {i}", "exec"), namespace)
        tasks = [obj for obj in namespace.values()
                 if isinstance(obj, type) and issubclass(obj, img2img.Task) and obj.__module__ == name]
        for cls in tasks:
            # Tasks built on `paired` learn from the user's pairs only: give them a few.
            data = drawing_to_picture(tmp_path / f"pairs{i}", n=40) if cls.paired else None
            problems = find_problems(cls(), data, train=False)
            assert not problems, f"python block {i}: {cls.__name__}: {problems}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_every_toml_snippet_parses_and_declares_the_entry_point():
    import tomllib

    snippets = blocks(GUIDE.read_text(encoding="utf-8"), "toml")
    assert snippets
    for source in snippets:
        data = tomllib.loads(source)
        assert data["project"]["entry-points"]["img2img"]


def test_every_command_line_in_the_guide_parses():
    parser = build_parser()
    commands = []
    for block in blocks(GUIDE.read_text(encoding="utf-8"), "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("img2img "):
                commands.append(shlex.split(line)[1:])
    assert any(c[0] == "new-task" for c in commands)
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"the guide's command `img2img {' '.join(argv)}` is rejected by the CLI")


def test_the_guide_names_the_hook_the_kit_and_the_allow_list():
    text = GUIDE.read_text(encoding="utf-8")
    for needle in ("register_tasks", "[project.entry-points.img2img]", "img2img.testing", "check_task",
                   "img2img new-task", "IMG2IMG_PLUGINS", "task_options.", "defaults", "LossTerm", "models=",
                   "(index, seed)", "x.device", "img2img tasks"):
        assert needle in text, needle
