"""What the probes are measured against, all from the observed *training* period.

* the daily temperature climatology and the sinusoid fitted to it (Case 1, 2 inputs);
* the mean observed melt-season flow excluding peak events: the mean of
  training-period daily discharge on melt-season days (``probes.melt_season``)
  at or below that sample's ``probes.peak_exclusion_percentile`` percentile
  (the paper's "1,100 m³/s excluding peak flow events");
* the mean observed precipitation inside the accumulation window (Case 2 levels);
* the observed runoff ratio (discharge volume / precipitation volume on days
  with both observed), beside which Case 2's mass recovery is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, TEMPERATURE, BasinSeries
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.summary import season_mask, summarize
from hydroprobe.probes.hypothetical import Sinusoid, daily_climatology
from hydroprobe.probes.paper.settings import ProbeSettings


@dataclass(frozen=True)
class ObservedReference:
    temperature_climatology: np.ndarray  # °C, 365 values
    sinusoid: Sinusoid  # °C
    melt_flow_m3s: float
    melt_flow_threshold_m3s: float
    accumulation_precipitation_mm_d: float
    runoff_ratio: float
    area_km2: float


def training_frame(dataset: BasinDataset) -> pd.DataFrame:
    start, end = dataset.splits["train"]
    return dataset.series.frame.loc[start:end]


def observed_melt_flow(frame: pd.DataFrame, settings: ProbeSettings) -> tuple[float, float]:
    """(mean melt-season flow at or below the exclusion percentile, that percentile) in m³/s."""
    flow = frame[DISCHARGE][season_mask(pd.DatetimeIndex(frame.index), settings.melt_season)].dropna()
    if flow.empty:
        raise ValueError("no observed discharge in the melt season of the training period")
    threshold = float(np.percentile(flow, settings.peak_exclusion_percentile))
    return float(flow[flow <= threshold].mean()), threshold


def observed_reference(dataset: BasinDataset, settings: ProbeSettings) -> ObservedReference:
    frame = training_frame(dataset)
    climatology = daily_climatology(frame[TEMPERATURE])
    melt_flow, threshold = observed_melt_flow(frame, settings)
    summary = summarize(
        BasinSeries(meta=dataset.series.meta, frame=frame), accumulation_season=settings.accumulation_season
    )
    return ObservedReference(
        temperature_climatology=climatology,
        sinusoid=Sinusoid.fit(climatology),
        melt_flow_m3s=melt_flow,
        melt_flow_threshold_m3s=threshold,
        accumulation_precipitation_mm_d=summary["snow_season_precipitation_mm_d"],
        runoff_ratio=summary["runoff_ratio"],
        area_km2=dataset.series.meta.area_km2,
    )
