"""What every stage command needs: the repo root, params, the chosen basin and typed sections."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import build, find_repo_root, load_params, section
from hydroprobe.errors import ConfigError
from hydroprobe.layout import Layout
from hydroprobe.training.config import ModelConfig, TrainConfig

#: Sections a ``references.<name>`` block may override, merged key by key over the top-level ones.
OVERRIDABLE = ("model", "train", "calibration")


@dataclass
class StageContext:
    root: Path
    params: dict
    basin_id: str
    reference: str = ""  # a key of params 'references'; "" = the model under test

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
        return Layout(self.root, self.basin_id, self.reference)

    def _section(self, name: str) -> tuple[dict, str]:
        """Top-level section ``name``, overridden by ``references.<reference>.<name>``; and its key path."""
        values = dict(self.params.get(name) or {})
        if not self.reference:
            return values, name
        block = reference_block(self.params, self.reference)
        unknown = sorted(set(block) - set(OVERRIDABLE))
        if unknown:
            raise ConfigError(
                f"params.yaml: unknown key 'references.{self.reference}.{unknown[0]}'; "
                f"a reference overrides {', '.join(OVERRIDABLE)}"
            )
        return {**values, **(block.get(name) or {})}, f"references.{self.reference}.{name}"

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


def reference_block(params: dict, name: str) -> dict:
    """``references.<name>`` of params.yaml, or an error listing the defined references."""
    references = params.get("references") or {}
    if name not in references:
        raise ConfigError(
            f"params.yaml: no reference '{name}' under 'references'; "
            f"defined: {', '.join(references) or 'none'}"
        )
    return references[name] or {}


def add_basin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--basin", help="basin id from params.yaml 'basins' (default: data.basin)")


def add_reference_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference", default="",
        help="a reference model from params.yaml 'references' (default: the model under test, "
        "'model' + 'train'); its outputs go under references/<name>/",
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
    ctx = StageContext(root, params, str(basin), getattr(args, "reference", "") or "")
    # validate the shared sections up front: a typo stops every stage, not only the one reading it
    ctx.model_config()
    ctx.train_config()
    return ctx
