"""Model zoo: one file per model, all sequence-to-one on normalised windows."""

from __future__ import annotations

from torch import nn

from hydroprobe.models.lstm import LSTMRegressor
from hydroprobe.models.mclstm import MassConservingLSTM
from hydroprobe.models.regional_lstm import RegionalLSTM

MODEL_TYPES: dict[str, type[nn.Module]] = {
    "lstm": LSTMRegressor,
    "mclstm": MassConservingLSTM,
    "regional_lstm": RegionalLSTM,  # trained by ``hydroprobe group train`` only (static inputs)
}
#: Models that are calibrated, not trained (``hydroprobe.training.calibration``); RavenPy runs them.
CONCEPTUAL_TYPES = ("gr4jcn",)


def build_model(architecture: dict) -> nn.Module:
    """Rebuild a model from its :meth:`architecture` dict (used before loading weights)."""
    options = dict(architecture)
    model_type = options.pop("type")
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type '{model_type}'; known: {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[model_type](**options)
