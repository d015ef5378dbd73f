"""The model-kind table: every kind resolves, and a fourth kind needs one class and one entry.

The new kind here is a GRU defined in this file: registering it in ``KINDS`` is
all it takes for the config to accept it, the trainer to fit its replicates,
the registry's factory to rebuild it for the probes, and the comparison to
know its loss term — without touching the other kinds' training fingerprints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hydroprobe.cli.common import StageContext, model_keys
from hydroprobe.errors import ConfigError
from hydroprobe.models import kinds
from hydroprobe.models.kinds import KINDS, ModelKind, build_model, kind_of
from hydroprobe.probes.compare.inputs import ModelInput
from hydroprobe.tracking.fits import FITS, fit_for
from hydroprobe.tracking.registry import registered_model_name
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.fingerprint import PACKAGE_ROOT, resolve_engine, training_code
from hydroprobe.training.replicates import train_replicates

CPU = torch.device("cpu")


class TinyGRU(nn.Module):
    """A fourth kind of network: a GRU read out on the last step."""

    def __init__(self, n_inputs: int = 2, hidden_size: int = 4):
        super().__init__()
        self.gru = nn.GRU(n_inputs, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(x)[0][:, -1]).squeeze(-1)


GRU_KIND = ModelKind(
    name="gru", label="GRU", conserving=False, loss_term="none", fit="gradient", logged_as="pytorch",
    simulator="hydroprobe.models.simulator:network_simulator", network=f"{__name__}:TinyGRU",
    sources=("models/lstm.py",),  # a real kind names its own file in models/
)


@pytest.fixture
def with_gru(monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "gru", GRU_KIND)


def test_every_kind_resolves_its_network_factories_and_sources() -> None:
    for kind in KINDS.values():
        assert all(list(PACKAGE_ROOT.glob(source)) for source in kind.sources), kind.name
        assert callable(kinds._resolve(kind.simulator)), kind.name
        if kind.network:
            assert issubclass(kind.network_class(), nn.Module)
        assert kind.fit in FITS and kind.loss_term in ("none", "trash", "ET")
    # conserving kinds book the water they do not return; the LSTM books none (all residual)
    assert [k.name for k in KINDS.values() if k.conserving] == ["mclstm", "gr4jcn", "regional_mclstm"]
    assert (kind_of("mclstm").loss_term, kind_of("gr4jcn").loss_term) == ("trash", "ET")
    # a conserving network's stores carry water across days: the probes run it in one pass
    assert [k.name for k in KINDS.values() if k.evaluation == "one_pass"] == ["regional_mclstm"]
    with pytest.raises(ValueError, match="unknown model type 'gru'; known: lstm, mclstm, gr4jcn, regional"):
        kind_of("gru")
    with pytest.raises(ValueError, match="model kind 'gr4jcn' is not a network"):
        kind_of("gr4jcn").network_class()


def test_a_fourth_kind_is_one_class_and_one_entry(with_gru, cut_dataset, tmp_path: Path) -> None:
    lstm_code = training_code("lstm")
    with pytest.raises(ConfigError, match="'model.hidden_size' must be >= 1 for gru"):
        ModelConfig(type="gru", hidden_size=0)
    model = ModelConfig(type="gru", hidden_size=3)
    assert model.architecture(cut_dataset) == {"type": "gru", "n_inputs": 2, "hidden_size": 3}
    assert resolve_engine("auto", "gru") == "sequential" and fit_for(model) is FITS["gradient"]
    train = TrainConfig(window=30, batch_size=64, learning_rate=0.01, max_epochs=2, replicates=2)
    outcome = train_replicates(cut_dataset, model, train, tmp_path, CPU)
    assert [r.seed for r in outcome.replicates] == [0, 1]
    assert all(np.isfinite(r.metrics["validation"]["nse"]) for r in outcome.replicates)

    # the registry's factory rebuilds it from a stored spec and weights, as the probes load it
    spec = {"architecture": outcome.architecture, "window": train.window,
            "scaler": cut_dataset.scaler.to_dict()}
    simulator = kind_of("gru").build_simulator("gru v1", spec, outcome.best.result.state_dict)
    frame = cut_dataset.series.frame
    flow = simulator.simulate(frame["precipitation"].to_numpy(), frame["temperature"].to_numpy())
    assert np.isnan(flow[:29]).all() and np.isfinite(flow[29:]).all()
    network = build_model(outcome.architecture)
    assert isinstance(network, TinyGRU)
    assert (simulator.spinup_days, simulator.has_fluxes) == (29, False)

    # the comparison reads its loss term from the table; other kinds' fingerprints did not move
    assert ModelInput("GRU", "gru", False, {}, {}, frame.iloc[:0]).et_term == "none"
    assert training_code("lstm") == lstm_code


def test_a_fourth_kind_joins_the_bench_with_one_params_block(with_gru, params: dict, tmp_path: Path) -> None:
    """``models.gru: {model: {type: gru}}`` is all the stages need: config, paths, registry name, order.

    (tests/test_stage_dependencies.py shows the same block giving it its own DVC stages.)
    """
    params = {**params, "models": {**params["models"], "gru": {"model": {"type": "gru", "hidden_size": 3}}}}
    context = StageContext(tmp_path, params, "salmon_river", "gru")
    model, train = context.model_config(), context.train_config()
    assert (model.type, model.hidden_size, model.kind.label) == ("gru", 3, "GRU")
    assert train.window == params["train"]["window"]  # the recipe it does not set is the shared one
    assert context.layout.train_metrics == tmp_path / "models/gru/metrics/train.json"
    assert registered_model_name("salmon_river", "gru") == "hydroprobe-salmon_river-gru"
    assert model_keys(params) == ["lstm", "mclstm", "gr4jcn", "gru"]
