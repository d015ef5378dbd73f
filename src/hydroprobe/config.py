"""params.yaml → typed, validated settings.

Every stage reads its knobs through here so that a typo in params.yaml stops
the run with the offending key named, instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hydroprobe.errors import ConfigError

T = TypeVar("T")

PARAMS_FILE = "params.yaml"


def find_repo_root(start: Path | None = None) -> Path:
    """The folder holding params.yaml, searched upwards from ``start`` (default: cwd).

    ``dvc exp run --temp/--queue`` executes in a copy under ``.dvc/tmp/exps/``;
    relative stores resolved there would vanish with the copy, so
    :func:`main_repo_root` maps such a copy back to the real repository.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).is_file():
            return folder
    raise ConfigError(f"no {PARAMS_FILE} found in {here} or any parent; run inside a hydroprobe project")


def main_repo_root(root: Path | None = None) -> Path:
    """The main repository root, also when running inside a DVC experiment copy."""
    root = (root or find_repo_root()).resolve()
    parts = root.parts
    for i in range(len(parts) - 3):
        if parts[i : i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i])
    return root


def shared_data_dir(root: Path | None = None) -> Path:
    """``../shared/data`` beside the main repository (where CI and developers keep real data)."""
    return main_repo_root(root).parent / "shared" / "data"


def load_params(root: Path | None = None) -> dict[str, Any]:
    """Read params.yaml as a plain dict (no validation)."""
    path = (root or find_repo_root()) / PARAMS_FILE
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(params, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (data, train, ...)")
    return params


def section(params: dict[str, Any], name: str) -> dict[str, Any]:
    """One top-level section, required to exist and to be a mapping."""
    value = params.get(name)
    if not isinstance(value, dict):
        raise ConfigError(f"params.yaml: section '{name}' is missing or not a mapping")
    return value


def build(cls: type[T], values: dict[str, Any], prefix: str) -> T:
    """Instantiate dataclass ``cls`` from ``values``, naming ``prefix.key`` on any error.

    Unknown keys are an error (a misspelt knob must not silently fall back to
    its default); types are checked and ints are accepted where floats are
    expected. The dataclass's ``__post_init__`` performs range checks.
    """
    if not isinstance(values, dict):
        raise ConfigError(f"params.yaml: '{prefix}' must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"params.yaml: unknown key '{prefix}.{unknown[0]}'; valid keys: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, hints[name], f"{prefix}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"params.yaml: section '{prefix}': {error}") from error


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(f"params.yaml: '{key}' = {value!r} has the wrong type (expected {hint})")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"params.yaml: '{key}' must be empty")
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    if origin in (list, tuple) and isinstance(value, list | tuple):
        (item,) = typing.get_args(hint)[:1]
        return origin(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is typing.Any:
        return value
    raise ConfigError(
        f"params.yaml: '{key}' = {value!r} has the wrong type (expected {getattr(hint, '__name__', hint)})"
    )


def require(condition: bool, key: str, message: str) -> None:
    """Raise a ConfigError naming ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"params.yaml: '{key}' {message}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
