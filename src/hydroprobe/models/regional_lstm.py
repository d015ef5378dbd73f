"""The paper's LSTM, fed static basin attributes beside the weather: one network for many basins.

Architecture unchanged (one LSTM layer, a linear head); the only difference is the input: each
time step carries ``n_inputs - n_static`` dynamic values (normalised precipitation and
temperature) followed by ``n_static`` normalised static attributes of the basin, repeated every
day (Kratzert et al. 2019, "LSTM with static inputs"). Keeping the paper's architecture means a
regional-vs-single-basin difference in the probes comes from the training data, not from a
different network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hydroprobe.models.lstm import LSTMRegressor

if TYPE_CHECKING:
    from hydroprobe.data.regional import RegionalData


class RegionalLSTM(LSTMRegressor):
    """:class:`LSTMRegressor` whose last ``n_static`` inputs are a basin's static attributes."""

    model_type = "regional_lstm"

    def __init__(
        self,
        n_inputs: int = 8,
        hidden_size: int = 50,
        initial_forget_bias: float | None = None,
        n_static: int = 6,
        standardization: dict | None = None,
    ):
        if not 0 <= n_static < n_inputs:
            raise ValueError(f"n_static must be in [0, n_inputs) (got {n_static} of {n_inputs} inputs)")
        super().__init__(n_inputs, hidden_size, initial_forget_bias, standardization)
        self.n_static = n_static

    def architecture(self) -> dict:
        return {**super().architecture(), "n_static": self.n_static}


def single_basin_extras(data: RegionalData, options: dict) -> dict:
    """The LSTM's entries when it trains on one basin of a group (its own scaler, no attributes)."""
    extras = {"initial_forget_bias": options.get("initial_forget_bias")}
    if options.get("standardize"):
        extras["standardization"] = data.training_statistics()
    return extras


def group_extras(data: RegionalData, options: dict) -> dict:
    """The regional LSTM's entries: the LSTM's plus how many inputs are attributes."""
    return {**single_basin_extras(data, options), "n_static": len(data.static.names)}
