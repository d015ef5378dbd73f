"""Reference models: their params blocks, paths and registry names (issue 8)."""

from __future__ import annotations

import copy

import pytest

from hydroprobe.cli.common import StageContext
from hydroprobe.errors import ConfigError
from hydroprobe.layout import Layout
from hydroprobe.probes.hypothetical import spinup_years
from hydroprobe.tracking.store import registered_model_name


@pytest.fixture
def context(params: dict, repo_root) -> StageContext:
    return StageContext(repo_root, copy.deepcopy(params), "salmon_river")


def test_a_reference_overrides_model_and_train_key_by_key(context: StageContext):
    context.params["references"] = {"small": {"model": {"type": "mclstm", "hidden_size": 3},
                                              "train": {"window": 40}}}
    context.reference = "small"
    model, train = context.model_config(), context.train_config()
    assert (model.type, model.hidden_size) == ("mclstm", 3)
    assert train.window == 40
    assert train.batch_size == context.params["train"]["batch_size"]  # not overridden: inherited
    assert train.learning_rate == context.params["train"]["learning_rate"]


def test_reference_typos_name_the_key(context: StageContext):
    context.params["references"] = {"small": {"modle": {"type": "mclstm"}}}
    context.reference = "small"
    with pytest.raises(ConfigError, match=r"unknown key 'references\.small\.modle'"):
        context.model_config()
    context.params["references"] = {"small": {"train": {"windwo": 40}}}
    with pytest.raises(ConfigError, match=r"unknown key 'references\.small\.train\.windwo'"):
        context.train_config()
    context.reference = "missing"
    with pytest.raises(ConfigError, match="no reference 'missing' under 'references'; defined: small"):
        context.model_config()


def test_the_bundled_references_are_valid(context: StageContext):
    kinds = {}
    for name in context.params["references"]:
        context.reference = name
        kinds[name] = context.model_config().type
        context.train_config()
        context.calibration_config()
    assert kinds == {"mclstm": "mclstm", "gr4jcn": "gr4jcn"}


def test_reference_outputs_mirror_the_root_tree(tmp_path):
    main, reference = Layout(tmp_path, "salmon_river"), Layout(tmp_path, "salmon_river", "gr4jcn")
    assert main.train_metrics == tmp_path / "metrics/train.json"
    assert reference.train_metrics == tmp_path / "references/gr4jcn/metrics/train.json"
    assert reference.fragments == tmp_path / "references/gr4jcn/reports/fragments"
    assert reference.champion == tmp_path / "outputs/salmon_river/references/gr4jcn/champion.json"
    assert reference.basin_dir == main.basin_dir  # prepared data is shared
    assert registered_model_name("salmon_river") == "hydroprobe-salmon_river"
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
