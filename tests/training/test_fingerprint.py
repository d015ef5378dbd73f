"""The replicate cache is keyed by everything that changes a replicate's numbers, and says so.

After a code change, an engine switch, another torch build, another kind of
processor or another thread count, a cached replicate is not this run's
result: it must be retrained, never passed off as the current code's.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch

from hydroprobe.models.kinds import KINDS
from hydroprobe.training import calibration, config, fingerprint
from hydroprobe.training.calibration import CalibrationConfig, recipe_hash
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.fingerprint import (
    PACKAGE_ROOT,
    TRAINING_SOURCES,
    code_fingerprint,
    cpu_family,
    resolve_engine,
    runtime_environment,
    training_code,
)
from hydroprobe.training.replicates import train_replicates

CPU = torch.device("cpu")
MODEL = ModelConfig(hidden_size=4)
TRAIN = TrainConfig(window=30, batch_size=64, learning_rate=0.01, max_epochs=1, replicates=1)


def _environment(**changes):
    return dataclasses.replace(runtime_environment(CPU, "ensemble"), **changes)


def test_code_fingerprint_follows_every_training_source(tmp_path: Path) -> None:
    package = tmp_path / "hydroprobe"
    shutil.copytree(PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__"))
    lstm = (*TRAINING_SOURCES, *KINDS["lstm"].sources)
    original = code_fingerprint(lstm, root=package)
    assert original == training_code("lstm")  # same bytes, same fingerprint, wherever they lie
    for relative in ("training/ensemble.py", "models/lstm.py", "models/ensemble_recurrence.py",
                     "data/windows.py"):
        path = package / relative
        text = path.read_text()
        path.write_text(text + "\n# an edit\n")
        assert code_fingerprint(lstm, root=package) != original, relative
        path.write_text(text)
    assert code_fingerprint(lstm, root=package) == original
    # what only reports on cached weights, and other model kinds, are not part of it
    (package / "training/outputs.py").write_text("# rewritten\n")
    (package / "models/mclstm.py").write_text("# rewritten\n")
    (package / "models/regional_lstm.py").write_text("# a new kind\n")
    assert code_fingerprint(lstm, root=package) == original
    mclstm = (*TRAINING_SOURCES, *KINDS["mclstm"].sources)
    assert code_fingerprint(mclstm, root=package) != code_fingerprint(mclstm)


def test_code_fingerprint_refuses_a_pattern_that_matches_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="training/renamed.py: no source file matches"):
        code_fingerprint(("training/renamed.py",), root=PACKAGE_ROOT)
    every = (*TRAINING_SOURCES, *(p for kind in KINDS.values() for p in kind.sources))
    assert all(list(PACKAGE_ROOT.glob(pattern)) for pattern in every)


def test_cpu_family_names_vendor_family_and_isa() -> None:
    info = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    assert cpu_family() == (
        f"{fields['vendor_id']}-{fields['cpu family']}-{torch.backends.cpu.get_cpu_capability()}"
    )
    environment = runtime_environment(CPU, "ensemble")
    assert environment.cpu_model == fields["model name"]
    assert environment.threads == torch.get_num_threads()
    assert environment.torch == torch.__version__


def _other_processor() -> str:
    """A processor family that is not this machine's: the other vendor, same family and ISA."""
    vendor, _, rest = cpu_family().partition("-")
    other = "AuthenticAMD" if vendor == "GenuineIntel" else "GenuineIntel"
    assert f"{other}-{rest}" != cpu_family()
    return f"{other}-{rest}"


@pytest.mark.parametrize(
    "change",
    [{"engine": "sequential"}, {"threads": 7}, {"torch": "0.0.1"}, {"device": "cuda"},
     {"processor": "another processor"}, {"code": "0123456789abcdef"}],
)
def test_config_hash_changes_with_what_changes_numbers(change: dict) -> None:
    if "processor" in change:  # derived from this machine's, so it differs on any CPU
        change = {"processor": _other_processor()}
    same = config_hash(MODEL, TRAIN, "data", _environment())
    assert config_hash(MODEL, TRAIN, "data", _environment()) == same
    assert config_hash(MODEL, TRAIN, "data", _environment(**change)) != same


def test_config_hash_ignores_what_does_not_change_numbers() -> None:
    environment = _environment()
    same = config_hash(MODEL, TRAIN, "data", environment)
    for change in ({"replicates": 9}, {"eval_batch_size": 7}, {"seed": 5}):
        assert config_hash(MODEL, dataclasses.replace(TRAIN, **change), "data", environment) == same
    # the cpu model's marketing name and python/numpy versions are recorded, not keyed
    assert config_hash(MODEL, TRAIN, "data", _environment(cpu_model="x", python="0", numpy="0")) == same


def test_auto_engine_is_keyed_as_the_engine_it_resolves_to() -> None:
    assert resolve_engine("auto", "lstm") == "ensemble"
    assert resolve_engine("auto", "mclstm") == "ensemble"  # stacked MC-LSTM replicates, both modes
    assert resolve_engine("auto", "lstm", mode="seq2seq") == "ensemble"  # seq2seq: StackedLSTM
    assert resolve_engine("auto", "gr4jcn") == "sequential"
    assert resolve_engine("sequential", "lstm") == "sequential"
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert resolve_engine("auto", "lstm", 5, cuda) == "sequential"  # cuDNN wins below 6 on a GPU
    assert resolve_engine("auto", "lstm", 6, cuda) == "ensemble"
    assert resolve_engine("auto", "lstm", 1, cpu) == "ensemble"  # stacking wins from 1 on CPU
    assert resolve_engine("ensemble", "lstm", 1, cuda) == "ensemble"  # asked for, not overridden
    auto = config_hash(MODEL, TRAIN, "data")
    assert auto == config_hash(MODEL, dataclasses.replace(TRAIN, engine="ensemble"), "data")
    assert auto != config_hash(MODEL, dataclasses.replace(TRAIN, engine="sequential"), "data")


def test_calibration_recipe_follows_raven_and_spotpy_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CalibrationConfig()
    same = recipe_hash(settings, "data")
    versions = fingerprint.package_versions(fingerprint.CALIBRATION_PACKAGES)
    assert recipe_hash(dataclasses.replace(settings, replicates=5), "data") == same
    monkeypatch.setattr(calibration, "package_versions", lambda names: {**versions, "raven-hydro": "0"})
    assert recipe_hash(settings, "data") != same


def test_a_replicate_trained_elsewhere_is_retrained_not_reused(cut_dataset, tmp_path, monkeypatch) -> None:
    """Real Salmon cut: the cache serves the same machine, and retrains for another processor."""
    dataset = cut_dataset
    first = train_replicates(dataset, MODEL, TRAIN, tmp_path / "cache", CPU)
    again = train_replicates(dataset, MODEL, TRAIN, tmp_path / "cache", CPU)
    assert [o.reused for o in first.replicates] == [False]
    assert [o.reused for o in again.replicates] == [True]
    assert again.config_hash == first.config_hash

    elsewhere = dataclasses.replace(runtime_environment(CPU, "ensemble"), processor=_other_processor())
    monkeypatch.setattr(config, "runtime_environment", lambda *args: elsewhere)
    moved = train_replicates(dataset, MODEL, TRAIN, tmp_path / "cache", CPU)
    assert moved.config_hash != first.config_hash
    assert [o.reused for o in moved.replicates] == [False]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        [first.config_hash, moved.config_hash]
    )
