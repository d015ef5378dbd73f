"""The prepare → normalise stages as pure functions, and the reader the training stage uses.

Layout of a basin's stage outputs (``outputs/<basin>/``)::

    prepared.csv     canonical daily series, physical units (prepare)
    basin.json       metadata, splits and source of the series (prepare)
    normalized.csv   min-max scaled series (normalize)
    scaler.json      the fitted scaler (normalize)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import COLUMNS, DISCHARGE, INPUTS, BasinMeta, BasinSeries
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import Splits, parse_splits, splits_to_json
from hydroprobe.data.windows import WindowedSeries

PREPARED = "prepared.csv"
BASIN = "basin.json"
NORMALIZED = "normalized.csv"
SCALER = "scaler.json"


def write_prepared(series: BasinSeries, splits: Splits, out_dir: Path, extra: dict | None = None) -> None:
    """Save the canonical series and its metadata (the ``prepare`` stage's output)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = series.frame[list(COLUMNS)].copy()
    frame.index.name = "date"
    frame.to_csv(out_dir / PREPARED, float_format="%.6g")
    info = {"meta": series.meta.to_dict(), "splits": splits_to_json(splits), "source": series.source}
    info.update(extra or {})
    (out_dir / BASIN).write_text(json.dumps(info, indent=2) + "\n")


def read_prepared(out_dir: Path) -> tuple[BasinSeries, Splits]:
    info = json.loads((out_dir / BASIN).read_text())
    frame = pd.read_csv(out_dir / PREPARED, index_col="date", parse_dates=["date"])
    series = BasinSeries(meta=BasinMeta(**info["meta"]), frame=frame, source=info.get("source", ""))
    return series, parse_splits(info["splits"], f"{out_dir / BASIN}:splits")


def normalize(out_dir: Path) -> dict:
    """Fit the scaler on the training split and write the normalised series.

    Returns a report: values outside [0, 1] per split and column (allowed,
    since validation and test may exceed the training range, but counted).
    """
    series, splits = read_prepared(out_dir)
    start, end = splits["train"]
    train = series.frame.loc[start:end]
    scaler = MinMaxScaler.fit(train, COLUMNS)
    scaled = scaler.transform_frame(series.frame)
    scaled.index.name = "date"
    scaled.to_csv(out_dir / NORMALIZED, float_format="%.9g")
    scaler.to_json(out_dir / SCALER)
    return {
        "out_of_range": {
            name: scaler.out_of_range(series.frame.loc[s:e]) for name, (s, e) in splits.items()
        },
        "scaler": scaler.to_dict(),
    }


@dataclass
class BasinDataset:
    """Everything training needs: physical and normalised series, scaler, splits."""

    series: BasinSeries
    splits: Splits
    scaler: MinMaxScaler
    normalized: pd.DataFrame
    fingerprint: str

    @classmethod
    def load(cls, out_dir: Path) -> BasinDataset:
        series, splits = read_prepared(out_dir)
        normalized = pd.read_csv(out_dir / NORMALIZED, index_col="date", parse_dates=["date"])
        digest = hashlib.sha256()
        for name in (NORMALIZED, SCALER, BASIN):
            digest.update((out_dir / name).read_bytes())
        return cls(series, splits, MinMaxScaler.from_json(out_dir / SCALER), normalized, digest.hexdigest())

    @property
    def basin_id(self) -> str:
        return self.series.meta.id

    def windowed(self, window: int) -> WindowedSeries:
        return WindowedSeries(
            inputs=self.normalized[list(INPUTS)].to_numpy(),
            target=self.normalized[DISCHARGE].to_numpy(),
            dates=pd.DatetimeIndex(self.normalized.index),
            window=window,
        )

    def observed(self, days: np.ndarray) -> np.ndarray:
        """Observed discharge (m³/s) on the given day indices."""
        return self.series.frame[DISCHARGE].to_numpy()[days]
