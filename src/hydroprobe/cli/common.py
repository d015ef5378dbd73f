"""What every stage command needs: the repo root, params, the chosen basin and typed sections."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import build, find_repo_root, load_params, section
from hydroprobe.errors import ConfigError
from hydroprobe.training.config import ModelConfig, TrainConfig


@dataclass
class StageContext:
    root: Path
    params: dict
    basin_id: str

    @property
    def basin_spec(self) -> dict:
        basins = section(self.params, "basins")
        if self.basin_id not in basins:
            raise ConfigError(
                f"params.yaml: basin '{self.basin_id}' (data.basin) has no block under 'basins'; "
                f"defined: {', '.join(basins)}"
            )
        return basins[self.basin_id]

    def model_config(self) -> ModelConfig:
        return build(ModelConfig, self.params.get("model") or {}, "model")

    def train_config(self) -> TrainConfig:
        return build(TrainConfig, self.params.get("train") or {}, "train")


def add_basin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--basin", help="basin id from params.yaml 'basins' (default: data.basin)")


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
    ctx = StageContext(root, params, str(basin))
    # validate the shared sections up front: a typo stops every stage, not only the one reading it
    ctx.model_config()
    ctx.train_config()
    return ctx
