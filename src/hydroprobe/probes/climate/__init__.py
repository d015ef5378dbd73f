"""Climate-sensitivity probes: perturbed observed forcing, judged against physical expectations."""

from hydroprobe.probes.climate.run import run_climate_probes
from hydroprobe.probes.climate.scenarios import ClimateScenario, ClimateSettings, climate_settings

__all__ = ["ClimateSettings", "ClimateScenario", "climate_settings", "run_climate_probes"]
