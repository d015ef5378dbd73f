"""Probe a model trained elsewhere: ``--from-neuralhydrology RUN_DIR`` or ``--from-mlflow URI``.

The same choice can live in ``params.yaml`` (``subject:``, read with
``--subject``) so a DVC experiment can name it. An imported model's outputs
go under ``imported/<name>/``, the tree each model of params ``models`` keeps under
``models/<key>/``, so they never overwrite the project's own model and
the comparison picks them up beside it. Loading is lazy: neuralhydrology and
MLflow are imported only on their own path.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.cli.common import StageContext
from hydroprobe.data.basin import INPUTS
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import ConfigError, HydroprobeError
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.probes.compare.inputs import IMPORTED_DIR

#: Keys of params.yaml's ``subject:`` block.
SUBJECT_KEYS = ("from_neuralhydrology", "from_mlflow", "epoch", "basin", "name", "inputs", "discharge_units")


@dataclass
class Subject:
    """An imported model, ready to probe: where its outputs go and what the probe runs are tagged with."""

    name: str
    simulator: DischargeSimulator
    provenance: dict[str, str]
    dataset: BasinDataset
    out_dir: Path

    @property
    def model_version(self) -> str:
        return self.provenance.get("registered_version") or self.provenance.get("epoch") or "-"

    @property
    def tags(self) -> dict[str, str]:
        return {f"imported.{key}": value for key, value in self.provenance.items()}


def add_subject_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "a model trained elsewhere (instead of the registered one; outputs under imported/<name>/)"
    )
    group.add_argument("--from-neuralhydrology", metavar="RUN_DIR", default="",
                       help="a neuralhydrology run directory (config.yml, model_epochNNN.pt, train_data/)")
    group.add_argument("--from-mlflow", metavar="URI", default="",
                       help="models:/NAME@ALIAS, models:/NAME/VERSION or runs:/ID/PATH of a model that "
                       "takes daily precipitation and temperature windows and returns discharge")
    group.add_argument("--epoch", type=int, default=None, help="neuralhydrology epoch (default: the last)")
    group.add_argument("--nh-basin", default="", help="basin of a regional neuralhydrology run")
    group.add_argument("--input", action="append", default=[], metavar="VARIABLE=NAME",
                       help="map a probe variable to the model's input name, e.g. precipitation=prcp(mm/day)")
    group.add_argument("--discharge-units", choices=("m3/s", "mm/d"), default=None,
                       help="units of a neuralhydrology target (default m3/s)")
    group.add_argument("--name", default="",
                       help="label and folder imported/<name>/ (default: from the model)")
    group.add_argument("--subject", action="store_true", help="probe the model params.yaml 'subject:' names")


def _parse_inputs(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        variable, sep, name = pair.partition("=")
        if not sep or variable not in INPUTS or not name:
            raise ConfigError(f"--input {pair!r}: write precipitation=NAME or temperature=NAME")
        mapping[variable] = name
    return mapping


def subject_settings(args: argparse.Namespace, params: dict) -> dict | None:
    """The subject the command line or ``params.yaml: subject`` names; None for the registered model."""
    flags = {"from_neuralhydrology": args.from_neuralhydrology, "from_mlflow": args.from_mlflow,
             "epoch": args.epoch, "basin": args.nh_basin, "name": args.name,
             "inputs": _parse_inputs(args.input), "discharge_units": args.discharge_units}
    if args.subject:
        block = dict(params.get("subject") or {})
        unknown = sorted(set(block) - set(SUBJECT_KEYS))
        if unknown:
            raise ConfigError(
                f"params.yaml: unknown key 'subject.{unknown[0]}'; known: {', '.join(SUBJECT_KEYS)}"
            )
        settings = {**block, **{key: value for key, value in flags.items() if value}}
    elif flags["from_neuralhydrology"] or flags["from_mlflow"]:
        settings = flags
    else:
        return None
    if bool(settings.get("from_neuralhydrology")) == bool(settings.get("from_mlflow")):
        raise ConfigError("name exactly one model: --from-neuralhydrology RUN_DIR or --from-mlflow URI "
                          "(params.yaml: subject.from_neuralhydrology / subject.from_mlflow)")
    return settings


def _label(text: str) -> str:
    """A folder name and report label: letters, digits, '-' and '_' only (labels may not hold '.')."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "imported"


def load_subject(ctx: StageContext, args: argparse.Namespace) -> Subject | None:
    """Load the imported model the arguments name, with the basin's prepared dataset; None if none."""
    settings = subject_settings(args, ctx.params)
    if settings is None:
        return None
    basin_dir = ctx.layout.basin_dir
    if not (basin_dir / "normalized.csv").is_file():
        raise HydroprobeError(f"{basin_dir}/normalized.csv is missing: run 'hydroprobe prepare' and "
                              "'hydroprobe normalize' (dvc repro normalize) for this basin first")
    dataset = BasinDataset.load(basin_dir)
    inputs = settings.get("inputs") or {}
    if settings.get("from_neuralhydrology"):
        from hydroprobe.models.imported.neuralhydrology_run import load_neuralhydrology_run

        run_dir = Path(settings["from_neuralhydrology"])
        simulator = load_neuralhydrology_run(
            run_dir, settings.get("epoch"), settings.get("basin") or "", ctx.basin_id, inputs,
            settings.get("discharge_units") or "m3/s", dataset.series.meta.area_km2,
        )
        provenance, default = simulator.provenance, f"nh-{run_dir.resolve().name}"
    else:
        from hydroprobe.tracking.mlflow_pyfunc import load_mlflow_model

        simulator, provenance = load_mlflow_model(settings["from_mlflow"], inputs, ctx.root)
        default = provenance.get("registered_model") or provenance.get("run_id") or "mlflow"
    name = _label(settings.get("name") or default)
    return Subject(name, simulator, provenance, dataset, ctx.root / IMPORTED_DIR / name)
