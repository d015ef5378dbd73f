"""A neuralhydrology run directory as a probe simulator.

A model trained with neuralhydrology (https://neuralhydrology.readthedocs.io)
is loaded through neuralhydrology's own API: the run's ``config.yml``
(:class:`neuralhydrology.utils.config.Config`), its model zoo
(:func:`neuralhydrology.modelzoo.get_model`), the weights ``model_epochNNN.pt``,
the feature scaler ``train_data/train_data_scaler.yml`` (``load_scaler``) and, for
static attributes or basin one-hot encodings, a sample drawn from the run's own
dataset class, so a regional model sees the same normalised attributes it was
trained with. Probes then only replace the dynamic inputs, which is why every
dynamic input must be one the probes set (precipitation or temperature); the
config names them and an explicit mapping resolves ambiguous names.

Units: the mapped precipitation input is taken as mm/d and temperature as °C
(what the probes produce); the target is read as m³/s, or as mm/d over the basin
area with ``discharge_units="mm/d"``. Day ``t`` is the last step of the window
ending on day ``t``, for sequence-to-one and sequence-to-sequence
(``predict_last_n``) configs alike, as neuralhydrology's tester reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hydroprobe.data.basin import INPUTS, PRECIPITATION, TEMPERATURE
from hydroprobe.data.summary import SECONDS_PER_DAY
from hydroprobe.errors import ConfigError, HydroprobeError
from hydroprobe.models.simulator import KeepsNoWaterBalance

INSTALL_HINT = "pip install 'hydroprobe[neuralhydrology]'"
#: Models whose forward pass reads ``x_d`` (per-feature dict), ``x_s`` and ``x_one_hot`` at one frequency.
SUPPORTED_MODELS = ("cudalstm", "ealstm", "customlstm", "gru")
DISCHARGE_UNITS = ("m3/s", "mm/d")
#: Name patterns that identify a probe variable among a config's ``dynamic_inputs``.
GUESSES = {
    PRECIPITATION: re.compile(r"prcp|precip|rain|^p$|^pr$|^tp$", re.IGNORECASE),
    TEMPERATURE: re.compile(r"tmean|tavg|temp|^t$|^tair|^t2m", re.IGNORECASE),
}
#: Config keys whose inputs the probes cannot set: a hypothetical climate has no lagged target or forecast.
UNSUPPORTED_KEYS = (
    "lagged_features", "autoregressive_inputs", "evolving_attributes", "hindcast_inputs",
    "forecast_inputs", "additional_feature_files", "timestep_counter",
)


def _import_neuralhydrology() -> None:
    try:
        import neuralhydrology  # noqa: F401
    except ImportError as error:
        raise HydroprobeError(f"probing a neuralhydrology run needs neuralhydrology: {INSTALL_HINT}") \
            from error


def guess_inputs(dynamic_inputs: list[str], explicit: Mapping[str, str], where: str) -> dict[str, str]:
    """``{config feature: probe variable}`` for every dynamic input, or a :class:`ConfigError` that says why.

    ``explicit`` maps a probe variable (``precipitation``, ``temperature``) to a
    feature name and wins over the name patterns in :data:`GUESSES`.
    """
    unknown = sorted(set(explicit) - set(INPUTS))
    if unknown:
        raise ConfigError(f"input mapping: '{unknown[0]}' is not a probe variable; map {' or '.join(INPUTS)}")
    mapping: dict[str, str] = {}
    for variable in INPUTS:
        name = explicit.get(variable) or ""
        if name and name not in dynamic_inputs:
            raise ConfigError(
                f"{where}: input mapping {variable}={name!r} names no entry of config key 'dynamic_inputs' "
                f"({', '.join(dynamic_inputs)})"
            )
        candidates = [name] if name else [f for f in dynamic_inputs if GUESSES[variable].search(f)]
        candidates = [f for f in candidates if f not in mapping]
        if len(candidates) > 1:
            raise ConfigError(
                f"{where}: config key 'dynamic_inputs' has several candidates for {variable} "
                f"({', '.join(candidates)}); choose one with --input {variable}=NAME "
                f"(params.yaml: subject.inputs.{variable})"
            )
        mapping.update({candidates[0]: variable} if candidates else {})
    unmapped = [f for f in dynamic_inputs if f not in mapping]
    if unmapped:
        raise ConfigError(
            f"{where}: config key 'dynamic_inputs' has {', '.join(unmapped)}, which the probes cannot "
            f"perturb: they set only daily precipitation (mm/d) and temperature (°C). Map each with "
            f"--input precipitation=NAME / --input temperature=NAME (params.yaml: subject.inputs), or "
            "retrain the model with only precipitation and temperature as dynamic_inputs"
        )
    return mapping


def check_config(cfg: Any, where: str) -> None:
    """Stop on what the probes cannot drive, naming the config key."""
    if cfg.model.lower() not in SUPPORTED_MODELS:
        raise ConfigError(
            f"{where}: config key 'model' is {cfg.model!r}; probing supports {', '.join(SUPPORTED_MODELS)}"
        )
    if cfg.head.lower() != "regression":
        raise ConfigError(f"{where}: config key 'head' is {cfg.head!r}; probing needs a 'regression' head")
    if isinstance(cfg.dynamic_inputs, dict) or not isinstance(cfg.seq_length, int):
        raise ConfigError(f"{where}: config keys 'dynamic_inputs'/'seq_length' are per frequency; "
                          "probing supports single-frequency (daily) runs")
    for key in UNSUPPORTED_KEYS:
        if getattr(cfg, key):
            raise ConfigError(f"{where}: config key '{key}' is set; the probes can only feed precipitation "
                              "and temperature, so retrain without it")
    if len(cfg.target_variables) != 1:
        raise ConfigError(f"{where}: config key 'target_variables' has {len(cfg.target_variables)} entries; "
                          "probing needs exactly one discharge target")


def _weight_file(run_dir: Path, epoch: int | None) -> Path:
    files = sorted(run_dir.glob("model_epoch*.pt"))
    if not files:
        raise HydroprobeError(f"{run_dir}: no model_epochNNN.pt; is it a neuralhydrology run directory?")
    if epoch is None:
        return files[-1]
    wanted = run_dir / f"model_epoch{epoch:03d}.pt"
    if not wanted.is_file():
        available = ", ".join(str(int(f.stem.removeprefix("model_epoch"))) for f in files)
        raise HydroprobeError(f"{run_dir}: no weights for epoch {epoch}; saved epochs: {available}")
    return wanted


def choose_basin(basins: list[str], basin: str, preferred: str, where: str) -> str:
    """``basin`` if given, else ``preferred`` (hydroprobe's basin id) or the run's only basin."""
    if basin:
        if basin not in basins:
            raise ConfigError(f"{where}: basin {basin!r} is not in config key 'train_basin_file' "
                              f"({', '.join(basins[:20])})")
        return basin
    if preferred in basins:
        return preferred
    if len(basins) == 1:
        return basins[0]
    raise ConfigError(f"{where}: a regional run of {len(basins)} basins ({', '.join(basins[:20])}); "
                      "choose one with --nh-basin ID (params.yaml: subject.basin)")


@dataclass
class NeuralHydrologySimulator(KeepsNoWaterBalance):
    """A loaded neuralhydrology model: windows of mapped, scaled inputs in, the target's last step out."""

    name: str
    model: torch.nn.Module
    window: int
    inputs: dict[str, str]  # config feature → probe variable
    center: dict[str, float]  # feature and target centring, from the run's scaler
    scale: dict[str, float]
    target: str
    statics: dict[str, torch.Tensor] = field(default_factory=dict)  # x_s / x_one_hot of the chosen basin
    to_m3s: float = 1.0  # target units → m³/s
    clip_to_zero: bool = False
    batch_size: int = 1024
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def spinup_days(self) -> int:
        return self.window - 1

    def _normalized(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, torch.Tensor]:
        physical = {PRECIPITATION: precipitation, TEMPERATURE: temperature}
        return {
            feature: torch.as_tensor(
                ((np.asarray(physical[variable], dtype=np.float64) - self.center[feature])
                 / self.scale[feature]).astype(np.float32)
            )
            for feature, variable in self.inputs.items()
        }

    @torch.no_grad()
    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        out = np.full(len(precipitation), np.nan)
        inputs = self._normalized(precipitation, temperature)
        days = torch.arange(self.window - 1, len(precipitation))
        offsets = torch.arange(-self.window + 1, 1)
        predicted = []
        for start in range(0, len(days), self.batch_size):
            index = days[start : start + self.batch_size, None] + offsets
            data: dict[str, Any] = {"x_d": {f: v[index].unsqueeze(-1) for f, v in inputs.items()}}
            data.update({key: value.expand(len(index), -1) for key, value in self.statics.items()})
            data = self.model.pre_model_hook(data, is_train=False)
            predicted.append(self.model(data)["y_hat"][:, -1, 0].double())
        if predicted:
            target = torch.cat(predicted).numpy() * self.scale[self.target] + self.center[self.target]
            out[self.window - 1 :] = (np.maximum(target, 0.0) if self.clip_to_zero else target) * self.to_m3s
        return out


def _scaler_values(
    scaler: dict, features: list[str], where: str
) -> tuple[dict[str, float], dict[str, float]]:
    center, scale = scaler["xarray_feature_center"], scaler["xarray_feature_scale"]
    missing = [f for f in features if f not in center or f not in scale]
    if missing:
        raise HydroprobeError(f"{where}: train_data/train_data_scaler.yml has no centre/scale for {missing}")
    return ({f: float(center[f].values) for f in features}, {f: float(scale[f].values) for f in features})


def _statics(cfg: Any, basin: str, scaler: dict, id_to_int: dict) -> dict[str, torch.Tensor]:
    """The basin's normalised static attributes and one-hot code, built by the run's own dataset class."""
    if not (cfg.static_attributes or cfg.hydroatlas_attributes or cfg.use_basin_id_encoding):
        return {}
    from neuralhydrology.datasetzoo import get_dataset

    dataset = get_dataset(
        cfg=cfg, is_train=False, period="test", basin=basin, scaler=scaler, id_to_int=id_to_int
    )
    sample = dataset[0]
    return {key: sample[key].reshape(1, -1) for key in ("x_s", "x_one_hot") if key in sample}


def load_neuralhydrology_run(
    run_dir: Path,
    epoch: int | None = None,
    basin: str = "",
    preferred_basin: str = "",
    inputs: Mapping[str, str] | None = None,
    discharge_units: str = "m3/s",
    area_km2: float | None = None,
) -> NeuralHydrologySimulator:
    """Load ``run_dir`` (weights of ``epoch``, default the last saved) as a simulator for one basin.

    ``inputs`` maps ``precipitation``/``temperature`` to config feature names
    where the names do not say it; ``discharge_units`` ``mm/d`` needs ``area_km2``.
    """
    _import_neuralhydrology()
    from neuralhydrology.datautils.utils import load_basin_file, load_scaler
    from neuralhydrology.evaluation.utils import load_basin_id_encoding
    from neuralhydrology.modelzoo import get_model
    from neuralhydrology.utils.config import Config

    run_dir = Path(run_dir).resolve()
    where = f"neuralhydrology run {run_dir}"
    if not (run_dir / "config.yml").is_file():
        raise HydroprobeError(f"{where}: no config.yml; pass the run directory neuralhydrology created")
    if discharge_units not in DISCHARGE_UNITS:
        raise ConfigError(f"discharge units {discharge_units!r}: choose {' or '.join(DISCHARGE_UNITS)}")
    cfg = Config(run_dir / "config.yml")
    check_config(cfg, where)
    mapping = guess_inputs(cfg.dynamic_inputs_flattened, dict(inputs or {}), where)
    chosen = choose_basin(load_basin_file(Path(cfg.train_basin_file)), basin, preferred_basin, where)
    weights = _weight_file(run_dir, epoch)
    model = get_model(cfg)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    scaler = load_scaler(run_dir)
    id_to_int = load_basin_id_encoding(run_dir) if cfg.use_basin_id_encoding else {}
    target = cfg.target_variables[0]
    center, scale = _scaler_values(scaler, [*mapping, target], where)
    if discharge_units == "mm/d" and not area_km2:
        raise ConfigError(f"{where}: discharge in mm/d needs the basin area to convert to m³/s")
    number = int(weights.stem.removeprefix("model_epoch"))
    provenance = {
        "source": "neuralhydrology", "run_dir": str(run_dir), "model": cfg.model, "epoch": str(number),
        "basin": chosen, "target": target, "seq_length": str(cfg.seq_length),
        "predict_last_n": str(cfg.predict_last_n),
        "inputs": ", ".join(f"{variable}={feature}" for feature, variable in mapping.items()),
    }
    return NeuralHydrologySimulator(
        name=f"neuralhydrology {cfg.model} {run_dir.name} epoch {number}",
        model=model, window=int(cfg.seq_length), inputs=mapping, center=center, scale=scale, target=target,
        statics=_statics(cfg, chosen, scaler, id_to_int),
        to_m3s=area_km2 * 1e3 / SECONDS_PER_DAY if discharge_units == "mm/d" else 1.0,
        clip_to_zero=target in cfg.clip_targets_to_zero, provenance=provenance,
    )
