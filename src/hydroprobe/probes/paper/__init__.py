"""The paper's probe experiments (§2.4): Case 1 (no precipitation), Case 2 (snow-season precipitation)."""

from hydroprobe.probes.paper.run import output_files, run_paper_probes
from hydroprobe.probes.paper.settings import ProbeSettings, probe_settings

__all__ = ["ProbeSettings", "output_files", "probe_settings", "run_paper_probes"]
