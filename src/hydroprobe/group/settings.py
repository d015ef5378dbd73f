"""The ``group`` section of params.yaml: which basins, which models, merged over ``model`` and ``train``.

``groups.<id>`` says what a group *is* (folder, all gauges, splits); ``group`` says what a run
*does* with it: the basins it trains on (a quick subset or ``all``), the basins that also get a
single-basin model, the static attributes, and the group's bench ``group.models``: each a kind of
the model-kind table, trained over the whole group (``scope: group``: the regional LSTM and
MC-LSTM) or on each basin alone (``scope: basin``: the single-basin LSTM). Every model's recipe is
``model``/``train`` ← ``group.model``/``group.train`` ← ``group.models.<key>``, key by key, so models
share what the comparison must hold equal and differ where their block says.

The registered models' name carries the group *definition* (its basins, splits and attributes):
a champion is only ever compared with, and replaced by, a model of the same definition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import build, section
from hydroprobe.data.groups import group_basins
from hydroprobe.data.loaders.caravan_csv import STATIC_ATTRIBUTES
from hydroprobe.data.regional import DEFAULT_STATIC
from hydroprobe.errors import ConfigError
from hydroprobe.models.kinds import ModelKind
from hydroprobe.training.config import ModelConfig, TrainConfig

KEYS = (
    "enabled",
    "id",
    "gauges",
    "single_basin_gauges",
    "static_attributes",
    "model",
    "train",
    "models",
    "subject",
    "ungauged_folds",
    "ungauged",
)
MODEL_KEYS = ("model", "train")


@dataclass(frozen=True)
class GroupModel:
    """One model of the group's bench: its key, recipe and kind."""

    key: str
    model: ModelConfig
    train: TrainConfig

    @property
    def kind(self) -> ModelKind:
        return self.model.kind

    def profile(self) -> dict:
        """The knobs the report prints beside its numbers."""
        t = self.train
        return {
            "kind": self.kind.name,
            "label": self.kind.label,
            "scope": self.kind.scope,
            "hidden_size": self.model.hidden_size,
            "standardize": self.model.standardize,
            "window": t.window,
            "loss_span": t.loss_span,
            "windows_per_epoch": t.windows_per_epoch,
            "batch_size": t.batch_size,
            "learning_rate": t.learning_rate,
            "max_epochs": t.max_epochs,
            "patience": t.patience,
            "replicates": t.replicates,
        }


@dataclass
class GroupPlan:
    """Everything the group commands need, resolved and validated."""

    group_id: str
    enabled: bool
    specs: dict[str, dict]  # basin id → spec, every basin the group models train on
    single_ids: list[str]  # basins that also get a single-basin model
    static_names: tuple[str, ...]
    models: dict[str, GroupModel]  # the bench, subject first
    subject: str
    all_gauges: int  # gauges in groups.<id> before the subset: the report says "4 of 35"
    ungauged_folds: int = 5  # k of the k-fold over basins, `hydroprobe group ungauged`
    ungauged: dict[str, dict] | None = None  # basins brought from outside the group, predicted only

    @property
    def definition(self) -> str:
        """8 hex digits over the basins, splits and attributes: models of one definition compare."""
        first = next(iter(self.specs.values()))
        content = {"basins": sorted(self.specs), "splits": first["splits"], "static": list(self.static_names)}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]

    @property
    def registry_id(self) -> str:
        """What the registered names and run folders carry: ``<group>-<definition>``."""
        return f"{self.group_id}-{self.definition}"

    def by_scope(self, scope: str) -> dict[str, GroupModel]:
        return {key: model for key, model in self.models.items() if model.kind.scope == scope}

    def params_with_basins(self, params: dict) -> dict:
        """``params`` with the group's basins added under ``basins`` (probe settings read them there)."""
        return {**params, "basins": {**(params.get("basins") or {}), **self.specs, **(self.ungauged or {})}}

    def profile(self) -> dict:
        """The group's knobs the report prints beside its numbers."""
        return {
            "basins": len(self.specs),
            "of_group": self.all_gauges,
            "single_basin_baselines": len(self.single_ids),
            "static_attributes": list(self.static_names),
            "definition": self.definition,
            "subject": self.subject,
            "models": {key: model.profile() for key, model in self.models.items()},
            "ungauged_folds": self.ungauged_folds,
            "ungauged": sorted(self.ungauged or {}),
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
    specs = group_basins(group_id, {**groups[group_id], "gauges": block.get("gauges", "all")}, raw_dir)
    models = _models(params, block)
    subject = str(block.get("subject") or next(iter(models)))
    if subject not in models:
        raise ConfigError(
            f"params.yaml: group.subject '{subject}' is not a key of group.models ({', '.join(models)})"
        )
    models = {subject: models[subject], **{k: m for k, m in models.items() if k != subject}}
    folds = block.get("ungauged_folds", 5)
    if not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"params.yaml: group.ungauged_folds must be a whole number >= 2 (got {folds!r})")
    return GroupPlan(
        group_id,
        bool(block.get("enabled", False)),
        specs,
        _single_ids(block, specs, group_id),
        _static_names(block),
        models,
        subject,
        len(full),
        folds,
        _ungauged(block, groups[group_id], specs, group_id, raw_dir),
    )


