"""GR4J-CemaNeige through Raven (RavenPy's emulator): the conceptual, mass-conserving reference.

The field's own tool, not a hand-written bucket: RavenPy writes the Raven
configuration, the Raven executable (raven-hydro) runs it. Inputs are the
basin-mean daily precipitation (mm/d) and mean temperature (°C) the neural
models see; potential ET is Oudin's (temperature and latitude), as in
RavenPy's GR4JCN set-up. Raven's outputs are read from its CSV files
(netCDF output makes a 30-year run 10x slower here).

Water balance, from Raven's ``WatershedStorage.csv``: ET is the daily
increment of *Cum. Losses to Atmosphere*, storage is *Total* minus that
cumulative loss (snow, soil, routing and convolution stores, and GR4J's
groundwater-exchange store ``Soil Water[3]``, through which X2 imports or
exports water), flow is the outlet discharge. Raven closes this balance to
~1e-10 mm (its *MB Error* column).

Probes hand :meth:`GR4JCNSimulator.simulate` 365-day years without dates;
those run on Raven's ``NOLEAP`` calendar from 2001-01-01 so that day *d* is
the same calendar day in every year (PET follows the day of year). Series
with real dates run on the Gregorian calendar via :meth:`simulate_frame`.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.summary import discharge_mm_per_day
from hydroprobe.models.simulator import FLUX_NAMES

#: The six free parameters, in RavenPy's order, with the bounds of RavenPy's
#: GR4JCN calibration examples (X1, X3 in m and mm as Raven expects them).
PARAMETER_NAMES = ("GR4J_X1", "GR4J_X2", "GR4J_X3", "GR4J_X4", "CEMANEIGE_X1", "CEMANEIGE_X2")
DEFAULT_BOUNDS = {
    "GR4J_X1": (0.01, 2.5),
    "GR4J_X2": (-15.0, 10.0),
    "GR4J_X3": (10.0, 700.0),
    "GR4J_X4": (0.5, 7.0),
    "CEMANEIGE_X1": (1.0, 30.0),
    "CEMANEIGE_X2": (0.0, 1.0),
}
#: Probe years carry no dates; they run on this calendar (a 365-day year, like the probes').
PROBE_START = "2001-01-01"


def raven_available() -> bool:
    """Whether the Raven executable and RavenPy are installed (the optional ``raven`` extra)."""
    try:
        _import_ravenpy()
    except (ImportError, RuntimeError):
        return False
    return True


def _import_ravenpy():
    """Import RavenPy, pointing it at the ``raven`` binary installed beside this interpreter."""
    if not os.environ.get("RAVENPY_RAVEN_BINARY_PATH"):
        beside = Path(sys.executable).parent / "raven"
        found = shutil.which("raven") or (str(beside) if beside.is_file() else None)
        if found:
            os.environ["RAVENPY_RAVEN_BINARY_PATH"] = found
    # xclim, imported by RavenPy, redefines pint units and logs a warning for each one
    logging.getLogger("pint").setLevel(logging.ERROR)
    logging.getLogger("pint.util").setLevel(logging.ERROR)
    import ravenpy  # noqa: F401  (raises RuntimeError when no binary)
    from ravenpy import Emulator
    from ravenpy.config import commands
    from ravenpy.config.emulators import GR4JCN

    return Emulator, commands, GR4JCN


@dataclass
class RavenRun:
    """One Raven run's daily outputs, indexed by date."""

    discharge_m3s: np.ndarray
    flow_mm: np.ndarray
    et_mm: np.ndarray
    storage_mm: np.ndarray
    mass_balance_error_mm: np.ndarray


