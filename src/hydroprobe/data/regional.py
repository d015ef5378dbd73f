"""Many basins as one training set: common scaling, static attributes, windows that never cross basins.

A regional LSTM (Kratzert et al. 2019) reads, at every time step, the day's
precipitation and temperature plus a few static attributes of the basin, so
one network can tell basins apart. Three choices are fixed here:

* **Dynamic inputs and discharge share one min-max scaler fitted on every
  basin's training days**, with discharge in **mm/d** (area-normalised). One
  scale for all basins keeps "10 mm of rain" and "10 mm of flow" the same
  number in every basin, so the water the network returns is comparable with
  the water it is given: what the mass probes (Case 2) measure. A per-basin
  discharge scale would make the same output mean different depths in
  different basins. That large or wet basins would then dominate a plain MSE
  is what the NSE* loss (``hydroprobe.training.regional``) corrects.
* **Static attributes are z-scored across the group's basins** (mean and
  population standard deviation over the basins, each basin counted once).
  They do not vary in time, so there is no training period to fit on; the
  group's basins are the training set. An attribute constant over the group
  carries no information and becomes 0 (its scale is set to 1).
* **Windows never cross basins**: the basins' series are concatenated, and
  each basin's usable days are found on its own series before being offset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import COLUMNS, DISCHARGE, INPUTS, BasinSeries
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.loaders.caravan_csv import DEFAULT_ROOT, read_static_attributes
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import SPLIT_NAMES, Splits, parse_splits
from hydroprobe.data.summary import discharge_mm_per_day, mm_per_day_to_m3s
from hydroprobe.data.windows import SampleIndex, WindowedSeries
from hydroprobe.errors import DataError

DEFAULT_STATIC = ("log_area", "elev_mean", "slope_mean", "frac_snow", "aridity", "p_mean")


@dataclass(frozen=True)
class StaticScaler:
    """z-score of each static attribute over the group's basins: ``(x - mean) / std``."""

    names: tuple[str, ...]
    mean: dict[str, float]
    std: dict[str, float]

    @classmethod
    def fit(cls, raw: dict[str, dict[str, float]], names: tuple[str, ...]) -> StaticScaler:
        """Mean and population std (ddof 0) over the basins in ``raw``; a constant attribute gets std 1."""
        if not raw:
            raise DataError("cannot fit static attributes: the group has no basins")
        mean, std = {}, {}
        for name in names:
            values = np.array([attributes[name] for attributes in raw.values()], dtype=np.float64)
            mean[name] = float(values.mean())
            spread = float(values.std())
            std[name] = spread if spread > 0 else 1.0
        return cls(tuple(names), mean, std)

    def transform(self, attributes: dict[str, float]) -> np.ndarray:
        return np.array([(attributes[n] - self.mean[n]) / self.std[n] for n in self.names], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, content: dict) -> StaticScaler:
        return cls(tuple(content["names"]), dict(content["mean"]), dict(content["std"]))


