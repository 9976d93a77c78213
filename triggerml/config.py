"""YAML → frozen dataclasses, strictly: an unknown key is an error that names the key.

Every job's config (scenario, model, build) is a tree of dataclasses.  :func:`from_mapping`
fills one from plain YAML data, recursing into nested dataclasses, lists, dicts and enums,
and calls each node's ``validate()`` so that range checks live next to the fields they
check.  Errors carry the dotted path of the offending key (``noise.rms_adc.collection``).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class UsageError(ValueError):
    """A command asked for something it cannot do as given (the CLI's exit code 2)."""


class ConfigError(ValueError):
    """A config file or mapping that cannot be used; the message names the key."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at its top level")
    return data


def load(cls: type[T], path: str | Path) -> T:
    """Load a config dataclass from a YAML file."""
    return from_mapping(cls, load_yaml(path))


def from_mapping(cls: type[T], data: Any, where: str = "") -> T:
    """Build ``cls`` from ``data``; missing keys take their defaults."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    data = _renamed(cls, data, where)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise ConfigError(f"unknown config key {key!r}; valid keys here: {', '.join(fields)}")
    values = {
        name: _convert(hints[name], value, f"{where}.{name}" if where else name)
        for name, value in data.items()
    }
    try:
        obj = cls(**values)
    except TypeError as error:
        raise ConfigError(f"{where or cls.__name__}: {error}") from None
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ConfigError as error:
            raise ConfigError(f"{where}.{error}" if where else str(error)) from None
    return obj


def _renamed(cls: type, data: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """Keys a config class has renamed (its ``RENAMED_KEYS``: old → new) still read, with a
    DeprecationWarning naming the new key; both spellings at once is an error."""
    renamed: dict[str, str] = getattr(cls, "RENAMED_KEYS", {})
    old_keys = [key for key in renamed if key in data]
    if not old_keys:
        return data
    import warnings

    data = dict(data)
    for old in old_keys:
        new = renamed[old]
        path = f"{where}.{old}" if where else old
        if new in data:
            raise ConfigError(f"{path} and its new name {new!r} are both given: keep {new!r}")
        warnings.warn(
            f"config key {path!r} is now {new!r}: rename it", DeprecationWarning, stacklevel=3
        )
        data[new] = data.pop(old)
    return data


def to_mapping(obj: Any) -> Any:
    """Plain-data form of a config (for manifests and HDF5 attributes)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_mapping(v) for k, v in obj.items()}
    return obj


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            valid = ", ".join(str(m.value) for m in hint)
            raise ConfigError(f"{where}: {value!r} is not one of {valid}") from None
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list")
        item = args[0] if args else Any
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping")
        key_hint, value_hint = args
        return {
            _convert(key_hint, k, f"{where}"): _convert(value_hint, v, f"{where}.{k}")
            for k, v in value.items()
        }
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def require(condition: bool, key: str, message: str) -> None:
    """Raise a ConfigError naming ``key`` unless ``condition`` holds (for ``validate``)."""
    if not condition:
        raise ConfigError(f"{key}: {message}")
