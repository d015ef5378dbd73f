"""Date-based train / validation / test splits (paper §2.3)."""

from __future__ import annotations

import pandas as pd

from hydroprobe.errors import ConfigError

SPLIT_NAMES = ("train", "validation", "test")

Splits = dict[str, tuple[pd.Timestamp, pd.Timestamp]]


def parse_splits(spec: dict, key: str) -> Splits:
    """``{"train": [start, end], ...}`` from params → timestamps, naming ``key`` on error."""
    if not isinstance(spec, dict) or set(spec) != set(SPLIT_NAMES):
        raise ConfigError(f"params.yaml: '{key}' must define exactly {', '.join(SPLIT_NAMES)}")
    splits: Splits = {}
    for name in SPLIT_NAMES:
        bounds = spec[name]
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ConfigError(f"params.yaml: '{key}.{name}' must be [start, end]")
        try:
            start, end = (pd.Timestamp(str(b)) for b in bounds)
        except ValueError as error:
            raise ConfigError(f"params.yaml: '{key}.{name}' has a date that is not YYYY-MM-DD") from error
        if end < start:
            raise ConfigError(f"params.yaml: '{key}.{name}' ends ({end.date()}) before it starts")
        splits[name] = (start, end)
    return splits


def splits_to_json(splits: Splits) -> dict[str, list[str]]:
    return {name: [str(s.date()), str(e.date())] for name, (s, e) in splits.items()}
