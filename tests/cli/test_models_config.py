"""The bench of models: params ``models`` blocks, the subject, paths and registry names (issue 13)."""

from __future__ import annotations

import copy

import pytest

from hydroprobe.cli.common import StageContext, model_keys
from hydroprobe.errors import ConfigError
from hydroprobe.layout import Layout
from hydroprobe.probes.hypothetical import spinup_years
from hydroprobe.tracking.registry import registered_model_name


@pytest.fixture
def context(params: dict, repo_root) -> StageContext:
    return StageContext(repo_root, copy.deepcopy(params), "salmon_river")


def test_a_models_block_overrides_model_and_train_key_by_key(context: StageContext):
    context.params["models"]["small"] = {"model": {"type": "mclstm", "hidden_size": 3},
                                         "train": {"window": 40}}
    context.model_key = "small"
    model, train = context.model_config(), context.train_config()
    assert (model.type, model.hidden_size) == ("mclstm", 3)
    assert train.window == 40
    assert train.batch_size == context.params["train"]["batch_size"]  # not overridden: inherited
    assert train.learning_rate == context.params["train"]["learning_rate"]
    # where a knob is set for this model: its own block, or the top level it inherits
    assert context.param_key("train.window") == "models.small.train.window"
    assert context.param_key("train.max_epochs") == "train.max_epochs"


def test_model_block_typos_name_the_key(context: StageContext):
    context.params["models"]["small"] = {"modle": {"type": "mclstm"}}
    context.model_key = "small"
    with pytest.raises(ConfigError, match=r"unknown key 'models\.small\.modle'"):
        context.model_config()
    context.params["models"]["small"] = {"train": {"windwo": 40}}
    with pytest.raises(ConfigError, match=r"unknown key 'models\.small\.train\.windwo'"):
        context.train_config()
    context.model_key = "missing"
    with pytest.raises(ConfigError, match="no model 'missing' under 'models'; defined: lstm, mclstm, gr4jcn"):
        context.model_config()


def test_the_subject_defaults_every_command_and_leads_every_table(params: dict, repo_root):
    params = copy.deepcopy(params)
    assert StageContext(repo_root, params, "salmon_river").model_key == "lstm"
    params["compare"]["subject"] = "mclstm"
    assert StageContext(repo_root, params, "salmon_river").model_key == "mclstm"
    assert model_keys(params) == ["mclstm", "lstm", "gr4jcn"]
    params["compare"]["subject"] = "hbv"
    with pytest.raises(ConfigError, match="compare.subject 'hbv' is not a key of 'models'; defined: lstm"):
        StageContext(repo_root, params, "salmon_river")


def test_the_bundled_models_are_valid(context: StageContext):
    kinds = {}
    for name in context.params["models"]:
        context.model_key = name
        kinds[name] = context.model_config().type
        context.train_config()
        context.calibration_config()
    assert kinds == {"lstm": "lstm", "mclstm": "mclstm", "gr4jcn": "gr4jcn"}
    context.model_key = "gr4jcn"  # calibration is the conceptual model's own block
    own = context.params["models"]["gr4jcn"]["calibration"]
    assert context.calibration_config().evaluations == own["evaluations"]


def test_every_model_writes_the_same_tree_under_models(tmp_path):
    basin, lstm, gr4jcn = (Layout(tmp_path, "salmon_river", key) for key in ("", "lstm", "gr4jcn"))
    assert lstm.train_metrics == tmp_path / "models/lstm/metrics/train.json"
    assert gr4jcn.train_metrics == tmp_path / "models/gr4jcn/metrics/train.json"
    assert gr4jcn.fragments == tmp_path / "models/gr4jcn/reports/fragments"
    assert gr4jcn.champion == tmp_path / "outputs/salmon_river/models/gr4jcn/champion.json"
    assert gr4jcn.basin_dir == lstm.basin_dir == basin.basin_dir  # prepared data is shared
    assert basin.fragments == tmp_path / "reports/fragments"  # the comparison's, at the root
    # registry names as before the bench: stores made then keep loading
    assert registered_model_name("salmon_river", "lstm") == "hydroprobe-salmon_river"
    assert registered_model_name("salmon_river", "gr4jcn") == "hydroprobe-salmon_river-gr4jcn"


def test_spin_up_covers_a_window_or_a_storage_models_spinup_days():
    from hydroprobe.models.gr4jcn import PARAMETER_NAMES, GR4JCNSimulator
    from hydroprobe.models.imported.windows import WindowedForcingSimulator

    def windowed(window: int) -> WindowedForcingSimulator:
        return WindowedForcingSimulator("windowed", predict=lambda p, t: p[:, -1], window=window)

    def storage(days: int) -> GR4JCNSimulator:
        return GR4JCNSimulator("gr4j", dict.fromkeys(PARAMETER_NAMES, 1.0), 100.0, 50.0, -120.0, days)

    assert spinup_years(windowed(1)) == 1
    assert spinup_years(windowed(400)) == 2
    assert spinup_years(storage(1095)) == 3
    assert spinup_years(storage(1096)) == 4
