"""Does each model keep wet years wet and dry years dry on the observed test record?

The paper's probes feed hypothetical climates; this asks the same question of the observed one.
A model can score a high daily NSE and still pull every year towards the record's mean, with too
much water in dry years and too little in wet ones. Its replicates share that error, so no
ensemble averages it away. On Salmon it is what caps the LSTM ensemble's test NSE near 0.83
(benchmarks/RESULTS.md). Read from each model's test hydrograph (selected replicate, m³/s), as
its train stage wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.layout import TRAIN_PLOTS
from hydroprobe.probes.climate.signatures import water_years
from hydroprobe.probes.compare.ensemble_report import _fmt  # the comparison tables' one number format

#: The train stage's test hydrograph (``training/outputs.py`` writes it: date, observed, simulated).
TEST_HYDROGRAPH = TRAIN_PLOTS / "hydrograph_test.csv"
COMPLETE_DAYS = 360  # observed days a water year needs to count (split edges and gaps left out)
#: Below this many complete years no spread or correlation is stated: over 5 years a correlation
#: must pass 0.88 to differ from none at the 5 % level, over 6 years 0.81, over Salmon's 8, 0.71.
FEWEST_YEARS = 6


def water_year_volumes(dates: pd.DatetimeIndex, observed: np.ndarray, simulated: np.ndarray) -> dict:
    """Each complete water year's simulated / observed volume, and how the ratio follows the year.

    ``bias_vs_volume``: correlation of a year's observed volume with its relative bias (negative:
    wet years too dry, dry years too wet). ``interannual_std_ratio``: the simulated annual
    volumes' standard deviation over the observed ones' (1 = the year-to-year range kept). Both
    are None with fewer than :data:`FEWEST_YEARS` complete years, and the correlation also when
    the ratio is the same every year.
    """
    frame = pd.DataFrame({"observed": observed, "simulated": simulated}, index=dates)
    unsimulated = frame.index[frame["simulated"].isna() & frame["observed"].notna()]
    if len(unsimulated):
        raise ValueError(f"no simulated discharge on {len(unsimulated)} observed day(s), first "
                         f"{unsimulated[0].date()}: a model must simulate every observed day it is scored on")
    frame = frame.dropna()  # days without an observation (gaps in the record) are not scored
    grouped = frame.groupby(water_years(pd.DatetimeIndex(frame.index)))
    sums = grouped.sum()[grouped.size() >= COMPLETE_DAYS]
    ratio = sums["simulated"] / sums["observed"]
    enough = len(sums) >= FEWEST_YEARS
    return {
        "years": {int(year): round(float(value), 4) for year, value in ratio.items()},
        "volume_ratio": float(frame["simulated"].sum() / frame["observed"].sum()) if len(frame) else None,
        "bias_vs_volume": (float(np.corrcoef(sums["observed"], ratio - 1)[0, 1])
                           if enough and ratio.nunique() > 1 else None),
        "interannual_std_ratio": float(sums["simulated"].std() / sums["observed"].std()) if enough else None,
    }


def read_hydrograph(path: Path) -> dict:
    """:func:`water_year_volumes` of a ``date, observed, simulated`` CSV; a wrong file names what it lacks."""
    frame = pd.read_csv(path, parse_dates=["date"], index_col="date")
    missing = {"observed", "simulated"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: no column {sorted(missing)}; expected the train stage's test "
                         "hydrograph (date, observed, simulated)")
    return water_year_volumes(pd.DatetimeIndex(frame.index), frame["observed"].to_numpy(),
                              frame["simulated"].to_numpy())


def annual_volume_comparison(hydrographs: Mapping[str, Path | None]) -> dict:
    """``per_model.<label>``: :func:`read_hydrograph`, or None where a model has no test hydrograph."""
    return {"per_model": {label: read_hydrograph(path) if path is not None else None
                          for label, path in hydrographs.items()}}


def _years_cell(entry: Mapping) -> str:
    return ", ".join(f"{year}: {value:.2f}" for year, value in entry["years"].items()) or "—"


def annual_volume_markdown(comparison: Mapping) -> str:
    """The section appended to ``reports/fragments/comparison.md``."""
    lines = [
        "### Wet and dry years on the observed test record",
        "",
        "Each complete water year's (October–September, at least "
        f"{COMPLETE_DAYS} observed days) simulated volume over the observed, for each model's selected "
        "replicate. A model that keeps wet years wet and dry years dry has a year-to-year spread near 1 "
        "and no correlation between a year's volume and its bias. One that pulls the years towards the "
        "mean has a spread below 1 and a negative correlation; its replicates share that error, so "
        "their ensemble mean keeps it.",
        "",
        "| Model | Complete years | Volume, simulated / observed | Year-to-year spread | "
        "Bias vs the year's volume (correlation) | Each year, simulated / observed |",
        "|---|---|---|---|---|---|",
    ]
    for label, entry in comparison["per_model"].items():
        if entry is None:
            lines.append(f"| {label} | no test hydrograph | — | — | — | — |")
            continue
        lines.append(
            f"| {label} | {len(entry['years'])} | {_fmt(entry['volume_ratio'], '.2f')} | "
            f"{_fmt(entry['interannual_std_ratio'], '.2f')} | {_fmt(entry['bias_vs_volume'], '+.2f')} | "
            f"{_years_cell(entry)} |"
        )
    few = [label for label, entry in comparison["per_model"].items()
           if entry is not None and len(entry["years"]) < FEWEST_YEARS]
    if few:
        lines += ["", f"Fewer than {FEWEST_YEARS} complete water years for {', '.join(few)}: no spread "
                  "or correlation is stated."]
    return "\n".join(lines) + "\n"
