"""docs/plugins.md must stay true: its minimal plugin passes the conformance kit, every Python snippet compiles,
every TOML snippet parses, and every `img2img ...` command line is accepted by the CLI's parser."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
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


# -- docs/api.md: the reference covers every public name, with the signatures the code has ---------------
API = GUIDE.parent / "api.md"
README = GUIDE.parents[1] / "README.md"


def _section(text: str, heading: str) -> str:
    assert f"\n## {heading}\n" in text, f"{API} lost its '## {heading}' section"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _public_members(cls: type) -> list[str]:
    names = [n for n in vars(cls) if not n.startswith("_")]
    if dataclasses.is_dataclass(cls):
        names += [f.name for f in dataclasses.fields(cls)]
    return sorted(set(names))


def _plain_signature(name: str, fn) -> str:
    """``name(a, b="x", *, c=1, **kw)`` as the reference writes it: no annotations, no self, double quotes."""
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            default = p.default
            if repr(default) == "<factory>":  # a dataclass field's default_factory
                default = {f.name: f for f in dataclasses.fields(fn)}[p.name].default_factory()
            parts.append(f"{p.name}={default!r}".replace("'", '"'))
    return f"{name}({', '.join(parts)})"


def test_the_api_reference_documents_every_public_name_of_img2img():
    section = _section(API.read_text(encoding="utf-8"), "`img2img` (top level)")
    for name in img2img.__all__:
        assert f"`{name}`" in section, f"img2img.{name} is not in the top-level table of {API}"


@pytest.mark.parametrize("cls", [img2img.Task, img2img.Control, img2img.LossTerm, img2img.AppHints])
def test_the_api_reference_documents_every_member(cls):
    section = _section(API.read_text(encoding="utf-8"), f"`{cls.__name__}`")
    members = _public_members(cls) + (["options"] if cls is img2img.Task else [])
    missing = [m for m in members if f"`{m}`" not in section and f"**`{m}(" not in section]
    assert not missing, f"{cls.__name__} members missing from its section of {API}: {missing}"


def test_the_api_reference_has_the_signatures_of_the_code():
    from img2img import seeding, testing
    from img2img.plugins import load_plugins
    from img2img.task import resolve_controls

    text = API.read_text(encoding="utf-8")
    functions = {"load_model": img2img.load_model, "translate": img2img.translate,
                 "make_generator": seeding.make_generator, "load_plugins": load_plugins,
                 "resolve_controls": resolve_controls, "check_task": testing.check_task,
                 "conformance_test": testing.conformance_test, "convert": img2img.Control.convert,
                 "Control": img2img.Control, "LossTerm": img2img.LossTerm, "AppHints": img2img.AppHints}
    functions |= {name: getattr(img2img.Task, name) for name in _public_members(img2img.Task)
                  if callable(getattr(img2img.Task, name))}
    for name, fn in functions.items():
        signature = _plain_signature(name, fn)
        assert signature in text, f"{API} does not show {signature}"
    for name in testing.__all__:
        assert f"`{name}" in text or f"**`{name}" in text, f"img2img.testing.{name} is not in {API}"


def test_the_guide_and_the_readme_link_the_reference():
    assert "(api.md)" in GUIDE.read_text(encoding="utf-8")
    assert "(docs/api.md)" in README.read_text(encoding="utf-8")


# -- the product's documents: lengths, commands that parse, a snippet that runs, no lab notebook -----------------
ROOT = GUIDE.parents[1]
CLI_DOC = GUIDE.parent / "cli.md"
CARDS = sorted((ROOT / "weights").glob("*.md"))
LIMITS = {README: 170, GUIDE.parent / "performance.md": 360, GUIDE.parent / "experiments.md": 300} | \
    {card: 160 for card in CARDS if card.name != "README.md"}
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def test_the_documents_stay_short():
    assert len(CARDS) >= 5, "weights/ lost its model cards"
    for path, limit in LIMITS.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines (at most {limit})"


def test_scripts_holds_at_most_five_product_tools():
    files = [p for p in (ROOT / "scripts").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) <= 5, sorted(p.name for p in files)


def _commands(path: Path) -> list[list[str]]:
    commands = []
    for block in blocks(path.read_text(encoding="utf-8"), "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("img2img "):
                commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("doc", [README, CLI_DOC, ROOT / "weights" / "README.md"], ids=lambda p: p.name)
def test_every_command_line_parses(doc):
    parser = build_parser()
    commands = _commands(doc)
    assert commands, f"{doc.name} shows no img2img command"
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{doc.name}: `img2img {' '.join(argv)}` is rejected by the CLI")


def test_the_readme_shows_every_main_command():
    shown = {argv[0] for argv in _commands(README)}
    assert {"train", "predict", "eval", "tasks", "export", "app", "new-task"} <= shown
    assert "make test" in README.read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _doc_sections() -> dict[str, str]:
    """docs/cli.md's text per command: a heading names one or more commands (`img2img tasks`, `export`, ...)."""
    sections = {}
    for part in CLI_DOC.read_text(encoding="utf-8").split("\n## ")[1:]:
        heading, body = part.split("\n", 1)
        for name in re.findall(r"`(?:img2img )?([a-z-]+)`", heading):
            sections[name] = sections.get(name, "") + body
    return sections


