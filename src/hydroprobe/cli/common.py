"""What every stage command needs: the repo root, params, the chosen basin and typed sections."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import build, find_repo_root, load_params, section
from hydroprobe.errors import ConfigError
from hydroprobe.layout import Layout
from hydroprobe.training.config import ModelConfig, TrainConfig

#: Sections a ``models.<name>`` block may override, merged key by key over the top-level ones.
OVERRIDABLE = ("model", "train", "calibration")


@dataclass
class StageContext:
    root: Path
    params: dict
    basin_id: str
    model_key: str = ""  # a key of params 'models'; "" = the subject (compare.subject)

    def __post_init__(self) -> None:
        self.model_key = self.model_key or subject_key(self.params)

    @property
    def basin_spec(self) -> dict:
        basins = section(self.params, "basins")
        if self.basin_id not in basins:
            raise ConfigError(
                f"params.yaml: basin '{self.basin_id}' (data.basin) has no block under 'basins'; "
                f"defined: {', '.join(basins)}"
            )
        return basins[self.basin_id]

    @property
    def layout(self) -> Layout:
        return Layout(self.root, self.basin_id, self.model_key)

    @property
    def basin_layout(self) -> Layout:
        """The basin's own paths (prepared data, and what compare and report write at the root)."""
        return Layout(self.root, self.basin_id)

    def _block(self) -> dict:
        block = model_block(self.params, self.model_key)
        unknown = sorted(set(block) - set(OVERRIDABLE))
        if unknown:
            raise ConfigError(
                f"params.yaml: unknown key 'models.{self.model_key}.{unknown[0]}'; "
                f"a model's block overrides {', '.join(OVERRIDABLE)}"
            )
        return block

    def _section(self, name: str) -> tuple[dict, str]:
        """Top-level section ``name``, overridden by ``models.<model_key>.<name>``; and its key path."""
        own = self._block().get(name) or {}
        values = {**(self.params.get(name) or {}), **own}
        return values, f"models.{self.model_key}.{name}" if own else name

    def param_key(self, dotted: str) -> str:
        """Where ``section.key`` is set for this model: its own block if it sets it, else the top level."""
        name, key = dotted.split(".", 1)
        own = self._block().get(name) or {}
        return f"models.{self.model_key}.{dotted}" if key in own else dotted

    def model_config(self) -> ModelConfig:
        config = build(ModelConfig, *self._section("model"))
        if config.kind.scope == "group":  # it reads static attributes that only a basin group has
            raise ConfigError(
                f"params.yaml: {self._section('model')[1]}.type regional_lstm is trained over a basin group "
                "by `hydroprobe group train` (params 'group'); a single basin takes lstm or mclstm"
            )
        return config

    def train_config(self) -> TrainConfig:
        return build(TrainConfig, *self._section("train"))

    def calibration_config(self):
        from hydroprobe.training.calibration import CalibrationConfig

        return build(CalibrationConfig, *self._section("calibration"))


def model_keys(params: dict) -> list[str]:
    """The models of params ``models``, the subject first: the order of tables, figures and the report."""
    keys = list(params.get("models") or {})
    if not keys:
        raise ConfigError("params.yaml: 'models' is empty; name at least one model (e.g. lstm: {})")
    subject = subject_key(params)
    return [subject, *(key for key in keys if key != subject)]


def subject_key(params: dict) -> str:
    """``compare.subject``: the model the verdict is about, and the one commands run without ``--model``."""
    models = params.get("models") or {}
    subject = str((params.get("compare") or {}).get("subject") or "")
    if subject not in models:
        raise ConfigError(
            f"params.yaml: compare.subject '{subject}' is not a key of 'models'; "
            f"defined: {', '.join(models) or 'none'}"
        )
    return subject


def model_block(params: dict, name: str) -> dict:
    """``models.<name>`` of params.yaml, or an error listing the defined models."""
    models = params.get("models") or {}
    if name not in models:
        raise ConfigError(
            f"params.yaml: no model '{name}' under 'models'; defined: {', '.join(models) or 'none'}"
        )
    return models[name] or {}


def add_basin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--basin", help="basin id from params.yaml 'basins' (default: data.basin)")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", dest="model_key", metavar="KEY", default="",
        help="a model of params.yaml 'models' (default: compare.subject, the paper's LSTM); "
        "its outputs go under models/<KEY>/",
    )


def add_ray_argument(parser: argparse.ArgumentParser, unit: str) -> None:
    parser.add_argument(
        "--ray-address", metavar="auto|HOST:PORT", default=None,
        help=f"run {unit} as a Ray task on this cluster ('auto': the one started by `ray start`); "
        "overrides execution.engine/address in params.yaml. Default: params, else in-process",
    )


def probe_map(params: dict, address: str | None):
    """Where a probe runs its models: in this process (default, no Ray), or each model a Ray task."""
    from hydroprobe.execution.config import parse_execution
    from hydroprobe.probes.units import in_process

    execution = parse_execution(params, address)
    if not execution.distributed:
        return in_process
    from hydroprobe.execution.engine import engine_map

    print(f"each model's probe is a Ray task ({execution.address or 'RAY_ADDRESS or a local cluster'})")
    return engine_map(execution, what="model")


def add_alias_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--alias", default="champion", help="registered model alias to probe (default: champion)"
    )


def context(args: argparse.Namespace) -> StageContext:
    root = find_repo_root()
    params = load_params(root)
    basin = getattr(args, "basin", None) or section(params, "data").get("basin")
    if not basin:
        raise ConfigError("params.yaml: 'data.basin' is empty; name a block of 'basins'")
    ctx = StageContext(root, params, str(basin), getattr(args, "model_key", "") or "")
    # validate the shared sections up front: a typo stops every stage, not only the one reading it
    ctx.model_config()
    ctx.train_config()
    return ctx
