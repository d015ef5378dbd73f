"""One loader per published file layout, all returning the canonical :class:`BasinSeries`.

``params.yaml`` names a basin's layout in ``basins.<id>.loader``;
:func:`load_basin` dispatches on it, so adding a layout means adding one
module and one line in :data:`LOADERS`, and nothing downstream changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hydroprobe.data.basin import BasinSeries
from hydroprobe.data.loaders import camels_us, caravan_csv, csv_table, multipoint_netcdf, raven_netcdf
from hydroprobe.errors import ConfigError

Loader = Callable[[str, dict, Path], BasinSeries]

#: ``basins.<id>.loader`` value → loader function.
LOADERS: dict[str, Loader] = {
    "raven_netcdf": raven_netcdf.load,
    "multipoint_netcdf": multipoint_netcdf.load,
    "camels_us": camels_us.load,
    "csv_table": csv_table.load,
    "caravan_csv": caravan_csv.load,
}


def load_basin(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Load basin ``basin_id`` described by its params block ``spec`` from ``raw_dir``.

    The result has passed :func:`hydroprobe.data.checks.check_series`.
    """
    if not isinstance(spec, dict):
        raise ConfigError(f"basins.{basin_id} must be a mapping of keys, got {spec!r}")
    name = spec.get("loader")
    if name not in LOADERS:
        raise ConfigError(
            f"basins.{basin_id}.loader is {name!r}; valid loaders: {', '.join(sorted(LOADERS))}"
        )
    return LOADERS[name](basin_id, spec, Path(raw_dir))


__all__ = ["LOADERS", "load_basin"]
