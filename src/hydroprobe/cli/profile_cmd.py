"""``hydroprobe profile NAME``: a committed set of params overrides as `dvc exp run` flags.

A profile (``profiles/<name>.yaml``) is the few keys that turn the quick default
into another study, e.g. the paper-scale run on a GPU. Printing them as
``-S key=value`` flags keeps DVC the one thing that runs experiments, so a
profile run is an ordinary DVC experiment: ``dvc exp run $(hydroprobe profile paper)``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from hydroprobe.config import find_repo_root, load_params
from hydroprobe.errors import ConfigError

PROFILES_DIR = Path("profiles")


def profile_overrides(root: Path, name: str) -> dict[str, object]:
    """``{dotted key: value}`` of ``profiles/<name>.yaml``; every key must exist in params.yaml."""
    path = root / PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / PROFILES_DIR).glob("*.yaml"))
        raise ConfigError(f"{path}: no such profile; known: {', '.join(known) or 'none'}")
    flat = _flatten(yaml.safe_load(path.read_text()) or {})
    params = load_params(root)
    for key in flat:
        if not _exists(params, key):
            raise ConfigError(f"{path}: '{key}' is not a key of params.yaml; fix the profile")
    return flat


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        flat.update(_flatten(value, dotted + ".") if isinstance(value, dict) else {dotted: value})
    return flat


def _exists(params: dict, dotted: str) -> bool:
    """Whether ``dotted`` is a key of ``params``; ``models.<k>.<block>.<key>`` may also override any
    key of that top-level block (a model's own block holds only what it changes)."""
    parts = dotted.split(".")
    inherited = len(parts) == 4 and parts[0] == "models" and parts[1] in (params.get("models") or {})
    if inherited and parts[3] in (params.get(parts[2]) or {}):
        return True
    node: object = params
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def as_flags(overrides: dict[str, object]) -> list[str]:
    """``-S key=value`` per override, values as DVC parses them (``null``, ``0``, ``[1,2]``) without
    spaces, so the shell's word splitting of ``$(hydroprobe profile NAME)`` keeps each flag whole."""
    return [f"-S {key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"
            for key, value in overrides.items()]


def _profile(args: argparse.Namespace) -> int:
    print(" ".join(as_flags(profile_overrides(find_repo_root(), args.name))))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="print a committed profile's params overrides as `dvc exp run` flags",
        description="Print profiles/NAME.yaml as `-S key=value` flags, checked against params.yaml, "
        "for `dvc exp run $(hydroprobe profile NAME)`. The paper-scale study on a GPU: "
        "`dvc exp run $(hydroprobe profile paper)`.",
    )
    parser.add_argument("name", help="profile name: a file profiles/NAME.yaml (e.g. paper)")
    parser.set_defaults(func=_profile)
