"""``--from-mlflow``: a hydroprobe LSTM logged as a generic MLflow pyfunc model probes to the same numbers.

The wrapper below is what any library's user writes to follow the documented
contract (:mod:`hydroprobe.tracking.mlflow_pyfunc`): named ``precipitation`` and
``temperature`` windows in physical units in, discharge in m³/s out.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.errors import ConfigError
from hydroprobe.models import build_model
from hydroprobe.tracking import store
from hydroprobe.tracking.mlflow_pyfunc import _window, contract_signature
from hydroprobe.tracking.registry import SPEC_FILE, WEIGHTS_FILE


class ForcingWindowModel(mlflow.pyfunc.PythonModel):
    """A network and its scaler behind the contract: physical forcing windows → discharge (m³/s)."""

    def __init__(self, spec: dict, state: dict) -> None:
        self.spec, self.state = spec, state

    def load_context(self, context) -> None:
        self.scaler = MinMaxScaler.from_dict(self.spec["scaler"])
        self.network = build_model(self.spec["architecture"])
        self.network.load_state_dict(self.state)
        self.network.eval()

    def predict(self, context, model_input, params=None):
        names = ("precipitation", "temperature")
        scaled = np.stack([self.scaler.transform(model_input[name], name) for name in names], axis=-1)
        with torch.no_grad():
            out = self.network(torch.as_tensor(scaled, dtype=torch.float32)).double().numpy()
        return self.scaler.inverse(out, "discharge").reshape(-1)


def _champion_spec(root) -> tuple[dict, dict]:
    """The registered champion's spec and weights, as ``hydroprobe register`` stored them."""
    store.configure(root)
    folder = mlflow.artifacts.download_artifacts("models:/hydroprobe-salmon_river@champion",
                                                 dst_path=str(root / "champion"))
    spec = json.loads(next(Path(folder).rglob(SPEC_FILE)).read_text())
    state = torch.load(next(Path(folder).rglob(WEIGHTS_FILE)), weights_only=True)
    return spec, state


@pytest.fixture(scope="module")
def pyfunc_version(trained_project):
    """The champion logged as a pyfunc model, registered as ``salmon-pyfunc`` with alias ``test``."""
    with pytest.MonkeyPatch.context() as mp:  # the project's store, whatever an earlier module exported
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        spec, state = _champion_spec(trained_project)
        with mlflow.start_run(run_name="pyfunc-export") as run:
            mlflow.pyfunc.log_model(
                name="model", python_model=ForcingWindowModel(spec, state),
                signature=contract_signature(spec["window"]), pip_requirements=[],
                registered_model_name="salmon-pyfunc",
            )
        MlflowClient().set_registered_model_alias("salmon-pyfunc", "test", "1")
    return run.info.run_id


def test_a_pyfunc_model_probes_like_the_native_one(in_project, pyfunc_version):
    root = in_project
    config = yaml.safe_load((root / "params.yaml").read_text())
    config["models"] = {"lstm": config["models"]["lstm"]}  # the paper's LSTM alone
    (root / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["probe", "paper"]) == 0
    assert main(["probe", "paper", "--from-mlflow", "models:/salmon-pyfunc@test", "--name", "pyfunc"]) == 0
    native = json.loads((root / "models/lstm/metrics/probes_paper.json").read_text())
    imported = json.loads((root / "imported/pyfunc/metrics/probes_paper.json").read_text())
    assert imported["champion"] == "salmon-pyfunc v1"
    for case, scenario, metric in [
        ("case1", "observed_climatology", "peak_flow_m3s"),
        ("case1", "sinusoid", "melt_season_volume_km3"),
        ("case2", "mass_recovered_min", None),
        ("case2", "mass_recovered_max", None),
    ]:
        node = imported[case][scenario] if metric is None else imported[case][scenario][metric]
        expected = native[case][scenario] if metric is None else native[case][scenario][metric]
        assert node["champion"] == pytest.approx(expected["champion"], rel=1e-5, abs=1e-6)
    skill = json.loads((root / "imported/pyfunc/metrics/train.json").read_text())
    trained = json.loads((root / "models/lstm/metrics/train.json").read_text())
    for split in ("train", "validation", "test"):
        assert skill["selected"][split]["nse"] == pytest.approx(trained["selected"][split]["nse"], abs=1e-5)

    runs = mlflow.search_runs(experiment_names=["hydroprobe-salmon_river"], output_format="list",
                              filter_string="tags.model_name = 'pyfunc'")
    (run,) = runs
    assert run.data.tags["imported.registered_model"] == "salmon-pyfunc"
    assert run.data.tags["imported.registered_version"] == "1"
    assert run.data.tags["imported.run_id"] == pyfunc_version
    assert run.data.tags["model_version"] == "1"

    assert main(["compare"]) == 0
    comparison = json.loads((root / "metrics/comparison.json").read_text())
    assert "pyfunc (imported)" in json.dumps(comparison)
    assert list(comparison["ensemble"]["per_model"]) == ["LSTM"]  # the imported model has no replicates
    assert main(["report"]) == 0
    report = (root / "reports/basins/salmon_river.md").read_text()
    section = report[report.index("## Imported model: pyfunc") :]
    assert section.startswith("## Imported model: pyfunc\n\n### Imported model: salmon-pyfunc v1\n")
    assert f"| test | 1988-01-01…1988-12-31 | {skill['selected']['test']['nse']:.3f} |" in section


def test_a_signature_off_the_contract_is_refused_with_the_contract():
    signature = contract_signature(30, {"precipitation": "prcp"})
    names = {"precipitation": "precipitation", "temperature": "temperature"}
    with pytest.raises(ConfigError) as error:
        _window(signature, names, "models:/x@y")
    assert str(error.value).startswith(
        "models:/x@y: the signature has inputs prcp, temperature but no precipitation; map them with "
        "--input precipitation=NAME / --input temperature=NAME"
    )
    assert _window(signature, {**names, "precipitation": "prcp"}, "models:/x@y") == 30
