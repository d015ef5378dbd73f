"""The one interface the probes drive: physical forcing in, discharge (m³/s) out.

Probes build hypothetical climates in mm/d and °C; every model — a trained
LSTM, a mass-conserving reference, a conceptual model — answers through
:class:`DischargeSimulator`, so every probe runs on every model unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.tiles import tiles
from hydroprobe.models import build_model

#: What ``simulate_fluxes`` returns, an optional capability beside ``simulate``: daily
#: discharge and evapotranspiration in mm/d over the basin, storage in mm at the end of the day.
FLUX_NAMES = ("flow_mm", "et_mm", "storage_mm")
#: The MC-LSTM's ``forward_fluxes`` entries that give them.
FLUX_SOURCES = ("outflow_mm", "trash_mm", "storage_mm")


@runtime_checkable
class DischargeSimulator(Protocol):
    """A model the probes can run, and everything a probe needs to know about it.

    ``spinup_days``: how long a probe must run a climate before it measures
    (a sequence model's window less one day; a storage model's time to forget
    its initial stores). ``scaler``: the fitted input/output ranges, so a probe
    can express hypothetical inputs in the model's own units and flag
    extrapolation (``None`` when the model has none of hydroprobe's).
    ``has_fluxes``: whether :meth:`simulate_fluxes` accounts for the water.
    """

    name: str

    @property
    def spinup_days(self) -> int: ...

    @property
    def scaler(self) -> MinMaxScaler | None: ...

    @property
    def has_fluxes(self) -> bool: ...

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        """Daily discharge in m³/s for each input day.

        Days without a full input window (the first ``window - 1`` for a
        sequence model) are NaN: a probe must spin up before it measures.
        """
        ...

    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        """Daily ``flow_mm``, ``et_mm`` (mm/d) and ``storage_mm`` (mm); only when ``has_fluxes``."""
        ...


class KeepsNoWaterBalance:
    """For simulators that answer discharge only: no fluxes, no hydroprobe scaler."""

    name: str
    scaler: MinMaxScaler | None = None
    has_fluxes = False

    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        raise TypeError(f"{self.name}: this model keeps no water balance")


@dataclass
class SequenceModelSimulator:
    """A trained network behind its fitted scaler: windows slid one day at a time (sequence-to-one),
    or, with ``span`` > 1, tiles (:mod:`hydroprobe.data.tiles`) whose last ``span`` days are scored,
    as a sequence-to-sequence model was trained."""

    name: str
    architecture: dict
    state_dict: dict
    scaler: MinMaxScaler
    window: int
    batch_size: int = 1024
    device: str = "cpu"
    span: int = 1
    one_pass: bool = False  # the whole input as one window (a conserving model's stores never reset)

    def __post_init__(self) -> None:
        self._model = build_model(self.architecture)
        self._model.load_state_dict(self.state_dict)
        self._model.to(self.device).eval()

    def normalized_inputs(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                self.scaler.transform(precipitation, PRECIPITATION),
                self.scaler.transform(temperature, TEMPERATURE),
            ],
            axis=1,
        ).astype(np.float32)

    def _window_batches(self, precipitation: np.ndarray, temperature: np.ndarray) -> Iterator[torch.Tensor]:
        """The input window ending on each day from day ``window - 1`` on, ``batch_size`` days at a time."""
        inputs = torch.as_tensor(self.normalized_inputs(precipitation, temperature))
        offsets = torch.arange(-self.window + 1, 1)
        days = torch.arange(self.window - 1, len(inputs))
        for start in range(0, len(days), self.batch_size):
            chunk = days[start : start + self.batch_size]
            yield inputs[chunk[:, None] + offsets].to(self.device)

    @torch.no_grad()
    def _tiled(self, precipitation: np.ndarray, temperature: np.ndarray,
               outputs: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> dict[str, np.ndarray]:
        """Each of ``outputs``' per-day series, read off the tile predicting each day; NaN for spin-up."""
        length = len(precipitation)
        if length < self.window:
            return {}
        inputs = torch.as_tensor(self.normalized_inputs(precipitation, temperature))
        window, span = (length, length) if self.one_pass else (self.window, self.span)
        plan = tiles(np.arange(length), length, window, span)
        offsets = torch.arange(-window + 1, 1)
        parts: dict[str, list[torch.Tensor]] = {}
        for start in range(0, len(plan.ends), self.batch_size):
            ends = torch.as_tensor(plan.ends[start : start + self.batch_size])
            for name, value in outputs(inputs[ends[:, None] + offsets].to(self.device)).items():
                parts.setdefault(name, []).append(value[:, -span:].double().cpu())
        out = {}
        for name, values in parts.items():
            out[name] = np.full(length, np.nan)
            out[name][plan.days] = plan.gather(torch.cat(values).numpy())
        return out

    @torch.no_grad()
    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        if self.span > 1 or self.one_pass:
            tiled = self._tiled(precipitation, temperature,
                                lambda x: {"discharge": self._model.forward_sequence(x)})
            normalised = tiled.get("discharge", np.full(len(precipitation), np.nan))
            normalised[: self.spinup_days] = np.nan  # one pass: flow is measured once the stores have filled
            return self.scaler.inverse(normalised, DISCHARGE)
        out = np.full(len(precipitation), np.nan)
        predicted = [
            self._model(batch).float().cpu() for batch in self._window_batches(precipitation, temperature)
        ]
        if predicted:
            out[self.window - 1 :] = self.scaler.inverse(torch.cat(predicted).numpy(), DISCHARGE)
        return out

    @property
    def spinup_days(self) -> int:
        """The first ``window - span`` days have no window scoring them (``window - 1`` sequence-to-one)."""
        return self.window - self.span

    @property
    def has_fluxes(self) -> bool:
        """Whether the network accounts for its water (MC-LSTM's ``forward_fluxes``); an LSTM does not."""
        return hasattr(self._model, "forward_fluxes")

    @torch.no_grad()
    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        """Daily ``flow_mm``, ``et_mm`` (mm/d) and ``storage_mm`` (mm, end of day); NaN for spin-up days.

        Day t is read off the window ending on day t, exactly as :meth:`simulate`:
        its last step's discharge and trash outflow and its stores after that step.
        Each window starts from empty stores, so water older than the window
        is forgotten; a water balance over these days shows that as residual.
        """
        if not self.has_fluxes:
            raise TypeError(f"{self.name}: a {type(self._model).__name__} keeps no water balance")
        if self.span > 1 or self.one_pass:
            def fluxes(x: torch.Tensor) -> dict[str, torch.Tensor]:
                out = self._model.forward_fluxes(x)
                return {name: out[source] for name, source in zip(FLUX_NAMES, FLUX_SOURCES, strict=True)}

            tiled = self._tiled(precipitation, temperature, fluxes)
            return {name: tiled.get(name, np.full(len(precipitation), np.nan)) for name in FLUX_NAMES}
        parts: dict[str, list[torch.Tensor]] = {name: [] for name in FLUX_NAMES}
        for batch in self._window_batches(precipitation, temperature):
            fluxes = self._model.forward_fluxes(batch)
            for name, source in zip(FLUX_NAMES, FLUX_SOURCES, strict=True):
                parts[name].append(fluxes[source][:, -1].double().cpu())
        out = {name: np.full(len(precipitation), np.nan) for name in FLUX_NAMES}
        for name, values in parts.items():
            if values:
                out[name][self.window - 1 :] = torch.cat(values).numpy()
        return out


@dataclass
class RegionalSimulator(SequenceModelSimulator):
    """A regional network plus one basin's normalised static attributes: a simulator for that basin.

    ``scaler`` is the group's shared scaler with discharge bounds in this
    basin's m³/s (:meth:`hydroprobe.data.regional.RegionalData.basin_scaler`),
    so the inverse transform yields the basin's discharge directly. The static
    attributes are appended to every day's inputs, as in training.
    """

    static: tuple[float, ...] = ()

    def normalized_inputs(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        dynamic = super().normalized_inputs(precipitation, temperature)
        static = np.broadcast_to(np.asarray(self.static, dtype=np.float32), (len(dynamic), len(self.static)))
        return np.concatenate([dynamic, static], axis=1)


def network_simulator(name: str, spec: dict, state: dict) -> SequenceModelSimulator:
    """A stored network (spec: architecture, window, scaler) with its weights, ready to probe."""
    return SequenceModelSimulator(
        name=name, architecture=spec["architecture"], state_dict=state,
        scaler=MinMaxScaler.from_dict(spec["scaler"]), window=spec["window"], span=spec.get("span", 1),
        one_pass=spec.get("one_pass", False),
    )


def regional_simulator(name: str, spec: dict, state: dict) -> RegionalSimulator:
    """A group model for one basin: a *basin* spec, with that basin's normalised ``static`` vector and
    the scaler in its m³/s (``hydroprobe.group.pipeline.basin_spec`` makes it from the registered one)."""
    if not isinstance(spec.get("static"), list):
        raise ValueError(f"{name}: the spec is a group's (static attributes as a scaler), not a basin's; "
                         "build the basin's spec with hydroprobe.group.pipeline.basin_spec first")
    return RegionalSimulator(
        name=name, architecture=spec["architecture"], state_dict=state,
        scaler=MinMaxScaler.from_dict(spec["scaler"]), window=spec["window"], span=spec.get("span", 1),
        one_pass=spec.get("one_pass", False), static=tuple(spec["static"]),
    )
