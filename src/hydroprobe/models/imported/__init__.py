"""Models trained elsewhere, behind the probes' :class:`~hydroprobe.models.simulator.DischargeSimulator`.

A neuralhydrology run directory (:mod:`.neuralhydrology_run`) or any callable
that maps daily precipitation and temperature windows to discharge
(:mod:`.windows`, which the MLflow adapter in :mod:`hydroprobe.tracking.mlflow_pyfunc`
wraps) answers the same ``simulate(precipitation, temperature)`` as a model
hydroprobe trained, so every probe runs on it unchanged. Nothing here imports
MLflow, and neuralhydrology is imported only when a run is loaded.
"""
