"""An imported model's skill on the basin's observed forcing, written as the files a trained model leaves.

A model trained elsewhere has no hydroprobe training run, yet the comparison
and the report read every model's skill from ``metrics/train.json``. This
writes that file (``selected`` is the imported model; there is no replicate
spread), the daily hydrograph on observed forcing
(``plots/observed/hydrograph.csv``, every day of the record, NaN before the
first full input window) and a report section saying where the model came
from, so an imported model stands beside hydroprobe's own ones unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.training.metrics import all_metrics

SKILL_FILE = Path("metrics/train.json")
HYDROGRAPH_FILE = Path("plots/observed/hydrograph.csv")
FRAGMENT_FILE = Path("reports/fragments/imported_model.md")


def observed_hydrograph(simulator: DischargeSimulator, dataset: BasinDataset) -> pd.DataFrame:
    """Observed forcing and discharge beside the model's discharge on every day of the record."""
    frame = dataset.series.frame
    simulated = simulator.simulate(frame[PRECIPITATION].to_numpy(), frame[TEMPERATURE].to_numpy())
    table = pd.DataFrame(
        {
            PRECIPITATION: frame[PRECIPITATION].to_numpy(),
            TEMPERATURE: frame[TEMPERATURE].to_numpy(),
            "observed": frame[DISCHARGE].to_numpy(),
            "simulated": np.asarray(simulated, dtype=np.float64),
        },
        index=pd.DatetimeIndex(frame.index, name="date"),
    )
    table["split"] = ""
    for split, (start, end) in dataset.splits.items():
        table.loc[start:end, "split"] = split
    return table


def skill(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """NSE, KGE, RMSE and r per split, on the days the split covers."""
    return {
        split: all_metrics(part["observed"].to_numpy(), part["simulated"].to_numpy())
        for split, part in table[table["split"] != ""].groupby("split", sort=False)
    }


def write_imported_skill(
    simulator: DischargeSimulator, dataset: BasinDataset, provenance: Mapping[str, str], out_dir: Path
) -> dict:
    """Write ``metrics/train.json``, the observed-forcing hydrograph and the report section; return the JSON.

    ``provenance`` (where the model came from) is kept in the JSON and named in the section.
    """
    out_dir = Path(out_dir)
    table = observed_hydrograph(simulator, dataset)
    result = {
        "selection": "imported model, not trained by hydroprobe",
        "replicates": 1,
        "model": simulator.name,
        "source": dict(provenance),
        "selected": skill(table),
        "distribution": {},
    }
    for path in (SKILL_FILE, HYDROGRAPH_FILE, FRAGMENT_FILE):
        (out_dir / path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / HYDROGRAPH_FILE, float_format="%.9g")
    (out_dir / SKILL_FILE).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    (out_dir / FRAGMENT_FILE).write_text(fragment(result, dataset))
    return result


def fragment(result: dict, dataset: BasinDataset) -> str:
    """The report section: where the model came from and its skill per split."""
    source = ", ".join(f"{key} `{value}`" for key, value in result["source"].items())
    lines = [
        f"## Imported model: {result['model']}",
        "",
        f"Trained outside hydroprobe and probed exactly like its own models. Source: {source}.",
        "",
        "| split | period | NSE | KGE | RMSE (m³/s) | r |",
        "|---|---|---|---|---|---|",
    ]
    for split, scores in result["selected"].items():
        start, end = dataset.splits[split]
        lines.append(
            f"| {split} | {start.date()}…{end.date()} | {scores['nse']:.3f} | {scores['kge']:.3f} "
            f"| {scores['rmse']:.1f} | {scores['r']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def output_files(out_dir: Path) -> list[Path]:
    """Every file :func:`write_imported_skill` writes under ``out_dir``."""
    return [Path(out_dir) / path for path in (SKILL_FILE, HYDROGRAPH_FILE, FRAGMENT_FILE)]