@dataclass
class GR4JCNSimulator:
    """A calibrated GR4J-CemaNeige answering the probes' :class:`DischargeSimulator` interface.

    ``spinup_days`` tells the probes how long to run a climate before they
    measure: a conceptual model starts from fixed initial stores (soil half
    full, no snow) and needs years, not a window, to forget them.
    """

    name: str
    parameters: dict[str, float]
    area_km2: float
    latitude: float
    longitude: float
    spinup_days: int = 3 * 365
    elevation_m: float = 0.0  # forcing and HRU at one elevation: no orographic correction
    scaler = None  # Raven reads physical inputs: nothing is normalised

    def __post_init__(self) -> None:
        missing = [name for name in PARAMETER_NAMES if name not in self.parameters]
        if missing:
            raise ValueError(f"{self.name}: GR4J-CemaNeige parameters missing: {', '.join(missing)}")

    @property
    def has_fluxes(self) -> bool:
        return True

    # -- the probes' interface -------------------------------------------------
    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return self._run_arrays(precipitation, temperature, precise=False).discharge_m3s

    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        run = self._run_arrays(precipitation, temperature, precise=True)
        return dict(zip(FLUX_NAMES, (run.flow_mm, run.et_mm, run.storage_mm), strict=True))

    # -- real dates ----------------------------------------------------------------
    def simulate_frame(
        self, frame: pd.DataFrame, precipitation: str, temperature: str, precise: bool = False
    ) -> RavenRun:
        """Run over a dated daily frame (Gregorian calendar, gap-free), e.g. the observed record."""
        start = pd.Timestamp(frame.index[0]).to_pydatetime()
        return self.run(start, frame[precipitation].to_numpy(), frame[temperature].to_numpy(),
                        calendar="PROLEPTIC_GREGORIAN", precise=precise)

    def _run_arrays(self, precipitation: np.ndarray, temperature: np.ndarray, precise: bool) -> RavenRun:
        import cftime

        start = cftime.DatetimeNoLeap(*map(int, PROBE_START.split("-")))
        return self.run(start, precipitation, temperature, calendar="NOLEAP", precise=precise)

    def run(
        self, start, precipitation: np.ndarray, temperature: np.ndarray, calendar: str, precise: bool = False
    ) -> RavenRun:
        """Write forcing for consecutive days from ``start``, run Raven, read its hydrograph and storage.

        ``start`` is a datetime (Gregorian) or cftime date (NOLEAP); one
        temporary folder per run. ``precise`` reads Raven's netCDF output
        (doubles) instead of its CSV (six significant digits: cumulative terms of
        10⁴ mm round to 0.01–0.1 mm, too coarse to close a water balance;
        netCDF is ~10x slower to write).
        """
        precipitation = np.asarray(precipitation, dtype=np.float64)
        temperature = np.asarray(temperature, dtype=np.float64)
        if not (np.isfinite(precipitation).all() and np.isfinite(temperature).all()):
            raise ValueError(
                f"{self.name}: Raven needs complete forcing; NaN in precipitation or temperature"
            )
        # Raven simulates from the start date up to (not through) the end date: one more day of
        # forcing (dry, the last day's temperature; never read back) makes it simulate every given day.
        days = len(precipitation)
        end = start + datetime.timedelta(days=days)
        precipitation, temperature = np.append(precipitation, 0.0), np.append(temperature, temperature[-1])
        with tempfile.TemporaryDirectory(prefix="hydroprobe-raven-") as tmp:
            folder = Path(tmp)
            forcing = _write_forcing(folder / "forcing.nc", start, precipitation, temperature, calendar)
            output = self._execute(folder, forcing, start, end, calendar, precise)
            return _read_outputs(output, days, self.area_km2, precise)

    def _execute(self, folder: Path, forcing: Path, start, end, calendar: str, precise: bool) -> Path:
        emulator_cls, commands, gr4jcn = _import_ravenpy()
        hru = {"area": self.area_km2, "elevation": self.elevation_m, "latitude": self.latitude,
               "longitude": self.longitude, "hru_type": "land"}
        gauge = commands.Gauge.from_nc(
            forcing, data_type=["PRECIP", "TEMP_AVE"], alt_names={"PRECIP": "pr", "TEMP_AVE": "tas"},
            elevation=self.elevation_m, latitude=self.latitude, longitude=self.longitude,
            engine="netcdf4",
        )
        config = gr4jcn(
            params=[float(self.parameters[name]) for name in PARAMETER_NAMES],
            hrus=[hru], gauge=[gauge], calendar=calendar,
            start_date=_raven_date(start), end_date=_raven_date(end),
            write_netcdf_format=precise,
        )
        with warnings.catch_warnings():  # Raven reports each auto-generated interception default
            warnings.simplefilter("ignore")
            emulator = emulator_cls(config=config, workdir=folder / "model", overwrite=True)
            emulator.run()
        return Path(emulator.output_path)


