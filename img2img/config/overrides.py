"""Reading configs: ``--set key=value`` (typed by the dataclass field it names), JSON/TOML config files,
nested dicts applied to the dataclasses, and the ``data`` entries (folders and their weights)."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .sections import TrainConfig


def apply_dict(obj: Any, data: dict[str, Any], prefix: str = "") -> None:
    """Recursively set dataclass fields from a (possibly nested) dict, coercing and checking types."""
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<root>'}' must be a table/object")
    known = {f.name: f for f in fields(obj)}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"unknown config key '{prefix}{key}' (known: {', '.join(sorted(known))})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            apply_dict(current, value, f"{prefix}{key}.")
        else:
            setattr(obj, key, _coerce(f"{prefix}{key}", value, _field_type(obj, key)))


def set_dotted(cfg: TrainConfig, assignment: str) -> None:
    """Apply one ``key=value`` string override (``generator.ngf=32``, ``task_options.mask=bands``)."""
    if "=" not in assignment:
        raise ConfigError(f"--set expects key=value, got '{assignment}'")
    key, raw = assignment.split("=", 1)
    set_value(cfg, key.strip(), parse_scalar(raw))


def set_value(cfg: TrainConfig, key: str, value: Any) -> None:
    """Set a dotted key to a Python value, with the field's type checked."""
    parts = key.split(".")
    obj: Any = cfg
    for i, part in enumerate(parts[:-1]):
        if isinstance(obj, dict):
            obj = obj.setdefault(part, {})
            continue
        if not dataclasses.is_dataclass(obj) or part not in {f.name for f in fields(obj)}:
            raise ConfigError(f"unknown config key '{'.'.join(parts[: i + 1])}'{_known_keys(obj, parts[:i])}")
        obj = getattr(obj, part)
    last = parts[-1]
    if isinstance(obj, dict):  # free-form sections (task_options, loss.task_weights)
        obj[last] = value
        return
    if not dataclasses.is_dataclass(obj) or last not in {f.name for f in fields(obj)}:
        raise ConfigError(f"unknown config key '{key}'{_known_keys(obj, parts[:-1])}")
    setattr(obj, last, _coerce(key, value, _field_type(obj, last)))


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.json`` or ``.toml`` config file into a nested dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError as exc:  # Python 3.10
                raise ConfigError("TOML configs need Python >= 3.11; use a .json config") from exc
            return tomllib.loads(text)
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc


# -- helpers -----------------------------------------------------------------------------------


def _known_keys(section: Any, path: list[str]) -> str:
    """' (known: generator.ngf, ...)' for the keys of a config section, '' when it is not a section."""
    if not dataclasses.is_dataclass(section):
        return ""
    prefix = "".join(f"{p}." for p in path)
    return f" (known: {', '.join(prefix + f.name for f in fields(section))})"


def _field_type(obj: Any, name: str) -> Any:
    hints = typing.get_type_hints(type(obj))
    return hints[name]


def parse_scalar(raw: str) -> Any:
    raw = raw.strip()
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


def _coerce(key: str, value: Any, typ: Any) -> Any:
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        for option in non_none[:-1]:  # the first alternative that takes the value, else the last one's error
            try:
                return _coerce(key, value, option)
            except ConfigError:
                pass
        return _coerce(key, value, non_none[-1])
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        item = args[0] if args else typing.Any
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if origin is dict or typ is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table/object, got {value!r}")
        return dict(value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return int(value)
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    return value


def data_folders(data: str | list[str | dict[str, Any]] | None) -> list[str]:
    """The training folders a config's ``data`` names: ``[]`` for the embedded dataset, else one or more."""
    return [path for path, _ in data_entries(data)]


def data_entries(data: str | list[str | dict[str, Any]] | None) -> list[tuple[str, float]]:
    """``(folder, weight)`` for each entry of a config's ``data``: a plain path weighs 1, ``{"path": DIR,
    "weight": W}`` weighs W (> 0). A malformed entry raises ConfigError naming it."""
    if data is None:
        return []
    entries = []
    for i, entry in enumerate([data] if isinstance(data, str) else data):
        if isinstance(entry, str):
            entries.append((entry, 1.0))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or set(entry) - {"path", "weight"}:
            raise ConfigError(f"data[{i}] must be a folder path or {{\"path\": DIR, \"weight\": W}}, got {entry!r}")
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < float("inf"):
            raise ConfigError(f"data[{i}].weight must be a number > 0, got {weight!r}")
        entries.append((entry["path"], float(weight)))
    return entries