@dataclass
class RegionalData:
    """The basins of a group in canonical form, their raw attributes and the shared scalers.

    ``scaler`` holds precipitation (mm/d), temperature (°C) and discharge in
    **mm/d**, fitted on all basins' training days together.
    """

    group_id: str
    series: dict[str, BasinSeries]
    static_raw: dict[str, dict[str, float]]
    splits: Splits
    scaler: MinMaxScaler
    static: StaticScaler
    fingerprint: str

    @property
    def basin_ids(self) -> list[str]:
        return list(self.series)

    def depth_frame(self, basin_id: str) -> pd.DataFrame:
        """Precipitation, temperature and discharge in mm/d of one basin."""
        series = self.series[basin_id]
        frame = series.frame[list(COLUMNS)].copy()
        frame[DISCHARGE] = discharge_mm_per_day(frame[DISCHARGE], series.meta.area_km2)
        return frame

    def static_vector(self, basin_id: str) -> np.ndarray:
        """The basin's normalised static attributes, in :attr:`StaticScaler.names` order."""
        return self.static.transform(self.static_raw[basin_id])

    def basin_scaler(self, basin_id: str) -> MinMaxScaler:
        """The shared scaler with discharge in the basin's m³/s: what its simulator inverts with.

        mm/d → m³/s is linear, so scaling the discharge bounds by the basin's
        factor turns the shared scaler's inverse into m³/s directly.
        """
        factor = float(mm_per_day_to_m3s(1.0, self.series[basin_id].meta.area_km2))
        minimum, maximum = dict(self.scaler.minimum), dict(self.scaler.maximum)
        minimum[DISCHARGE] *= factor
        maximum[DISCHARGE] *= factor
        return MinMaxScaler(minimum, maximum)

    def training_statistics(self) -> dict:
        """Mean and std of the normalised inputs (P, T, attributes) and discharge over every basin's
        training days: what a network standardising inside (``model.standardize``) z-scores with.

        An input constant over those days (an attribute of a group of one) gets std 1.
        """
        start, end = self.splits["train"]
        inputs, target = [], []
        for basin_id in self.basin_ids:
            scaled = self.scaler.transform_frame(self.depth_frame(basin_id)).loc[start:end]
            static = np.broadcast_to(self.static_vector(basin_id), (len(scaled), len(self.static.names)))
            inputs.append(np.concatenate([scaled[list(INPUTS)].to_numpy(np.float64), static], axis=1))
            target.append(scaled[DISCHARGE].to_numpy(np.float64))
        inputs_all, target_all = np.concatenate(inputs), np.concatenate(target)
        spread = np.nanstd(inputs_all, axis=0)
        return {
            "input_mean": np.nanmean(inputs_all, axis=0).tolist(),
            "input_std": np.where(spread > 0, spread, 1.0).tolist(),
            "target_mean": float(np.nanmean(target_all)),
            "target_std": float(np.nanstd(target_all)),
        }

    def basin_dataset(self, basin_id: str) -> BasinDataset:
        """One basin as the probes take it, with the regional model's scaler (m³/s discharge)."""
        series = self.series[basin_id]
        scaler = self.basin_scaler(basin_id)
        normalized = scaler.transform_frame(series.frame)
        return BasinDataset(series, self.splits, scaler, normalized, f"{self.fingerprint}:{basin_id}")


def load_regional(
    group_id: str, specs: dict[str, dict], raw_dir: Path, static_names: tuple[str, ...] = DEFAULT_STATIC
) -> RegionalData:
    """Load every basin of ``specs`` (from :func:`~hydroprobe.data.groups.group_basins`) and fit the scalers.

    All basins must share one set of splits: the model is trained on one
    period and tested on another for every basin at once.
    """
    if not specs:
        raise DataError(f"group {group_id}: no basins to load")
    series, raw, splits = {}, {}, None
    for basin_id, spec in specs.items():
        these = parse_splits(spec.get("splits"), f"basins.{basin_id}.splits")
        if splits is not None and these != splits:
            raise DataError(
                f"group {group_id}: basin {basin_id} has splits {these}, the group's first basin "
                f"{next(iter(series))} has {splits}. Fix: give the group one set of splits."
            )
        splits = these
        series[basin_id] = load_basin(basin_id, spec, raw_dir)
        root = Path(raw_dir) / str(spec.get("root", DEFAULT_ROOT))
        raw[basin_id] = read_static_attributes(root, str(spec["gauge_id"]), basin_id, tuple(static_names))
    assert splits is not None
    return fit_regional(group_id, series, raw, splits, tuple(static_names))


def fit_regional(
    group_id: str, series: dict[str, BasinSeries], raw: dict[str, dict[str, float]], splits: Splits,
    static_names: tuple[str, ...],
) -> RegionalData:
    """The basins of ``series``, with the scalers fitted on them alone (training days, attributes)."""
    start, end = splits["train"]
    train = pd.concat([_depth(s).loc[start:end] for s in series.values()], ignore_index=True)
    scaler = MinMaxScaler.fit(train, COLUMNS)
    static = StaticScaler.fit(raw, static_names)
    return RegionalData(group_id, series, raw, splits, scaler, static, _fingerprint(series, raw, splits))


def single_basin(data: RegionalData, basin_id: str) -> RegionalData:
    """One basin of the group as a group of its own: its scaler fitted on its training days alone and
    no attributes (they would be constant). What its single-basin model trains on."""
    return fit_regional(data.group_id, {basin_id: data.series[basin_id]}, {basin_id: {}}, data.splits, ())


