"""R independent :class:`MassConservingLSTM` replicates as one module with a leading replicate dimension.

The MC-LSTM's day loop is a chain of tiny products (hidden 16: 16 × 16 mixing
matrices per sample), so one replicate leaves a CPU mostly idle and a GPU all
but empty, and its replicates used to train one after another (1 536 s an
epoch for 100 on an H200; benchmarks/RESULTS.md). Here their gate maps are
stacked and the recurrence (:func:`~hydroprobe.models.mclstm.stacked_fluxes`,
the very code a single model runs) batches every product over replicates.
Each replicate keeps its own weights, windows and gradients; nothing is shared
but the kernel launches. It is the MC-LSTM's counterpart of
:class:`~hydroprobe.models.ensemble_lstm.EnsembleLSTM`, with the same contract
for :mod:`hydroprobe.training.ensemble`: built from initialised single models,
exported back to their ``state_dict`` format, sliced to the replicates still
training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hydroprobe.models.mclstm import MassConservingLSTM, stacked_fluxes


class EnsembleMCLSTM(nn.Module):
    """Stacked MC-LSTM replicates of one architecture; ``(R, B, T, I)`` or shared ``(B, T, I)`` in."""

    def __init__(self, units: MassConservingLSTM, replicates: int):
        super().__init__()
        # the mm conversions of the shared architecture; kept out of the module tree, so its own
        # (unused) gates are neither trained nor saved
        self.__dict__["units"] = units
        rows, columns = units.gates.weight.shape
        self.gate_weight = nn.Parameter(torch.zeros(replicates, rows, columns))
        self.gate_bias = nn.Parameter(torch.zeros(replicates, rows))

    @property
    def replicates(self) -> int:
        return self.gate_weight.shape[0]

    @classmethod
    def from_models(cls, models: Sequence[MassConservingLSTM]) -> EnsembleMCLSTM:
        """Stack copies of the given models' gate maps (replicate r = ``models[r]``)."""
        ensemble = cls(models[0], len(models))
        with torch.no_grad():
            for r, model in enumerate(models):
                ensemble.gate_weight[r].copy_(model.gates.weight)
                ensemble.gate_bias[r].copy_(model.gates.bias)
        return ensemble.to(models[0].gates.weight.device)

    def replicate_state_dict(self, r: int) -> dict[str, torch.Tensor]:
        """Replicate ``r`` as a :class:`MassConservingLSTM` ``state_dict`` (CPU copies)."""
        return {"gates.weight": self.gate_weight.detach()[r].cpu().clone(),
                "gates.bias": self.gate_bias.detach()[r].cpu().clone()}

    def subset(self, keep: torch.Tensor) -> EnsembleMCLSTM:
        """A new ensemble holding only replicates ``keep`` (their weights copied)."""
        device = self.gate_weight.device
        smaller = EnsembleMCLSTM(self.units, len(keep)).to(device)
        with torch.no_grad():
            smaller.gate_weight.copy_(self.gate_weight[keep.to(device)])
            smaller.gate_bias.copy_(self.gate_bias[keep.to(device)])
        return smaller

    def forward_fluxes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each replicate's water balance (:meth:`MassConservingLSTM.forward_fluxes`), ``(R, B, T)``."""
        stacked = x if x.dim() == 4 else x.unsqueeze(0)
        return stacked_fluxes(self.units, stacked, self.gate_weight, self.gate_bias)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised discharge of every day of every window, ``(R, B, T)``."""
        return self.units.normalized_discharge(self.forward_fluxes(x)["outflow_mm"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised discharge of each window's last day, ``(R, B)``."""
        return self.forward_sequence(x)[..., -1]
