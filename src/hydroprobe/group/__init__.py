"""Regional training over a basin group, single-basin baselines, probes basin by basin, the group report."""
