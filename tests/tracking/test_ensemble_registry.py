"""The replicate ensemble on a tiny real-data project: its metrics, its registered version, its loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import ConfigError
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.tracking import ensemble_version, store
from hydroprobe.tracking.registry import load_probe_models, register
from hydroprobe.training import metrics

NAME = "hydroprobe-salmon_river"
WINDOW = 30  # tests/tracking/conftest.py TINY


def _forcing(dataset: BasinDataset) -> tuple[np.ndarray, np.ndarray]:
    frame = dataset.series.frame
    return frame["precipitation"].to_numpy(), frame["temperature"].to_numpy()


def _split_days(dataset: BasinDataset, split: str) -> np.ndarray:
    return dataset.windowed(WINDOW).sample_index(*dataset.splits[split]).days


def test_ensemble_metrics_are_the_metrics_of_the_members_mean(in_project):
    summary = json.loads((in_project / "models/lstm/metrics/train.json").read_text())
    block = summary["ensemble"]
    assert block["members"] == 3 and block["seeds"] == [0, 1, 2]
    assert {"selected", "distribution", "convergence", "selection_noise"} <= set(summary)  # kept
    models = load_probe_models("salmon_river", root=in_project)  # the selected one and its sibling replicates
    dataset = BasinDataset.load(in_project / "outputs/salmon_river")
    runs = [replicate.simulate(*_forcing(dataset)) for replicate in models.replicates]
    by_hand = (runs[0] + runs[1] + runs[2]) / 3
    for split in ("train", "validation", "test"):
        days = _split_days(dataset, split)
        observed = dataset.observed(days)
        assert block[split]["nse"] == pytest.approx(metrics.nse(observed, by_hand[days]), abs=1e-6)
        assert block[split]["kge"] == pytest.approx(metrics.kge(observed, by_hand[days]), abs=1e-6)
        assert block[split]["rmse"] == pytest.approx(metrics.rmse(observed, by_hand[days]), rel=1e-5)
    # not a copy of any one member: the selected replicate scores differently
    assert block["test"]["nse"] != pytest.approx(summary["selected"]["test"]["nse"], abs=1e-4)
    store.configure(in_project)
    record = in_project / "outputs/salmon_river/models/lstm/train_run.json"
    parent = json.loads(record.read_text())["parent_run_id"]
    logged = MlflowClient().get_run(parent).data.metrics
    assert logged["ensemble_test_nse"] == pytest.approx(block["test"]["nse"], rel=1e-9)
    assert logged["ensemble_members"] == 3
    fragment = (in_project / "models/lstm/reports/fragments/training.md").read_text()
    assert "| selected | ensemble mean | replicate median |" in fragment
    assert f"{block['test']['nse']:.3f}" in fragment
    # the recipe, from the tiny project's own params (conftest.TINY), so a reader can repeat it
    assert ("Recipe: lstm, hidden size 4, forget-gate bias 3 at the start, its inputs and target "
            "z-scored inside the network with the training split's "
            "statistics; sequence-to-one on 30-day windows, batch 256, Adam at learning rate 0.005, "
            "gradient norm clipped at 1; up to 2 epochs of 5 updates (10 updates), stopped after 30 "
            "without a better validation loss (best epoch restored).") in fragment


def test_ensemble_is_its_own_version_after_the_selected_one(in_project):
    client = MlflowClient()
    selected = client.get_model_version_by_alias(NAME, "challenger")
    ensemble = client.get_model_version_by_alias(NAME, "ensemble")
    assert (str(selected.version), str(ensemble.version)) == ("1", "2")  # default promote.candidate: selected
    assert selected.tags["candidate"] == "selected"
    tags = ensemble.tags
    assert tags["candidate"] == "ensemble" and tags["model_type"] == "lstm" and tags["members"] == "0,1,2"
    record = json.loads((in_project / "outputs/salmon_river/models/lstm/train_run.json").read_text())
    assert tags["config_hash"] == record["config_hash"]
    assert float(tags["validation_nse"]) == pytest.approx(record["ensemble"]["validation_nse"], abs=1e-6)
    artifacts = MlflowClient().list_artifacts(record["parent_run_id"], "ensemble/members")
    assert sorted(a.path for a in artifacts) == [f"ensemble/members/seed_{s}.pt" for s in (0, 1, 2)]
    registered = json.loads((in_project / "outputs/salmon_river/models/lstm/registered.json").read_text())
    assert registered["version"] == "1" and registered["ensemble"]["version"] == "2"


def test_registered_ensemble_loads_weights_only_and_predicts_the_same_numbers(in_project, monkeypatch):
    real_load, calls = torch.load, []

    def weights_only_load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(ensemble_version.torch, "load", weights_only_load)
    loaded = load_probe_models("salmon_river", alias="ensemble", root=in_project)
    assert calls == [True, True, True]
    assert isinstance(loaded.champion, ReplicateEnsemble) and loaded.model_type == "lstm"
    assert loaded.champion.seeds == [0, 1, 2] and loaded.replicates == loaded.champion.members
    siblings = load_probe_models("salmon_river", root=in_project).replicates  # from the replicate runs
    dataset = loaded.dataset
    forcing = _forcing(dataset)
    predicted = loaded.champion.simulate(*forcing)
    expected = np.mean([replicate.simulate(*forcing) for replicate in siblings], axis=0)
    np.testing.assert_array_equal(np.isnan(predicted), np.isnan(expected))
    np.testing.assert_allclose(predicted[WINDOW - 1 :], expected[WINDOW - 1 :], rtol=1e-12)
    days = _split_days(dataset, "validation")
    record = json.loads((in_project / "outputs/salmon_river/models/lstm/train_run.json").read_text())
    nse = metrics.nse(dataset.observed(days), predicted[days])
    assert nse == pytest.approx(record["ensemble"]["validation_nse"], abs=1e-6)


def test_register_again_adds_no_version_and_best_validation_picks_the_higher(in_project):
    assert main(["register"]) == 0
    client = MlflowClient()
    assert len(client.search_model_versions(f"name = '{NAME}'")) == 2
    record = json.loads((in_project / "outputs/salmon_river/models/lstm/train_run.json").read_text())
    chosen = register(in_project, "salmon_river", candidate="best_validation")
    ensemble_wins = record["ensemble"]["validation_nse"] > record["validation_nse"]
    assert chosen["version"] == ("2" if ensemble_wins else "1")
    assert chosen["candidate_rule"] == "best_validation"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == chosen["version"]
    assert len(client.search_model_versions(f"name = '{NAME}'")) == 2
    with pytest.raises(ConfigError, match="promote.candidate"):
        register(in_project, "salmon_river", candidate="newest")
    register(in_project, "salmon_river")  # back to the default for the tests that follow
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "1"


def test_probe_paper_runs_on_the_registered_ensemble(in_project):
    assert main(["probe", "paper", "--alias", "ensemble"]) == 0
    result = json.loads((in_project / "models/lstm/metrics/probes_paper.json").read_text())
    assert result["champion"] == f"{NAME} v2 (ensemble of 3)"
    assert result["replicates"] == ["seed 0", "seed 1", "seed 2"] and result["ensemble"]["members"] == 3
    # the champion is the ensemble, so the ensemble read off its members' runs is the champion again
    case1 = result["case1"]["observed_climatology"]
    ensemble = result["ensemble"]["case1"]["observed_climatology"]
    assert ensemble["peak_flow_m3s"] == pytest.approx(case1["peak_flow_m3s"]["champion"], rel=1e-9)


def test_the_mlflow_pytorch_model_takes_any_batch_and_predicts_as_the_weights(in_project):
    """Users load ``models:/…@champion`` with MLflow itself; its pt2 export must not be fixed to batch 1."""
    import mlflow

    store.configure(in_project)
    loaded = load_probe_models("salmon_river", root=in_project)
    network = mlflow.pytorch.load_model(f"models:/{NAME}@champion")
    dataset = loaded.dataset
    windows = dataset.windowed(WINDOW).windows(_split_days(dataset, "test")[:5])
    with torch.no_grad():
        predicted = network(windows)
        expected = loaded.champion._model(windows)  # the weights-only network the probes run
    assert predicted.shape == (5,)
    np.testing.assert_allclose(predicted.numpy(), expected.numpy(), rtol=1e-6)


def test_a_registered_mclstm_is_pickled_and_loads_through_mlflow(in_project):
    """The MC-LSTM's pt2 export would unroll its day loop (22 MB, 91 s at window 730): it is pickled."""
    import mlflow

    from hydroprobe.tracking.registry import _LOGGERS
    from hydroprobe.training.config import ModelConfig
    from hydroprobe.training.trainer import init_model

    store.configure(in_project)
    dataset = load_probe_models("salmon_river", root=in_project).dataset
    architecture = ModelConfig(type="mclstm", hidden_size=3).architecture(dataset)
    state = init_model(architecture, 0).state_dict()
    spec = {"architecture": architecture, "window": WINDOW, "scaler": {}}
    with mlflow.start_run() as run:
        pass
    uri = _LOGGERS["pytorch_pickle"](run.info.run_id, spec, state)
    network = mlflow.pytorch.load_model(uri)
    windows = dataset.windowed(WINDOW).windows(_split_days(dataset, "test")[:4])
    with torch.no_grad():
        expected = init_model(architecture, 0)(windows)
        np.testing.assert_allclose(network(windows).numpy(), expected.numpy(), rtol=1e-6)
    flavor = mlflow.models.get_model_info(uri).flavors["pytorch"]
    assert flavor.get("serialization_format", "pickle") == "pickle", flavor