def _models(params: dict, block: dict) -> dict[str, GroupModel]:
    """``group.models``: each key's ``model``/``train`` over the group's and the top-level ones."""
    entries = block.get("models") or {}
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(
            "params.yaml: group.models must map model keys to blocks, e.g. "
            "{regional_lstm: {model: {type: regional_lstm}}}"
        )
    out = {}
    for key, entry in entries.items():
        entry = entry or {}
        unknown = sorted(set(entry) - set(MODEL_KEYS))
        if unknown:
            raise ConfigError(
                f"params.yaml: unknown key 'group.models.{key}.{unknown[0]}'; valid keys: "
                f"{', '.join(MODEL_KEYS)}"
            )
        merged = {
            name: {**(params.get(name) or {}), **(block.get(name) or {}), **(entry.get(name) or {})}
            for name in MODEL_KEYS
        }
        model = build(ModelConfig, merged["model"], f"group.models.{key}.model")
        if model.kind.group_extras is None:
            raise ConfigError(
                f"params.yaml: group.models.{key}.model.type '{model.type}' does not train on "
                "a basin group (no group_extras in the model-kind table)"
            )
        train = build(TrainConfig, merged["train"], f"group.models.{key}.train")
        if train.mode != "seq2seq":
            raise ConfigError(
                f"params.yaml: group.models.{key}.train.mode is {train.mode!r}; group models "
                "train sequence-to-sequence only. Fix: set group.train.mode: seq2seq"
            )
        out[key] = GroupModel(str(key), model, train)
    return out


def _single_ids(block: dict, specs: dict[str, dict], group_id: str) -> list[str]:
    single = block.get("single_basin_gauges", "same")
    if single == "same":
        return list(specs)
    if not isinstance(single, list):
        raise ConfigError(f'params.yaml: group.single_basin_gauges must be "same" or a list, got {single!r}')
    single_ids = [f"{group_id}_{gauge}" for gauge in single]
    missing = [b for b in single_ids if b not in specs]
    if missing:
        raise ConfigError(
            f"params.yaml: group.single_basin_gauges {', '.join(missing)} are not among group.gauges. "
            "Fix: list gauges the regional model also trains on."
        )
    return single_ids


def _static_names(block: dict) -> tuple[str, ...]:
    names = tuple(block.get("static_attributes") or DEFAULT_STATIC)
    unknown = [n for n in names if n not in STATIC_ATTRIBUTES]
    if unknown:
        raise ConfigError(
            f"params.yaml: group.static_attributes {', '.join(unknown)} unknown; "
            f"known: {', '.join(STATIC_ATTRIBUTES)}"
        )
    return names


def _ungauged(
    block: dict, group_spec: dict, specs: dict[str, dict], group_id: str, raw_dir: Path
) -> dict[str, dict]:
    """``group.ungauged``: gauges of the group's folder the models never train on, predicted only."""
    gauges = block.get("ungauged") or []
    if not isinstance(gauges, list) or not all(isinstance(g, str) for g in gauges):
        raise ConfigError(
            f"params.yaml: group.ungauged must be a list of gauge ids in quotes, got {gauges!r}"
        )
    if not gauges:
        return {}
    out = group_basins(group_id, {**group_spec, "gauges": gauges}, raw_dir)
    trained = sorted(set(out) & set(specs))
    if trained:
        raise ConfigError(
            f"params.yaml: group.ungauged {', '.join(trained)} are also in group.gauges, so the "
            "models train on them. Fix: take them out of group.gauges (list the others)."
        )
    return out
