"""``img2img new-task NAME``: write a new task plugin package that passes the conformance kit as it stands.

The generated task is a working denoiser (self-supervised: the condition is the photo with random noise), so
``pip install -e`` + ``pytest`` succeed before a line is changed; the author then replaces its make_condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from .errors import Img2ImgError

# A letter first: the name also becomes part of a Python package and class name.
_TASK_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class ScaffoldError(Img2ImgError):
    """A bad task name or a target folder that is already in use."""


@dataclass(frozen=True)
class PluginNames:
    """The names derived from a task name, e.g. ``my-task``."""

    task: str  # "my-task": the task name and the entry-point name
    distribution: str  # "img2img-my-task": the name on PyPI / in ``pip install``
    package: str  # "img2img_my_task": the import name
    class_name: str  # "MyTaskTask"


def plugin_names(name: str) -> PluginNames:
    """Validate ``name`` and derive the distribution, package and class names from it."""
    if not _TASK_NAME_RE.match(name):
        raise ScaffoldError(f"task name {name!r} must start with a lowercase letter and use only lowercase letters, "
                            "digits, '-' or '_' (at most 64 characters)")
    words = [w for w in re.split(r"[-_]+", name) if w]
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    class_name = camel if camel.endswith("Task") else camel + "Task"
    package = "img2img_" + re.sub(r"[-_]+", "_", name).strip("_")
    return PluginNames(task=name, distribution=f"img2img-{name}", package=package, class_name=class_name)


def scaffold_plugin(name: str, directory: str | Path | None = None, check_registered: bool = True) -> Path:
    """Create the plugin package for task ``name`` in ``directory`` (default ``./img2img-NAME``).

    Refuses a directory that exists and is not empty, and (with ``check_registered``) a name that an installed
    plugin already uses. Returns the folder created.
    """
    names = plugin_names(name)
    target = Path(directory) if directory is not None else Path.cwd() / names.distribution
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not empty; choose another --dir")
    if check_registered:
        from .plugins import load_plugins

        if name in load_plugins().names():
            raise ScaffoldError(f"a task called '{name}' is already installed; choose another name")
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{names.package}/__init__.py": _PACKAGE,
        f"tests/test_{names.package.removeprefix('img2img_')}.py": _TEST,
        ".gitignore": _GITIGNORE,
    }
    values = {"task": names.task, "distribution": names.distribution, "package": names.package,
              "class_name": names.class_name}
    # Render everything before writing anything: a template error must not leave half a package behind.
    rendered = {path: Template(text).substitute(values) for path, text in files.items()}
    for rel, text in rendered.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


# -- templates (string.Template: $name placeholders, $$ for a literal dollar) ------------------------------
_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "An img2img task plugin: $task"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["img2img>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

# img2img discovers the task through this entry point: name = "module with the register_tasks hook".
[project.entry-points.img2img]
$task = "$package"

[tool.setuptools]
packages = ["$package"]
'''

_PACKAGE = '''\
"""$task: an img2img task plugin.

TODO: say what the model learns. As generated, it learns to remove random noise from photos: a working
starting point that passes `img2img.testing.check_task`. Replace make_condition with your own condition.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import img2img
from img2img.errors import ConfigError
from img2img.seeding import make_generator

__version__ = "0.1.0"


def colour_shift(fake: Tensor, real: Tensor) -> Tensor:
    """Mean absolute difference of the average colour, one value per image (shape (N,)).

    TODO: a starting point for your own measure. Used twice below: as a metric (``img2img eval`` reports its
    mean) and, averaged over the batch, as an extra loss term.
    """
    return (fake.mean(dim=(2, 3)) - real.mean(dim=(2, 3))).abs().mean(dim=1)


