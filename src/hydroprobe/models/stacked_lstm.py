"""R :class:`LSTMRegressor` replicates with stacked weights, trained sequence-to-sequence on a CPU.

The ensemble engine's seq2one LSTM (:class:`~hydroprobe.models.ensemble_lstm.EnsembleLSTM`)
batches replicates into one hand-written recurrence. Sequence-to-sequence training needs every
day's hidden state, and there torch's own LSTM kernel (oneDNN on a CPU) wins: one update of
128 windows of 730 days at hidden 64 took 0.16–0.21 s per replicate through ``nn.LSTM`` and
0.36–0.41 s through the stacked autograd recurrence (2-core AMD EPYC, 2026-12-07; at R = 35 and
16 windows each, 1.09 s against 1.31–1.44 s). So the weights are stacked (leading replicate
dimension, as the engine's bookkeeping, per-replicate clipping, shrinking and checkpoints
expect) and each replicate runs torch's kernel on its own slice. Built from initialised single
models and exported back to their ``state_dict`` format, so initialisation and saved weights
are exactly the reference model's; the forward is bit-identical to ``nn.LSTM``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import _VF, nn

from hydroprobe.models.ensemble_lstm import EXPORTED_NAMES  # state_dict key → stacked name, gate order kept
from hydroprobe.models.lstm import LSTMRegressor
from hydroprobe.models.standardization import settings_of, zscore_from


class StackedLSTM(nn.Module):
    """R LSTM + linear-head replicates of one architecture; ``(R, B, T, I)`` or shared ``(B, T, I)`` in."""

    def __init__(self, replicates: int, n_inputs: int, hidden_size: int, standardization: dict | None = None):
        super().__init__()
        gates = 4 * hidden_size
        self.n_inputs, self.hidden_size = n_inputs, hidden_size
        self.weight_ih = nn.Parameter(torch.zeros(replicates, gates, n_inputs))
        self.weight_hh = nn.Parameter(torch.zeros(replicates, gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(replicates, gates))
        self.bias_hh = nn.Parameter(torch.zeros(replicates, gates))
        self.head_weight = nn.Parameter(torch.zeros(replicates, 1, hidden_size))
        self.head_bias = nn.Parameter(torch.zeros(replicates, 1))
        self.zscore = zscore_from(standardization)  # shared by the replicates: the data's statistics

    @property
    def replicates(self) -> int:
        return self.weight_ih.shape[0]

    @classmethod
    def from_models(cls, models: Sequence[LSTMRegressor]) -> StackedLSTM:
        """Stack copies of the given models' weights (replicate r = ``models[r]``)."""
        first = models[0]
        stacked = cls(len(models), first.n_inputs, first.hidden_size, settings_of(first.zscore))
        with torch.no_grad():
            for r, model in enumerate(models):
                state = model.state_dict()
                for key, name in EXPORTED_NAMES.items():
                    getattr(stacked, name)[r].copy_(state[key])
        return stacked.to(first.head.weight.device)

    def replicate_state_dict(self, r: int) -> dict[str, torch.Tensor]:
        """Replicate ``r`` as an :class:`LSTMRegressor` ``state_dict`` (CPU copies)."""
        return {key: getattr(self, name).detach()[r].cpu().clone() for key, name in EXPORTED_NAMES.items()}

    def subset(self, keep: torch.Tensor) -> StackedLSTM:
        """A new stack holding only replicates ``keep`` (their weights copied)."""
        device = self.weight_ih.device
        smaller = StackedLSTM(len(keep), self.n_inputs, self.hidden_size, settings_of(self.zscore)).to(device)
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                getattr(smaller, name).copy_(parameter[keep.to(device)])
        return smaller

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised discharge of every day of every window, ``(R, B, T)``."""
        if self.zscore is not None:
            x = self.zscore.inputs(x)
        out = []
        for r in range(self.replicates):
            windows = x[r] if x.dim() == 4 else x
            zeros = windows.new_zeros(1, windows.shape[0], self.hidden_size)
            weights = [self.weight_ih[r], self.weight_hh[r], self.bias_ih[r], self.bias_hh[r]]
            hidden, _, _ = _VF.lstm(
                windows, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True
            )
            out.append(torch.nn.functional.linear(hidden, self.head_weight[r], self.head_bias[r]).squeeze(-1))
        y = torch.stack(out)
        return y if self.zscore is None else self.zscore.output(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised discharge of each window's last day, ``(R, B)``."""
        return self.forward_sequence(x)[..., -1]
