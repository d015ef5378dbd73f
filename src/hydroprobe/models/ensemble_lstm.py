"""R independent :class:`LSTMRegressor` replicates as one module with a leading replicate dimension.

Replicates of the paper's protocol are small (H = 50) and independent, so
one replicate leaves a CPU or GPU mostly idle. Stacking their weights
turns R small matrix products per step into one batched product. Each
replicate keeps its own weights, batches and gradients: nothing is shared
but the kernel launches. Built from already-initialised single models
(:meth:`EnsembleLSTM.from_models`) and exported back to their
``state_dict`` format (:meth:`replicate_state_dict`), so initialisation and
saved weights are exactly those of the reference path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hydroprobe.models.ensemble_recurrence import (
    FusedRecurrence,
    Workspace,
    recurrence_autograd,
    recurrence_inference,
)
from hydroprobe.models.lstm import LSTMRegressor
from hydroprobe.models.standardization import settings_of, zscore_from

#: How training differentiates the step loop (``train.recurrence`` picks torch or triton).
RECURRENCES = ("torch", "triton", "autograd")

# state_dict key of LSTMRegressor → parameter name here
EXPORTED_NAMES = {
    "lstm.weight_ih_l0": "weight_ih",
    "lstm.weight_hh_l0": "weight_hh",
    "lstm.bias_ih_l0": "bias_ih",
    "lstm.bias_hh_l0": "bias_hh",
    "head.weight": "head_weight",
    "head.bias": "head_bias",
}
_GATED = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def gate_order(hidden: int) -> torch.Tensor:
    """Row permutation torch (i, f, g, o) ↔ internal (i, f, o, g); it is its own inverse."""
    blocks = torch.arange(4 * hidden).view(4, hidden)
    return blocks[[0, 1, 3, 2]].reshape(-1)


class EnsembleLSTM(nn.Module):
    """LSTM + linear head on the last hidden state, for R replicates at once.

    ``recurrence`` says how training differentiates the step loop: ``"torch"``, the hand-written
    BPTT in torch ops (:class:`FusedRecurrence`); ``"triton"``, the same as persistent Triton
    kernels (:class:`TritonRecurrence`, CUDA); ``"autograd"``, autograd over the step loop
    (the reference, and the path ``torch.compile`` can fuse on a GPU).
    """

    def __init__(self, replicates: int, n_inputs: int = 2, hidden_size: int = 50, recurrence: str = "torch",
                 standardization: dict | None = None):
        super().__init__()
        if recurrence not in RECURRENCES:
            raise ValueError(f"recurrence must be one of {RECURRENCES}, not {recurrence!r}")
        gates = 4 * hidden_size
        self.n_inputs, self.hidden_size, self.recurrence = n_inputs, hidden_size, recurrence
        self.weight_ih = nn.Parameter(torch.zeros(replicates, gates, n_inputs))
        self.weight_hh = nn.Parameter(torch.zeros(replicates, gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(replicates, gates))
        self.bias_hh = nn.Parameter(torch.zeros(replicates, gates))
        self.head_weight = nn.Parameter(torch.zeros(replicates, hidden_size))
        self.head_bias = nn.Parameter(torch.zeros(replicates))
        self.zscore = zscore_from(standardization)  # shared by the replicates: the data's statistics
        self.cell = None  # None: eager lstm_cell; the compile flag puts torch.compile(lstm_cell) here
        self.workspace = Workspace()

    @property
    def replicates(self) -> int:
        return self.weight_ih.shape[0]

    @classmethod
    def from_models(cls, models: Sequence[LSTMRegressor], recurrence: str = "torch") -> EnsembleLSTM:
        """Stack copies of the given models' weights (replicate r = ``models[r]``)."""
        first = models[0]
        ensemble = cls(len(models), first.n_inputs, first.hidden_size, recurrence, settings_of(first.zscore))
        order = gate_order(first.hidden_size)
        with torch.no_grad():
            for r, model in enumerate(models):
                state = model.state_dict()
                for key, name in EXPORTED_NAMES.items():
                    value = state[key][order] if name in _GATED else state[key].reshape(-1)
                    getattr(ensemble, name)[r].copy_(value.reshape(getattr(ensemble, name)[r].shape))
        return ensemble.to(first.head.weight.device)

    def replicate_state_dict(self, r: int) -> dict[str, torch.Tensor]:
        """Replicate ``r`` as an :class:`LSTMRegressor` ``state_dict`` (CPU copies)."""
        order = gate_order(self.hidden_size).to(self.weight_ih.device)
        shapes = {"head.weight": (1, self.hidden_size), "head.bias": (1,)}
        out = {}
        for key, name in EXPORTED_NAMES.items():
            value = getattr(self, name).detach()[r]
            value = value[order] if name in _GATED else value.reshape(shapes[key])
            out[key] = value.cpu().clone()
        return out

    def subset(self, keep: torch.Tensor) -> EnsembleLSTM:
        """A new ensemble holding only replicates ``keep`` (their weights copied)."""
        device = self.weight_ih.device
        smaller = EnsembleLSTM(len(keep), self.n_inputs, self.hidden_size, self.recurrence,
                               settings_of(self.zscore)).to(device)
        smaller.cell = self.cell
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                getattr(smaller, name).copy_(parameter[keep.to(device)])
        return smaller

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(R, B, T, I)`` per-replicate windows, or ``(B, T, I)`` shared → ``(R, B)``.

        Without gradients (evaluation) nothing is stored per step; shared
        windows are only accepted there.
        """
        if self.zscore is not None:
            x = self.zscore.inputs(x)
        bias = self.bias_ih + self.bias_hh
        weights = (self.weight_ih, self.weight_hh, bias)
        if not torch.is_grad_enabled():
            h = recurrence_inference(x, *weights)
        elif x.dim() != 4:
            raise ValueError("training needs per-replicate windows of shape (R, B, T, I)")
        elif self.recurrence == "triton":
            from hydroprobe.models.ensemble_triton import TritonRecurrence

            h = TritonRecurrence.apply(x, *weights, self.workspace)
        elif self.recurrence == "torch":
            h = FusedRecurrence.apply(x, *weights, self.workspace)
        else:
            h = recurrence_autograd(x, *weights, cell=self.cell)
        y = torch.baddbmm(self.head_bias.view(-1, 1, 1), h, self.head_weight.unsqueeze(2)).squeeze(2)
        return y if self.zscore is None else self.zscore.output(y)
