"""Fixtures for the probe tests: the real Salmon series as a dataset, and tiny trained LSTMs.

Nothing here is invented: the dataset is the real Salmon record with its
params.yaml splits and a scaler fitted on the training period, and the LSTMs
are trained on it (2 epochs, hidden size 4, 30-day window — small enough for CI).
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from hydroprobe.data.basin import COLUMNS, BasinSeries
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import parse_splits
from hydroprobe.models.simulator import SequenceModelSimulator
from hydroprobe.probes.paper import ProbeSettings
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.trainer import train_replicate

WINDOW = 30


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


@pytest.fixture(scope="session")
def salmon_dataset(salmon: BasinSeries, params: dict) -> BasinDataset:
    """The real Salmon series as the normalise stage would leave it (scaler fitted on 1961–1990)."""
    splits = parse_splits(params["basins"]["salmon_river"]["splits"], "basins.salmon_river.splits")
    start, end = splits["train"]
    scaler = MinMaxScaler.fit(salmon.frame.loc[start:end], COLUMNS)
    return BasinDataset(salmon, splits, scaler, scaler.transform_frame(salmon.frame), "probe-tests")


@pytest.fixture
def settings() -> ProbeSettings:
    """The defaults of params.yaml's probes section with the Salmon accumulation window."""
    return ProbeSettings(accumulation_season=("10-15", "03-15"))


@pytest.fixture(scope="session")
def tiny_lstms(salmon_dataset: BasinDataset) -> list[SequenceModelSimulator]:
    """Two replicates (seeds 0, 1) of a hidden-size-4 LSTM trained 2 epochs on 1961–1963."""
    architecture = ModelConfig(hidden_size=4).architecture()
    config = TrainConfig(window=WINDOW, max_epochs=2, batch_size=256, replicates=2)
    series = salmon_dataset.windowed(WINDOW)
    train = series.sample_index(pd.Timestamp("1961-01-01"), pd.Timestamp("1963-12-31")).days
    validation = series.sample_index(pd.Timestamp("1991-01-01"), pd.Timestamp("1991-12-31")).days
    return [
        SequenceModelSimulator(
            name=f"tiny-lstm-seed{seed}",
            architecture=architecture,
            state_dict=train_replicate(
                architecture, series, train, validation, config, seed, torch.device("cpu")
            ).state_dict,
            scaler=salmon_dataset.scaler,
            window=WINDOW,
        )
        for seed in config.seeds()
    ]
