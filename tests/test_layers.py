"""The layers of the img2img package: nothing lower imports anything higher.

Every module is read with ``ast`` (not imported): module-level and function-level imports alike, relative ones
resolved to absolute names. The engine, models, losses, metrics, data and features never import the
command-line level (evaluate and its eval_inputs, cli, app, inference), and only the app imports gradio.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import img2img

PACKAGE_DIR = Path(img2img.__file__).resolve().parent
LOWER = ("img2img.engine", "img2img.models", "img2img.losses", "img2img.metrics", "img2img.data", "img2img.features")
HIGHER = ("img2img.evaluate", "img2img.eval_inputs", "img2img.cli", "img2img.app", "img2img.inference")
GRADIO_ALLOWED = ("img2img.app",)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def imported_names(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the text of ``module`` (an ``__init__``
    when ``is_package``), wherever it stands. ``from A import b`` counts as A and as A.b (b may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise ValueError(f"{module}:{node.lineno}: relative import beyond the top-level package")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """One line per import of ``module`` that breaks the layers."""
    out: dict[tuple[int, str], str] = {}  # one line per import statement and rule: its first name that breaks it
    for line, name in imported_names(source, module, is_package):
        if _within(module, LOWER) and _within(name, HIGHER):
            out.setdefault((line, "layer"), f"{module}:{line} imports {name} (a lower layer imports a higher one)")
        if _within(name, ("gradio",)) and not _within(module, GRADIO_ALLOWED):
            out.setdefault((line, "gradio"), f"{module}:{line} imports {name} (only img2img.app may import gradio)")
    return [out[key] for key in sorted(out)]


def _modules() -> list[tuple[str, Path, bool]]:
    modules = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ["img2img", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        modules.append((".".join(parts[:-1] if is_package else parts), path, is_package))
    return modules


def test_the_walker_sees_every_layer_and_every_kind_of_import():
    names = {module for module, _, _ in _modules()}
    assert {"img2img.engine.validation", "img2img.metrics", "img2img.evaluate", "img2img.app"} <= names
    # A lazy relative import inside a function, two levels up: the mistake this test exists for.
    source = "def f():\n    if True:\n        from ..evaluate import _capped\n    return _capped\n"
    assert violations(source, "img2img.engine.validation") == [
        "img2img.engine.validation:3 imports img2img.evaluate (a lower layer imports a higher one)"]
    assert imported_names("from . import scoring\n", "img2img.metrics", is_package=True) == [
        (1, "img2img.metrics"), (1, "img2img.metrics.scoring")]
    assert violations("from .. import cli\n", "img2img.data.io") == [
        "img2img.data.io:1 imports img2img.cli (a lower layer imports a higher one)"]
    assert violations("import img2img.inference as inf\n", "img2img.models.unet")
    assert violations("import gradio as gr\n", "img2img.engine.trainer") == [
        "img2img.engine.trainer:1 imports gradio (only img2img.app may import gradio)"]
    assert violations("import gradio\n", "img2img.cli") and not violations("import gradio\n", "img2img.app.ui")
    # Same layer or downwards is fine; so is the command line importing the engine.
    assert not violations("from ..metrics.scoring import spread\n", "img2img.engine.validation")
    assert not violations("from .engine.trainer import Trainer\n", "img2img.cli")


@pytest.mark.parametrize("module, path, is_package", [pytest.param(*m, id=m[0]) for m in _modules()])
def test_no_lower_layer_imports_a_higher_one(module, path, is_package):
    assert violations(path.read_text(encoding="utf-8"), module, is_package) == []
