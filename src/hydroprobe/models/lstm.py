"""The paper's model: one LSTM layer and a linear head on the last hidden state.

Sequence-to-one (paper eqs 1–5): the network reads IDL days of normalised
precipitation and temperature, starts from zero states for every window, and
the hidden state of the last step is mapped linearly to that day's
normalised discharge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from hydroprobe.models.standardization import training_statistics, zscore_from

if TYPE_CHECKING:
    from hydroprobe.data.dataset import BasinDataset


class LSTMRegressor(nn.Module):
    """``torch.nn.LSTM`` + ``nn.Linear`` on the final hidden state."""

    model_type = "lstm"

    def __init__(self, n_inputs: int = 2, hidden_size: int = 50, initial_forget_bias: float | None = None,
                 standardization: dict | None = None):
        super().__init__()
        if hidden_size < 1:
            raise ValueError("hidden_size must be >= 1")
        self.n_inputs = n_inputs
        self.hidden_size = hidden_size
        self.initial_forget_bias = initial_forget_bias
        self.lstm = nn.LSTM(n_inputs, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        self.zscore = zscore_from(standardization)  # None: the paper's LSTM on [0, 1] signals
        if initial_forget_bias is not None:
            # Gers et al. (2000), neuralhydrology's default 3: the cell starts by remembering,
            # which shortens the long plateau at "predict the mean" on 365-day windows.
            with torch.no_grad():
                self.lstm.bias_hh_l0[hidden_size : 2 * hidden_size] = initial_forget_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) → (batch,) normalised discharge."""
        sequence, _ = self.lstm(self._inputs(x))
        return self._output(self.head(sequence[:, -1]).squeeze(-1))

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) → (batch, window): the head on every day (seq2seq training)."""
        sequence, _ = self.lstm(self._inputs(x))
        return self._output(self.head(sequence).squeeze(-1))

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.zscore is None else self.zscore.inputs(x)

    def _output(self, y: torch.Tensor) -> torch.Tensor:
        return y if self.zscore is None else self.zscore.output(y)

    def architecture(self) -> dict:
        """What is needed to rebuild the module before loading a state_dict."""
        architecture = {
            "type": self.model_type,
            "n_inputs": self.n_inputs,
            "hidden_size": self.hidden_size,
            "initial_forget_bias": self.initial_forget_bias,
        }
        if self.zscore is not None:  # absent, not None: plain LSTMs keep their architecture (and cache keys)
            architecture["standardization"] = self.zscore.settings
        return architecture


def architecture_extras(dataset: BasinDataset | None, options: dict) -> dict:
    """The model-kind table's hook: the initial forget-gate bias and, with ``model.standardize``,
    the training split's statistics the network z-scores with (:mod:`~hydroprobe.models.standardization`)."""
    extras = {"initial_forget_bias": options.get("initial_forget_bias")}
    if options.get("standardize"):
        if dataset is None:
            raise ValueError("model.standardize needs the dataset (training-split statistics) "
                             "for the architecture")
        extras["standardization"] = training_statistics(dataset)
    return extras