def hold_out(data: RegionalData, held: list[str]) -> tuple[RegionalData, RegionalData]:
    """``(training, ungauged)``: the other basins refitted alone, and ``held`` seen through their scalers.

    Prediction in ungauged basins: the held-out basins' discharge, training days and
    attributes must not reach the model, so the scalers are fitted again on the
    training basins only; the held-out basins are then normalised with those scalers,
    from their forcing and attributes, as a basin without a gauge would be.
    """
    unknown = sorted(set(held) - set(data.basin_ids))
    if unknown or not held or len(held) == len(data.basin_ids):
        raise DataError(f"group {data.group_id}: cannot hold out {held} of {data.basin_ids}: "
                        "hold out at least one and at most all but one of the group's basins")
    keep = [b for b in data.basin_ids if b not in held]
    training = fit_regional(data.group_id, {b: data.series[b] for b in keep},
                            {b: data.static_raw[b] for b in keep}, data.splits, data.static.names)
    ungauged = RegionalData(data.group_id, {b: data.series[b] for b in held},
                            {b: data.static_raw[b] for b in held}, data.splits, training.scaler,
                            training.static, f"{training.fingerprint}:ungauged:{','.join(held)}")
    return training, ungauged


def _depth(series: BasinSeries) -> pd.DataFrame:
    frame = series.frame[list(COLUMNS)].copy()
    frame[DISCHARGE] = discharge_mm_per_day(frame[DISCHARGE], series.meta.area_km2)
    return frame


def _fingerprint(series: dict[str, BasinSeries], raw: dict, splits: Splits) -> str:
    """sha256 over every basin's values, dates, area, attributes and the splits."""
    digest = hashlib.sha256()
    for basin_id, one in series.items():
        digest.update(basin_id.encode())
        digest.update(np.ascontiguousarray(one.frame[list(COLUMNS)].to_numpy(np.float64)).tobytes())
        digest.update(np.asarray(one.frame.index.asi8).tobytes())
        digest.update(repr(one.meta.area_km2).encode())
    digest.update(json.dumps(raw, sort_keys=True).encode())
    digest.update(json.dumps({k: [str(v) for v in pair] for k, pair in splits.items()}).encode())
    return digest.hexdigest()


@dataclass
class RegionalWindows:
    """All basins' windows in one :class:`WindowedSeries`, where each basin lies, and its NSE* spread.

    ``samples[split][basin]`` holds global row indices (basin offset added);
    ``basin_std[basin]`` is s_b, the std of the basin's normalised training
    discharge that the NSE* loss divides by.
    """

    series: WindowedSeries
    offsets: dict[str, int]
    samples: dict[str, dict[str, SampleIndex]]
    basin_std: dict[str, float]


def regional_windows(data: RegionalData, window: int) -> RegionalWindows:
    """Normalised inputs ``[P, T, static...]`` and mm/d discharge of every basin, windowed."""
    inputs, targets, dates, offsets, stds = [], [], [], {}, {}
    samples: dict[str, dict[str, SampleIndex]] = {name: {} for name in SPLIT_NAMES}
    offset = 0
    for basin_id in data.basin_ids:
        scaled = data.scaler.transform_frame(data.depth_frame(basin_id))
        static = np.broadcast_to(data.static_vector(basin_id), (len(scaled), len(data.static.names)))
        basin_inputs = np.concatenate([scaled[list(INPUTS)].to_numpy(), static], axis=1)
        target = scaled[DISCHARGE].to_numpy()
        own = WindowedSeries(basin_inputs, target, pd.DatetimeIndex(scaled.index), window)
        for name in SPLIT_NAMES:
            index = own.sample_index(*data.splits[name])
            samples[name][basin_id] = dataclasses.replace(index, days=index.days + offset)
        start, end = data.splits["train"]
        std = float(np.nanstd(scaled[DISCHARGE].loc[start:end].to_numpy()))
        stds[basin_id] = std
        inputs.append(basin_inputs)
        targets.append(target)
        dates.append(scaled.index)
        offsets[basin_id] = offset
        offset += len(scaled)
    combined = WindowedSeries(
        np.concatenate(inputs), np.concatenate(targets), pd.DatetimeIndex(np.concatenate(dates)), window
    )
    return RegionalWindows(combined, offsets, samples, stds)