def test_the_cli_reference_names_every_option_of_the_parser_and_no_other():
    sections = _doc_sections()
    for name, sub in _subcommands().items():
        assert name in sections, f"docs/cli.md has no section for `img2img {name}`"
        options = {s for a in sub._actions for s in a.option_strings if s.startswith("--")} - {"--help", "--debug"}
        documented = set(_OPTION.findall(sections[name]))
        assert not options - documented, f"docs/cli.md, `{name}`: undocumented options {sorted(options - documented)}"
    every = {s for sub in _subcommands().values() for a in sub._actions for s in a.option_strings}
    # Options of other commands are named in prose (e.g. `predict --max-side` under eval); none may be invented.
    unknown = set(_OPTION.findall(CLI_DOC.read_text(encoding="utf-8"))) - every
    assert not unknown, f"docs/cli.md names options the parser lacks: {sorted(unknown)}"


def test_train_help_is_grouped():
    train = _subcommands()["train"]
    titles = {group.title for group in train._action_groups}
    assert {"data", "model", "schedule", "validation", "output", "run"} <= titles


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's "Use it from Python" block, executed on the shipped weights with small inputs."""
    from PIL import Image, ImageDraw

    source = blocks(README.read_text(encoding="utf-8"), "python")
    assert len(source) == 1, "the README should have one python block"
    sketch = Image.new("RGB", (96, 96), "white")
    ImageDraw.Draw(sketch).line([(10, 70), (40, 30), (80, 40), (85, 75), (10, 70)], fill="black", width=2)
    sketch.save(tmp_path / "sketch.png")
    photo = Image.effect_noise((48, 40), 60).convert("RGB")
    photo.save(tmp_path / "photo.jpg")
    (tmp_path / "photos").mkdir()
    for i in range(2):
        photo.rotate(90 * i).save(tmp_path / "photos" / f"{i}.jpg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMG2IMG_BACKEND", "torch")  # no ONNX export here: the snippet's API, not the backend
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(source[0], f"{README}:python block", "exec"), namespace)
    assert len(list(tmp_path.glob("shoe_*.png"))) == 4
    assert len(namespace["wider"]) == 2 and namespace["wider"][0].size[0] > 48
    assert sorted(p.name for p in (tmp_path / "restored").iterdir()) == ["0.jpg", "1.jpg"]


# A training-run folder of one machine: the runs beside a checkout, a numbered round's folder, an absolute home.
RUN_FOLDER = re.compile(r"\.\./runs/|/work/|(?<![\w.-])runs/v\d+|RUNS=\.\./runs")
WORK_DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b|\bsession \d+\b", re.I)


def _tracked(*, outside_tests: bool = True) -> list[Path]:
    import subprocess

    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / n for n in names.splitlines() if not (outside_tests and n.startswith("tests/"))]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return ""  # binary (weights, figures) or gone from the work tree


def test_no_tracked_file_names_a_training_run_folder():
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in _tracked() for m in RUN_FOLDER.finditer(_text(p))]
    assert not found, found[:10]


def test_the_product_documents_name_no_dates_or_sessions_of_work():
    docs = [p for p in _tracked() if p.suffix == ".md" or p.parts[len(ROOT.parts)] in ("scripts", "weights")]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in docs for m in WORK_DATE.finditer(_text(p))]
    assert not found, found[:10]
