"""The ``group`` section of params.yaml: which basins, which profile, merged over ``model`` and ``train``.

``groups.<id>`` says what a group *is* (folder, all gauges, splits); ``group``
says what a run *does* with it: the basins it trains on (a quick subset or
``all``), the basins that also get a single-basin baseline, the static
attributes and the model and training overrides both kinds of model share,
so a regional-vs-single comparison differs in the training data alone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import build, section
from hydroprobe.data.groups import group_basins
from hydroprobe.data.loaders.caravan_csv import STATIC_ATTRIBUTES
from hydroprobe.data.regional import DEFAULT_STATIC
from hydroprobe.errors import ConfigError
from hydroprobe.models.kinds import KINDS
from hydroprobe.training.config import ModelConfig, TrainConfig

KEYS = ("enabled", "id", "gauges", "single_basin_gauges", "static_attributes", "model", "train",
        "ungauged_folds")


@dataclass
class GroupPlan:
    """Everything the group commands need, resolved and validated."""

    group_id: str
    enabled: bool
    specs: dict[str, dict]  # basin id → spec, every basin the regional model trains on
    single_ids: list[str]  # basins that also get a single-basin LSTM
    static_names: tuple[str, ...]
    model: ModelConfig
    train: TrainConfig
    all_gauges: int  # gauges in groups.<id> before the subset: the report says "4 of 35"
    ungauged_folds: int = 0  # k of the k-fold over basins (prediction in ungauged basins); 0 = off

    def params_with_basins(self, params: dict) -> dict:
        """``params`` with the group's basins added under ``basins`` (probe settings read them there)."""
        out = copy.copy(params)
        out["basins"] = {**(params.get("basins") or {}), **self.specs}
        return out

    def profile(self) -> dict:
        """The knobs the report prints beside its numbers."""
        return {
            "basins": len(self.specs),
            "of_group": self.all_gauges,
            "single_basin_baselines": len(self.single_ids),
            "static_attributes": list(self.static_names),
            "hidden_size": self.model.hidden_size,
            "window": self.train.window,
            "max_epochs": self.train.max_epochs,
            "patience": self.train.patience,
            "replicates": self.train.replicates,
            "batch_size": self.train.batch_size,
            "learning_rate": self.train.learning_rate,
            "ungauged_folds": self.ungauged_folds,
        }


def group_block(params: dict) -> dict:
    block = params.get("group") or {}
    if not isinstance(block, dict):
        raise ConfigError("params.yaml: 'group' must be a mapping")
    unknown = sorted(set(block) - set(KEYS))
    if unknown:
        raise ConfigError(f"params.yaml: unknown key 'group.{unknown[0]}'; valid keys: {', '.join(KEYS)}")
    return block


def group_enabled(params: dict) -> bool:
    return bool(group_block(params).get("enabled", False))


def group_plan(params: dict, root: Path, group_id: str | None = None) -> GroupPlan:
    """Resolve ``group`` over ``groups.<id>``, ``model`` and ``train``; reads the group's folder."""
    block = group_block(params)
    group_id = group_id or str(block.get("id") or "")
    groups = params.get("groups") or {}
    if group_id not in groups:
        raise ConfigError(
            f"params.yaml: no group '{group_id}' under 'groups' (group.id or --group); "
            f"defined: {', '.join(groups) or 'none'}"
        )
    raw_dir = root / str(section(params, "data").get("raw_dir", "data"))
    full = group_basins(group_id, groups[group_id], raw_dir)
    spec = dict(groups[group_id])
    gauges = block.get("gauges", "all")
    spec["gauges"] = gauges
    specs = group_basins(group_id, spec, raw_dir)
    single = block.get("single_basin_gauges", "same")
    if single == "same":
        single_ids = list(specs)
    else:
        if not isinstance(single, list):
            raise ConfigError(
                f'params.yaml: group.single_basin_gauges must be "same" or a list, got {single!r}'
            )
        single_ids = [f"{group_id}_{gauge}" for gauge in single]
        missing = [b for b in single_ids if b not in specs]
        if missing:
            raise ConfigError(
                f"params.yaml: group.single_basin_gauges {', '.join(missing)} are not among group.gauges. "
                "Fix: list gauges the regional model also trains on."
            )
    names = tuple(block.get("static_attributes") or DEFAULT_STATIC)
    unknown = [n for n in names if n not in STATIC_ATTRIBUTES]
    if unknown:
        raise ConfigError(
            f"params.yaml: group.static_attributes {', '.join(unknown)} unknown; "
            f"known: {', '.join(STATIC_ATTRIBUTES)}"
        )
    model = build(ModelConfig, {**(params.get("model") or {}), **(block.get("model") or {})}, "group.model")
    if model.kind.regional is None:  # the single-basin baseline must have a regional counterpart
        regional = [kind.name for kind in KINDS.values() if kind.regional]
        raise ConfigError(
            f"params.yaml: group.model.type must be one of {regional} (got {model.type}): "
            "the single-basin baseline and the regional model are the same kind of network"
        )
    if model.standardize:  # the single-basin baseline would learn in another geometry than the regional
        raise ConfigError("params.yaml: group.model.standardize must be false: the regional LSTM does not "
                          "standardize its inputs yet, so both kinds of LSTM train on min-max signals")
    train = build(TrainConfig, {**(params.get("train") or {}), **(block.get("train") or {})}, "group.train")
    folds = block.get("ungauged_folds", 0)
    if not isinstance(folds, int) or folds == 1 or not 0 <= folds <= len(specs):
        raise ConfigError(f"params.yaml: group.ungauged_folds must be 0 (off) or between 2 and the "
                          f"{len(specs)} basins of group.gauges (got {folds!r})")
    return GroupPlan(
        group_id, bool(block.get("enabled", False)), specs, single_ids, names, model, train, len(full), folds
    )
