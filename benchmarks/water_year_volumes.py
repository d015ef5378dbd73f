"""Does a model track wet and dry years? Each complete water year's simulated / observed volume.

A model can score a high daily NSE and still pull every year towards the record's mean: too much
water in dry years, too little in wet ones. No number of replicates averages that away, so it
caps what an ensemble can reach (issue 14's LSTM target). ``hydroprobe compare`` reports it for
every model (``hydroprobe.probes.compare.annual_volumes``); this prints it for any test
hydrographs ``dvc repro`` wrote (``models/<key>/plots/train/hydrograph_test.csv``: date,
observed, simulated) and can keep the numbers as JSON. ``lstm_ensemble_size.py`` applies the same
measure to its ensemble mean.

    python benchmarks/water_year_volumes.py models/lstm/plots/train/hydrograph_test.csv \\
        models/mclstm/plots/train/hydrograph_test.csv
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from hydroprobe.probes.compare.annual_volumes import read_hydrograph


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("hydrographs", type=Path, nargs="+",
                        help="models/<key>/plots/train/hydrograph_test.csv")
    parser.add_argument("--output", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    record = {str(path): read_hydrograph(path) for path in args.hydrographs}
    for path, row in record.items():
        correlation = "none" if row["bias_vs_volume"] is None else f"{row['bias_vs_volume']:.2f}"
        spread = "none" if row["interannual_std_ratio"] is None else f"{row['interannual_std_ratio']:.2f}"
        print(f"{path}: {len(row['years'])} complete water years, volume {row['volume_ratio']:.3f} of "
              f"observed, bias-volume correlation {correlation}, year-to-year spread {spread}")
    if args.output:
        record = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                  "python": platform.python_version(), "pandas": pd.__version__, "hydrographs": record}
        args.output.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