def from_parameters(name: str, architecture: dict, parameters: dict) -> GR4JCNSimulator:
    """A :class:`GR4JCNSimulator` from its architecture (basin, spin-up) and parameter values.

    ``parameters`` may hold floats or 0-d tensors (a registered parameter file is a state_dict).
    """
    return GR4JCNSimulator(
        name=name, parameters={key: float(value) for key, value in parameters.items()},
        area_km2=architecture["area_km2"], latitude=architecture["latitude"],
        longitude=architecture["longitude"], spinup_days=architecture.get("spinup_days", 1095),
    )


def simulator_from_spec(name: str, spec: dict, state: dict) -> GR4JCNSimulator:
    """The model-kind table's factory: a stored spec and parameter file, ready to probe."""
    return from_parameters(name, spec["architecture"], state)


def _raven_date(date) -> str:
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


def _write_forcing(
    path: Path, start, precipitation: np.ndarray, temperature: np.ndarray, calendar: str
) -> Path:
    """Consecutive daily forcing from ``start``: the time axis is the start's offset plus 0, 1, 2, …"""
    import netCDF4

    with netCDF4.Dataset(path, "w") as nc:  # classic text attributes: Raven cannot read h5netcdf's strings
        nc.createDimension("time", len(precipitation))
        time = nc.createVariable("time", "f8", ("time",))
        time.units = "days since 1900-01-01 00:00:00"
        time.calendar = "noleap" if calendar == "NOLEAP" else "proleptic_gregorian"
        time[:] = netCDF4.date2num(start, time.units, time.calendar) + np.arange(len(precipitation))
        for name, values, units in (("pr", precipitation, "mm/d"), ("tas", temperature, "degC")):
            variable = nc.createVariable(name, "f8", ("time",))
            variable.units = units
            variable[:] = values
    return path


def _read_tables(output: Path, precise: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """Outlet discharge and the storage table with Raven's CSV column names, from CSV or netCDF."""
    if not precise:
        hydrograph = pd.read_csv(output / "Hydrographs.csv")
        storage = pd.read_csv(output / "WatershedStorage.csv")
        storage.columns = [column.strip().removesuffix(" [mm]") for column in storage.columns]
        flow_column = next(column for column in hydrograph.columns if column.endswith("[m3/s]"))
        return hydrograph[flow_column].to_numpy(dtype=np.float64), storage
    import xarray as xr

    with xr.open_dataset(output / "Hydrographs.nc", engine="h5netcdf") as hydrograph:
        discharge = hydrograph["q_sim"].values[:, 0].astype(np.float64)
    with xr.open_dataset(output / "WatershedStorage.nc", engine="h5netcdf") as storage:
        names = {"total": "Total", "MB_error": "MB Error"}
        table = pd.DataFrame(
            {names.get(k, k): storage[k].values.astype(np.float64) for k in storage.data_vars}
        )
    return discharge, table


def _read_outputs(output: Path, days: int, area_km2: float, precise: bool) -> RavenRun:
    """Raven's outputs → per-day arrays aligned with the forcing (row 0 of each is the initial state)."""
    flows, storage = _read_tables(output, precise)
    # Raven reports the state at each time step's start: row k+1 closes day k.
    discharge = flows[1 : days + 1]
    losses = storage["Cum. Losses to Atmosphere"].to_numpy(dtype=np.float64)
    total = storage["Total"].to_numpy(dtype=np.float64) - losses
    if len(discharge) != days:
        raise RuntimeError(f"Raven returned {len(discharge)} days for {days} days of forcing ({output})")
    return RavenRun(
        discharge_m3s=discharge,
        flow_mm=discharge_mm_per_day(discharge, area_km2),
        et_mm=np.diff(losses)[:days],
        storage_mm=total[1 : days + 1],
        mass_balance_error_mm=storage["MB Error"].to_numpy(dtype=np.float64)[1 : days + 1],
    )
