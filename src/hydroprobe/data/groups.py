"""Basin groups: many basins of one folder, trained together and probed one by one.

``params.yaml`` lists a group once (``groups.<id>``: layout, folder, gauges,
common splits) instead of one ``basins`` block per gauge; :func:`group_basins`
expands it into the per-basin specs :func:`~hydroprobe.data.loaders.load_basin`
takes, so a group basin loads exactly as a listed one does.

Each basin's snow-accumulation window must come from its own climate, not one
window for all: the 35 CAMELS snow basins range from Dec–Feb means of −0.8 to
−11 °C. The rule ``below_zero_months`` takes the calendar months whose mean
daily temperature over the training split is below 0 °C (training data only,
so the test period never shapes a setting) and requires them to form one
contiguous season, which becomes ``[MM-DD, MM-DD]`` from the first day of its
first month to the last day of its last month, the form of
``basins.<id>.accumulation_season``.
"""

from __future__ import annotations

import calendar
import copy
from pathlib import Path

import pandas as pd

from hydroprobe.data.loaders import caravan_csv
from hydroprobe.data.splits import parse_splits
from hydroprobe.errors import ConfigError

#: Layouts whose folder lists its gauges (one file each), so ``gauges: all`` has a meaning.
GROUP_LOADERS = ("caravan_csv",)
ACCUMULATION_RULES = ("below_zero_months",)


def group_basins(group_id: str, group_spec: dict, raw_dir: Path) -> dict[str, dict]:
    """``{"<group_id>_<gauge>": basin spec}`` for every gauge of group ``group_id``, in gauge order."""
    key = f"groups.{group_id}"
    if not isinstance(group_spec, dict):
        raise ConfigError(f"{key} must be a mapping of keys, got {group_spec!r}")
    loader = group_spec.get("loader")
    if loader not in GROUP_LOADERS:
        raise ConfigError(f"{key}.loader is {loader!r}; groups support: {', '.join(GROUP_LOADERS)}")
    rule = group_spec.get("accumulation_rule")
    if rule not in ACCUMULATION_RULES:
        raise ConfigError(
            f"{key}.accumulation_rule is {rule!r}; valid rules: {', '.join(ACCUMULATION_RULES)}"
        )
    root_name = str(group_spec.get("root") or caravan_csv.DEFAULT_ROOT)
    root = Path(raw_dir) / root_name
    train_start, train_end = parse_splits(group_spec.get("splits"), f"{key}.splits")["train"]
    basins = {}
    for gauge in _gauges(group_spec.get("gauges"), root, key):
        temperature = caravan_csv.read_timeseries(caravan_csv.series_file(root, gauge))["temperature_c"]
        season = below_zero_season(temperature.loc[train_start:train_end], f"{key}, gauge {gauge}")
        basins[f"{group_id}_{gauge}"] = {
            "loader": loader,
            "root": root_name,
            "gauge_id": gauge,
            "splits": copy.deepcopy(group_spec["splits"]),
            "accumulation_season": season,
        }
    return basins


def _gauges(value: object, root: Path, key: str) -> list[str]:
    """``gauges: all`` (every file in the folder, sorted) or an explicit list checked against it."""
    available = caravan_csv.available_gauges(root)
    if not available:
        raise ConfigError(
            f"{key}.root: no timeseries/*.csv under {root}. Fix: run `hydroprobe data fetch`, "
            "or correct the folder name."
        )
    if value == "all":
        return available
    if not isinstance(value, list) or not value or not all(isinstance(g, str) for g in value):
        raise ConfigError(
            f"{key}.gauges must be \"all\" or a list of gauge ids in quotes (unquoted, YAML reads "
            f"them as numbers and drops leading zeros), got {value!r}"
        )
    unknown = [gauge for gauge in value if gauge not in available]
    if unknown:
        raise ConfigError(
            f"{key}.gauges: {', '.join(unknown)} not found in {root / 'timeseries'}. "
            f"Fix: use ids among the {len(available)} files there, or \"all\"."
        )
    return list(value)


def below_zero_season(temperature: pd.Series, where: str) -> list[str]:
    """``[MM-DD, MM-DD]`` spanning the contiguous months whose mean daily temperature is below 0 °C."""
    monthly = temperature.groupby(pd.DatetimeIndex(temperature.index).month).mean()
    monthly = monthly.reindex(range(1, 13))
    if monthly.isna().any():
        raise ConfigError(
            f"{where}: the training split does not cover every calendar month with temperatures. "
            "Fix: use a training split of whole years inside the record."
        )
    cold = [month for month in range(1, 13) if monthly[month] < 0.0]
    coldest = int(monthly.idxmin())
    if not cold or len(cold) == 12:
        raise ConfigError(
            f"{where}: {len(cold)} months have a mean temperature below 0 °C over the training split "
            f"(coldest: {calendar.month_abbr[coldest]}, {monthly[coldest]:.2f} °C), so "
            "below_zero_months gives no season. Fix: leave the gauge out of the group."
        )
    starts = [month for month in cold if (month - 2) % 12 + 1 not in cold]
    if len(starts) != 1:
        raise ConfigError(
            f"{where}: months below 0 °C ({', '.join(calendar.month_abbr[m] for m in cold)}) "
            "are not one contiguous season. Fix: leave the gauge out of the group."
        )
    first = starts[0]
    last = (first + len(cold) - 2) % 12 + 1
    # Leap year 2000: a window ending in February keeps 29 February.
    return [f"{first:02d}-01", f"{last:02d}-{calendar.monthrange(2000, last)[1]:02d}"]
