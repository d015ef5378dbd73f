"""Does a model track wet and dry years? Each complete water year's simulated / observed volume.

A model can score a high daily NSE and still pull every year towards the record's mean: too much
water in dry years, too little in wet ones. No number of replicates averages that away, so it
caps what an ensemble can reach (issue 14's LSTM target). This reads the test hydrographs that
``dvc repro`` writes (``models/<key>/plots/train/hydrograph_test.csv``: date, observed, simulated)
and reports, per model, each complete water year's volume ratio, the correlation between a
year's observed volume and its relative bias, and the simulated annual volumes' spread over the
observed ones'. ``lstm_ensemble_size.py`` applies the same measure to its ensemble mean.

    python benchmarks/water_year_volumes.py models/lstm/plots/train/hydrograph_test.csv \\
        models/mclstm/plots/train/hydrograph_test.csv
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.probes.climate.signatures import water_years

COMPLETE_DAYS = 360  # observed days a water year needs to count (edges of splits and gaps left out)


def water_year_volumes(dates: pd.DatetimeIndex, observed: np.ndarray, simulated: np.ndarray) -> dict:
    """Each complete water year's simulated / observed volume and how the ratio follows the year.

    ``bias_vs_volume`` is the correlation between a year's observed volume and its relative bias
    (negative: wet years too dry, dry years too wet; None when the ratio is the same every year);
    ``interannual_std_ratio`` the simulated
    annual volumes' standard deviation over the observed ones' (1 = the year-to-year range kept).
    """
    frame = pd.DataFrame({"observed": observed, "simulated": simulated}, index=dates).dropna()
    grouped = frame.groupby(water_years(pd.DatetimeIndex(frame.index)))
    sums = grouped.sum()[grouped.size() >= COMPLETE_DAYS]
    if len(sums) < 3:
        raise ValueError(f"{len(sums)} complete water years (>= {COMPLETE_DAYS} observed days); need 3")
    ratio = sums["simulated"] / sums["observed"]
    varies = ratio.nunique() > 1  # a constant bias correlates with nothing: None, not NaN
    return {"years": {int(year): round(float(value), 4) for year, value in ratio.items()},
            "volume_ratio": float(frame["simulated"].sum() / frame["observed"].sum()),
            "bias_vs_volume": float(np.corrcoef(sums["observed"], ratio - 1)[0, 1]) if varies else None,
            "interannual_std_ratio": float(sums["simulated"].std() / sums["observed"].std())}


def from_hydrograph(path: Path) -> dict:
    """:func:`water_year_volumes` of a ``date, observed, simulated`` CSV."""
    frame = pd.read_csv(path, parse_dates=["date"], index_col="date")
    missing = {"observed", "simulated"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: no column {sorted(missing)}; expected a dvc plots hydrograph "
                         "(date, observed, simulated)")
    return water_year_volumes(pd.DatetimeIndex(frame.index), frame["observed"].to_numpy(),
                              frame["simulated"].to_numpy())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("hydrographs", type=Path, nargs="+",
                        help="models/<key>/plots/train/hydrograph_test.csv")
    parser.add_argument("--output", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    record = {str(path): from_hydrograph(path) for path in args.hydrographs}
    for path, row in record.items():
        correlation = "none" if row["bias_vs_volume"] is None else f"{row['bias_vs_volume']:.2f}"
        print(f"{path}: volume {row['volume_ratio']:.3f} of observed, bias-volume correlation "
              f"{correlation}, year-to-year spread {row['interannual_std_ratio']:.2f}")
    if args.output:
        record = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                  "python": platform.python_version(), "pandas": pd.__version__, "hydrographs": record}
        args.output.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
