"""The best trial's knobs as a small params file, and putting them into params.yaml.

The file uses params.yaml's own layout (``model: {hidden_size: ...}``,
``train: {window: ...}``), so it reads like a patch of params.yaml.
``tune apply`` writes it in with a round-trip YAML edit that keeps every
comment and the rest of the file byte for byte, or prints the equivalent
``dvc exp run -S ...`` line.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter

from hydroprobe.errors import ConfigError
from hydroprobe.tuning.search_space import TUNABLE
from hydroprobe.tuning.study import StudySummary

FILE_NAME = "best_params.yaml"
KNOWN_KEYS = tuple(key for key, _ in TUNABLE.values())


def nest(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"train.window": 90}`` → ``{"train": {"window": 90}}``."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, name = key.split(".", 1)
        nested.setdefault(section, {})[name] = value
    return nested


def dvc_command(flat: dict[str, Any]) -> str:
    """The ``dvc exp run`` line that trains with these values without editing params.yaml."""
    return "dvc exp run " + " ".join(f"-S {key}={value!r}" for key, value in flat.items())


def write_best_params(summary: StudySummary, path: Path) -> None:
    """Write the best complete trial's knobs; without one, only a comment that ``tune apply`` refuses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if summary.best_number is None:
        path.write_text(f"# study '{summary.name}' has no complete trial yet: nothing to apply\n")
        return
    header = (
        f"# Best trial {summary.best_number} of study '{summary.name}': "
        f"validation NSE {summary.best_value:.4f}\n"
        f"# Apply: hydroprobe tune apply   or   {dvc_command(summary.best_params)}\n"
    )
    path.write_text(header + yaml.safe_dump(nest(summary.best_params), sort_keys=True))


def read_best_params(path: Path) -> dict[str, Any]:
    """The flat ``{"model.hidden_size": 32, ...}`` of a best-params file; refuses empty or foreign keys."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; run `hydroprobe tune` first or name a file with --file")
    content = yaml.safe_load(path.read_text()) or {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must map sections (model, train) to their keys")
    flat = {
        f"{section}.{name}": value
        for section, values in content.items()
        for name, value in (values.items() if isinstance(values, dict) else [(None, values)])
    }
    if not flat:
        raise ConfigError(f"{path} holds no parameters: {path.read_text().strip()}")
    for key, value in flat.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{path}: '{key}' is not a tuned key; expected some of {', '.join(KNOWN_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: '{key}' = {value!r} is not a number")
    return flat


class _NullKeepingRepresenter(RoundTripRepresenter):
    """Writes ``null`` as ``null`` (ruamel's default leaves the value empty)."""


_NullKeepingRepresenter.add_representer(
    type(None), lambda self, _: self.represent_scalar("tag:yaml.org,2002:null", "null")
)


def write_into_params(params_file: Path, flat: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the keys in params.yaml, keeping comments and layout; return ``key → (old, new)``."""
    editor = YAML()
    editor.preserve_quotes = True
    editor.width = 4096
    editor.indent(mapping=2, sequence=4, offset=2)
    editor.Representer = _NullKeepingRepresenter
    document = editor.load(params_file.read_text())
    changes = {}
    for key, value in flat.items():
        section, name = key.split(".", 1)
        block = document.setdefault(section, {})
        changes[key] = (block.get(name), value)
        block[name] = value
    out = io.StringIO()
    editor.dump(document, out)
    params_file.write_text(out.getvalue())
    return changes
