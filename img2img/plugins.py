"""The plugin host: discovers task plugins through the ``img2img`` entry-point group, calls each plugin's
``register_tasks(register)`` hook on its own, validates every task as it is registered, and isolates
broken plugins (a plugin that fails to import or raises is recorded with its error and skipped).

Built-in tasks are found exactly like a third party's: through entry points in ``pyproject.toml``.
``IMG2IMG_PLUGINS=a,b`` restricts loading to an allow-list of entry-point names.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownTaskError
from .task import Task

ENTRY_POINT_GROUP = "img2img"
ALLOW_ENV = "IMG2IMG_PLUGINS"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
INPUT_KINDS = ("sketch", "paint", "upload")  # the app widgets an AppHints.input_kind can ask for
_HEX_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class TaskInfo:
    task: Task
    plugin: str
    version: str


@dataclass(frozen=True)
class BrokenPlugin:
    plugin: str
    error: str


class PluginHost:
    """Holds the registered tasks. Build one with :func:`load_plugins` (or empty, for tests)."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.tasks: dict[str, TaskInfo] = {}
        self.broken: list[BrokenPlugin] = []
        self._versions: dict[str, str] = {}

    # -- discovery -----------------------------------------------------------------------------
    def load_entry_points(self, allow: Iterable[str] | None = None) -> None:
        """Import every entry point of the group (or the allowed ones) and register its tasks."""
        allowed = set(allow) if allow is not None else None
        # Built-in tasks first: on a name clash the first registration wins, so a third-party plugin can
        # never take over a built-in task's name just by sorting before it.
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (not _is_builtin(e), e.name)):
            if allowed is not None and ep.name not in allowed:
                continue
            if self.pm.has_plugin(ep.name) or any(b.plugin == ep.name for b in self.broken):
                continue
            version = getattr(getattr(ep, "dist", None), "version", None) or "unknown"
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # a broken plugin (even one calling sys.exit) must not end the host
                self._mark_broken(ep.name, f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
                continue
            self.add_plugin(module, ep.name, version)

    def add_plugin(self, plugin: Any, name: str, version: str = "unknown") -> None:
        """Register one plugin object/module and collect its tasks (all or nothing for that plugin)."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._mark_broken(name, f"cannot be registered: {exc}")
            return
        self._versions[name] = version
        for impl in self.pm.hook.register_tasks.get_hookimpls():
            if impl.plugin_name == name:
                self._collect(name, impl.function)

    def _collect(self, plugin: str, hook: Any) -> None:
        pending: dict[str, TaskInfo] = {}

        def register(task: Any) -> None:
            validate_task(task, plugin)
            owner = self.tasks.get(task.name) or pending.get(task.name)
            if owner is not None:
                raise PluginError(
                    f"plugin '{plugin}' registers task '{task.name}', already registered by plugin '{owner.plugin}'"
                )
            pending[task.name] = TaskInfo(task, plugin, self._versions.get(plugin, "unknown"))

        try:
            returned = hook(register=register)
            if returned is not None:  # e.g. a list of tasks: it would silently register nothing
                raise PluginError(f"plugin '{plugin}': register_tasks returned {_short_repr(returned)}; it must call "
                                  "register(task) for each task and return None")
        except (Exception, SystemExit) as exc:
            message = str(exc) if isinstance(exc, PluginError) else (
                f"plugin '{plugin}' raised in register_tasks: {type(exc).__name__}: {exc}"
            )
            self._mark_broken(plugin, message)
            return
        self.tasks.update(pending)

    def _mark_broken(self, plugin: str, message: str) -> None:
        self.broken.append(BrokenPlugin(plugin, message))
        if self.pm.has_plugin(plugin):
            self.pm.unregister(name=plugin)
        warnings.warn(f"img2img: skipping plugin '{plugin}': {message}", stacklevel=2)

    # -- lookup --------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self.tasks)

    def get(self, name: str) -> Task:
        """The registered task called ``name``, or an UnknownTaskError that suggests close names."""
        info = self.tasks.get(name)
        if info is not None:
            return info.task
        broken = [b for b in self.broken if b.plugin == name]
        if broken:
            raise UnknownTaskError(f"task '{name}' is unavailable: {broken[0].error}")
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        known = ", ".join(self.names()) or "none (is img2img installed with `pip install -e .`?)"
        raise UnknownTaskError(f"unknown task '{name}'{hint} (available: {known})")


def _is_builtin(ep: Any) -> bool:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) == "img2img"


def _short_repr(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # garbage may not even have a working __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_plugins(allow: Iterable[str] | None = None) -> PluginHost:
    """Discover installed plugins. ``allow`` defaults to ``$IMG2IMG_PLUGINS`` (comma separated) if set."""
    if allow is None and os.environ.get(ALLOW_ENV):
        allow = [p.strip() for p in os.environ[ALLOW_ENV].split(",") if p.strip()]
    host = PluginHost()
    host.load_entry_points(allow)
    return host


def validate_task(task: Any, plugin: str) -> None:
    """Check the Task contract at registration time; the error names the plugin and what is wrong."""
    where = f"plugin '{plugin}'"
    if isinstance(task, type):
        raise PluginError(f"{where} registered the class {task.__name__}; register an instance: register({task.__name__}())")
    if not isinstance(task, Task):
        raise PluginError(f"{where} registered {task!r}, which is not an img2img.Task instance")
    name = getattr(task, "name", None)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise PluginError(f"{where}: task name {name!r} must be lowercase letters, digits, '-' or '_'")
    if not isinstance(task.description, str) or not task.description.strip():
        raise PluginError(f"{where}: task '{name}' needs a one-line description")
    for attr in ("in_channels", "out_channels"):
        value = getattr(task, attr)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PluginError(f"{where}: task '{name}' has {attr}={value!r}; it must be a positive int")
    if not task.paired and type(task).make_condition is Task.make_condition:
        raise PluginError(
            f"{where}: task '{name}' is self-supervised (paired=False) but does not define make_condition(x, generator)"
        )
    if task.app.input_kind not in INPUT_KINDS:
        raise PluginError(f"{where}: task '{name}' app.input_kind must be one of {INPUT_KINDS}")
    palette = task.app.palette
    if task.app.input_kind == "paint" and not palette:
        raise PluginError(f"{where}: task '{name}' paints (app.input_kind='paint') but has no app.palette")
    for entry in palette:
        if (not isinstance(entry, (tuple, list)) or len(entry) != 2 or not isinstance(entry[0], str)
                or not isinstance(entry[1], str) or not _HEX_COLOUR_RE.match(entry[1])):
            raise PluginError(f"{where}: task '{name}' app.palette entries must be (name, '#rrggbb'); got {entry!r}")
    for method in ("build_dataset", "make_condition", "prepare_input", "compose", "loss_terms", "metrics"):
        if not callable(getattr(task, method, None)):
            raise PluginError(f"{where}: task '{name}'.{method} is not callable")
    if "generator" not in inspect.signature(task.make_condition).parameters and not task.paired:
        raise PluginError(f"{where}: task '{name}'.make_condition must accept (x, generator)")
    if not isinstance(task.defaults, dict) or not isinstance(task.default_options, dict):
        raise PluginError(f"{where}: task '{name}'.defaults and .default_options must be dicts")
    helps = getattr(task, "option_help", {})
    if not isinstance(helps, dict) or not all(isinstance(v, str) for v in helps.values()):
        raise PluginError(f"{where}: task '{name}'.option_help must be a dict of option name -> one line of text")
    legacy = getattr(task, "legacy_options", {})
    if not isinstance(legacy, dict) or set(legacy) - set(task.default_options):
        raise PluginError(f"{where}: task '{name}'.legacy_options must be a dict of options it has")
    if set(helps) - set(task.default_options):
        raise PluginError(f"{where}: task '{name}'.option_help names options it does not have: "
                          f"{', '.join(sorted(set(helps) - set(task.default_options)))}")
