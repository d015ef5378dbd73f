"""Choosing a model trained elsewhere: command line vs params.yaml ``subject:``, and a missing extra."""

from __future__ import annotations

import sys

import pytest

from hydroprobe.cli.main import build_parser
from hydroprobe.cli.subject import subject_settings
from hydroprobe.errors import ConfigError, HydroprobeError
from hydroprobe.models.imported.neuralhydrology_run import load_neuralhydrology_run


def _args(*argv: str):
    return build_parser().parse_args(["probe", "paper", *argv])


def test_params_subject_block_is_read_with_subject_and_flags_override_it(params):
    block = dict(params["subject"], from_neuralhydrology="runs/a", epoch=3, inputs={"precipitation": "prcp"})
    settings = subject_settings(_args("--subject", "--epoch", "5"), {"subject": block})
    assert settings["from_neuralhydrology"] == "runs/a"
    assert settings["epoch"] == 5
    assert settings["inputs"] == {"precipitation": "prcp"}
    assert subject_settings(_args(), {"subject": block}) is None  # the registered model unless asked
    flags = subject_settings(_args("--from-mlflow", "models:/m@a", "--input", "temperature=tair"), {})
    assert (flags["from_mlflow"], flags["inputs"]) == ("models:/m@a", {"temperature": "tair"})


def test_an_empty_or_double_subject_is_refused(params):
    with pytest.raises(ConfigError, match="name exactly one model: --from-neuralhydrology RUN_DIR or"):
        subject_settings(_args("--subject"), params)
    with pytest.raises(ConfigError, match="name exactly one model"):
        subject_settings(_args("--from-mlflow", "runs:/1/m", "--from-neuralhydrology", "r"), {})
    with pytest.raises(ConfigError, match="params.yaml: unknown key 'subject.weights'"):
        subject_settings(_args("--subject"), {"subject": {"weights": "x"}})
    with pytest.raises(ConfigError, match="--input 'rain=p': write precipitation=NAME or temperature=NAME"):
        subject_settings(_args("--from-mlflow", "runs:/1/m", "--input", "rain=p"), {})


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "neuralhydrology", None)  # as if not installed
    with pytest.raises(HydroprobeError) as error:
        load_neuralhydrology_run(tmp_path)
    assert str(error.value) == (
        "probing a neuralhydrology run needs neuralhydrology: pip install 'hydroprobe[neuralhydrology]'"
    )
