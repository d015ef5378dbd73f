"""Min-max scaling and index-based windows on the real Salmon record."""

import numpy as np
import pandas as pd
import pytest

from hydroprobe.data.basin import COLUMNS
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.windows import WindowedSeries


def test_scaler_fitted_on_training_period_only(salmon):
    train = salmon.frame.loc["1961-01-01":"1990-12-31"]
    scaler = MinMaxScaler.fit(train, COLUMNS)
    scaled = scaler.transform_frame(train)
    assert scaled.min().min() == pytest.approx(0.0)
    assert scaled.max().max() == pytest.approx(1.0)
    assert scaler.maximum["discharge"] == pytest.approx(train["discharge"].max())
    # the whole record reaches outside the training range: counted, not clipped
    outside = scaler.out_of_range(salmon.frame)
    assert outside["discharge"] > 0  # a flood after 1990 exceeds the training maximum
    assert scaler.transform_frame(salmon.frame)["discharge"].max() > 1


def test_inverse_is_exact(salmon, tmp_path):
    scaler = MinMaxScaler.fit(salmon.frame.loc["1961":"1990"], COLUMNS)
    scaler.to_json(tmp_path / "scaler.json")
    reloaded = MinMaxScaler.from_json(tmp_path / "scaler.json")
    q = salmon.frame["discharge"].dropna().to_numpy()
    assert np.abs(reloaded.inverse(reloaded.transform(q, "discharge"), "discharge") - q).max() < 1e-9


def test_window_ends_on_target_day(salmon):
    frame = salmon.frame.loc["1961-01-01":"1963-12-31"]
    series = WindowedSeries(
        frame[["precipitation", "temperature"]].to_numpy(),
        frame["discharge"].to_numpy(),
        pd.DatetimeIndex(frame.index),
        window=10,
    )
    index = series.sample_index(pd.Timestamp("1962-01-01"), pd.Timestamp("1962-12-31"))
    day = index.days[0]
    x, y = series.batch(np.array([day]))
    assert x.shape == (1, 10, 2)
    expected = frame.iloc[day - 9 : day + 1][["precipitation", "temperature"]].to_numpy()
    np.testing.assert_allclose(x[0].numpy(), expected, rtol=1e-6)
    assert float(y[0]) == pytest.approx(frame["discharge"].iloc[day], rel=1e-6)


def test_missing_forcing_drops_samples_and_short_history_is_counted(salmon):
    frame = salmon.frame.loc["1975-01-01":"1975-12-31"].copy()
    frame.iloc[100, frame.columns.get_loc("temperature")] = np.nan  # one missing forcing day
    series = WindowedSeries(
        frame[["precipitation", "temperature"]].to_numpy(),
        frame["discharge"].to_numpy(),
        pd.DatetimeIndex(frame.index),
        window=5,
    )
    index = series.sample_index(pd.Timestamp("1975-01-01"), pd.Timestamp("1975-12-31"))
    assert frame["discharge"].iloc[:5].notna().all()
    # targets on days 100..104 have the gap inside their window
    assert index.missing_forcing == 5
    assert index.short_history == 4  # days 0..3 lack 4 days of history
    assert not set(range(100, 105)) & set(index.days.tolist())
    assert index.missing_target == int(frame["discharge"].isna().sum())
