"""hydroprobe: train LSTM rainfall-runoff models and probe whether they learned physics."""

__version__ = "0.1.0"