class $class_name(img2img.Task):
    """TODO: describe the task for other developers."""

    name = "$task"
    description = "TODO: one line shown by img2img tasks (as generated: remove random noise from a photo)."
    in_channels = 3  # channels of the condition y fed to the generator
    out_channels = 3  # channels of the output image x
    paired = False  # self-supervised: make_condition builds y from x, so any photo folder is training data
    default_options = {"noise_max": 0.3}  # change with --set task_options.noise_max=0.5
    option_help = {"noise_max": "strongest noise added in training, as a standard deviation in [0, 1]"}  # img2img tasks $task
    defaults: dict[str, Any] = {}  # TrainConfig overrides, e.g. {"generator.nz": 0}
    app = img2img.AppHints(
        input_kind="upload",
        input_label="Noisy photo",
        controls=[img2img.Control("add_noise", "Add noise first (to try it on a clean photo)", "checkbox", False)],
    )

    def validate_options(self) -> None:
        if not 0.0 < float(self.options["noise_max"]) <= 1.0:
            raise ConfigError("$task: task_options.noise_max must be in (0, 1]")

    def make_condition(self, x: Tensor, generator: torch.Generator) -> Tensor:
        # Every random number comes from `generator` (it lives on x.device): training stays reproducible.
        sigma = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device) * float(self.options["noise_max"])
        noise = torch.randn(x.shape, generator=generator, device=x.device)
        return (x + sigma * noise).clamp(-1, 1)

    def prepare_input(self, image: Tensor, add_noise: bool = False, **controls: Any) -> Tensor:
        # The user's image (1, 3, H, W in [-1, 1]) -> the condition y. `add_noise` is the app's checkbox: the
        # host always passes it, already a bool (`--option add_noise=yes` on the command line).
        if add_noise:
            return self.make_condition(image, make_generator(0, image.device))
        return image

    def loss_terms(self) -> list[img2img.LossTerm]:
        # fn(fake, real, y) -> a scalar; fake is the composed output (float32, on the training device). The
        # trainer adds weight * fn to the generator's loss and logs that weighted value as loss/colour.
        # Change the weight per run with --set loss.task_weights.colour=5.
        def colour(fake: Tensor, real: Tensor, y: Tensor) -> Tensor:
            return colour_shift(fake, real).mean()

        return [img2img.LossTerm("colour", colour, weight=10.0, models=("cgan", "regression"))]

    def metrics(self) -> dict[str, Any]:
        # name -> fn(fake, real) (or fn(fake, real, y)) returning one value per image; shown by img2img eval.
        return {"colour_shift": colour_shift}


@img2img.hookimpl
def register_tasks(register):
    register($class_name())
'''

_TEST = '''\
"""Tests for the $task plugin."""

from __future__ import annotations

import torch

from img2img.plugins import load_plugins
from img2img.testing import check_task

from $package import $class_name, colour_shift


def test_conforms_to_the_task_contract(tmp_path):
    # Every rule of the img2img Task contract, plus 2 training steps of both models and a prediction.
    check_task($class_name(), tmp_path=tmp_path)


def test_loss_term_is_zero_for_the_target_and_grows_with_a_colour_cast():
    (term,) = $class_name().loss_terms()
    real = torch.rand(2, 3, 16, 16) * 2 - 1
    assert float(term.fn(real, real, real)) == 0.0
    cast = (real + torch.tensor([0.2, 0.0, -0.2]).view(1, 3, 1, 1)).clamp(-1, 1)
    assert float(term.fn(cast, real, real)) > 0.05


def test_metric_gives_one_value_per_image():
    metric = $class_name().metrics()["colour_shift"]
    real = torch.rand(3, 3, 16, 16) * 2 - 1
    fake = real.clone()
    fake[1] = -1.0  # only the second image is wrong
    values = metric(fake, real)
    assert values.shape == (3,) and values[0] == 0 and values[2] == 0 and values[1] > 0
    assert torch.equal(values, colour_shift(fake, real))


def test_is_discovered_through_its_entry_point():
    # Needs the package installed: pip install -e .
    assert "$task" in load_plugins().names()
'''

_README = '''\
# $distribution

An [img2img](https://pypi.org/project/img2img/) task plugin: `$task`.

TODO: what the model learns, what data it trains on, what the user gives it.

## Develop

```bash
pip install -e '.[test]'        # registers the task through its entry point
img2img tasks                   # lists "$task"
pytest                          # the img2img conformance kit + your own tests
```

## Train and predict

```bash
img2img train --task $task --size 64 --steps 200            # on img2img's embedded scenes
img2img train --task $task --data ~/photos --size 128       # on your own photos
img2img predict --task $task --weights runs/$task-cgan/$task-cgan.safetensors --input in.png --output out.png
```

The guide to the Task contract is `docs/plugins.md` in the img2img repository; `docs/api.md` there is the
reference (types, value ranges, devices, what runs under autocast, what is logged).
'''

_GITIGNORE = '''\
__pycache__/
*.egg-info/
/runs/
/build/
/dist/
'''
