"""pluggy hook specifications. Project name and entry-point group: ``img2img``.

A plugin is a module (or object) with functions marked ``@img2img.hookimpl``, exposed through an entry
point in its ``pyproject.toml``::

    [project.entry-points.img2img]
    my_task = "my_package.plugin"
"""

from __future__ import annotations

from typing import Callable

import pluggy

PROJECT_NAME = "img2img"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register tasks by calling ``register(task)`` once per :class:`img2img.Task` instance.

    The host validates each task right there (unique name, required attributes and methods) and raises
    a :class:`img2img.errors.PluginError` that names your plugin if something is wrong.
    """
