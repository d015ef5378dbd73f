"""The real Salmon record cut to 1960-12 … 1962-06, as the training tests share it.

Train 1961-01 … 1961-10, validation 1961-11 … 1962-03, test 1962-04 … 1962-06:
small enough to train hidden-4 LSTMs in seconds, real enough that the
numbers come from the real basin.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from hydroprobe.data.basin import COLUMNS, DISCHARGE, INPUTS
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.windows import WindowedSeries

TRAIN = (pd.Timestamp("1961-01-01"), pd.Timestamp("1961-10-31"))
VALIDATION = (pd.Timestamp("1961-11-01"), pd.Timestamp("1962-03-31"))
TEST = (pd.Timestamp("1962-04-01"), pd.Timestamp("1962-06-30"))


@pytest.fixture(scope="module")
def cut(salmon):
    """Normalised 30-day windows of the cut series and its train / validation target days."""
    frame = salmon.frame.loc["1960-12-01":"1962-03-31"]
    scaler = MinMaxScaler.fit(frame.loc[TRAIN[0] : TRAIN[1]], COLUMNS)
    scaled = scaler.transform_frame(frame)
    series = WindowedSeries(
        scaled[list(INPUTS)].to_numpy(), scaled[DISCHARGE].to_numpy(), pd.DatetimeIndex(scaled.index), 30
    )
    return series, series.sample_index(*TRAIN).days, series.sample_index(*VALIDATION).days


@pytest.fixture(scope="module")
def cut_dataset(salmon, tmp_path_factory) -> BasinDataset:
    """The cut as the prepare and normalize stages leave it, for ``train_replicates``."""
    folder = tmp_path_factory.mktemp("basin")
    cut_series = dataclasses.replace(salmon, frame=salmon.frame.loc["1960-12-01":"1962-06-30"])
    write_prepared(cut_series, {"train": TRAIN, "validation": VALIDATION, "test": TEST}, folder)
    normalize(folder)
    return BasinDataset.load(folder)
