"""MC-LSTM (Hoedt et al. 2021): an LSTM whose cell states are water stores that conserve mass.

The paper's LSTM (§4) can make or lose water; this network cannot. Each day
the precipitation (mm/d, the *mass input*) is split over the cells by a
softmax input gate, the stores are mixed by a row-stochastic redistribution
matrix, and a sigmoid output gate releases a fraction of every store. What
leaves the cells is the only outflow: the sum over all cells but the first
is discharge, the first ("trash") cell carries losses that are not discharge
(evapotranspiration). So, from empty stores, Σ inflow = Σ discharge +
Σ trash + final storage, and no rain means no flow.

The gates see the normalised inputs (precipitation and temperature, the
auxiliary input that decides e.g. snow vs melt) and the stores normalised
to sum 1, so growing stores do not saturate them.

To keep the pipeline unchanged the module has :class:`LSTMRegressor`'s
interface: normalised ``(batch, window, n_inputs)`` in, normalised
discharge of the last day out. The scaler's precipitation and discharge
ranges and the basin area are constructor arguments, so the
conversions to mm/d and back to normalised m³/s happen inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.data.summary import mm_per_day_to_m3s

if TYPE_CHECKING:
    from hydroprobe.data.dataset import BasinDataset

#: Initial output-gate bias: sigmoid(-3) ≈ 5 % of each store leaves per day, so
#: untrained stores remember weeks of rain instead of draining half every day.
OUTPUT_GATE_BIAS = -3.0
#: Initial redistribution logits on the diagonal: each store starts by keeping most of its
#: water (e³/(e³+H−1) ≈ 74 % at H = 8) instead of mixing evenly into every cell, the trash
#: cell included, each day, which drains all memory and traps training near "predict the mean".
REDISTRIBUTION_DIAGONAL_BIAS = 3.0
#: Guard of the store normalisation when all stores are empty.
STORE_EPSILON = 1e-5


class _Softmax(torch.autograd.Function):
    """Softmax over the last dimension that keeps only its output for backward.

    On CPU, torch's kernel was ~4x slower on rows of 8 (hidden 8); written out
    with autograd it kept two H x H tensors per day (+30 % memory at hidden 50).
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor) -> torch.Tensor:
        out = (logits - logits.amax(-1, keepdim=True)).exp_()
        out /= out.sum(-1, keepdim=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(-1, keepdim=True))


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension (see :class:`_Softmax` for why not ``torch.softmax``)."""
    return _Softmax.apply(logits)


class MassConservingLSTM(nn.Module):
    """MC-LSTM over one window from empty stores; input 0 is mass, the others steer the gates."""

    model_type = "mclstm"

    def __init__(
        self,
        n_inputs: int = 2,
        hidden_size: int = 50,
        *,
        precipitation_range: Sequence[float],
        discharge_range: Sequence[float],
        area_km2: float,
    ):
        super().__init__()
        if hidden_size < 2:
            raise ValueError("hidden_size must be >= 2 (one trash cell plus at least one discharge cell)")
        if n_inputs < 1:
            raise ValueError("n_inputs must be >= 1 (input 0 is the precipitation mass)")
        for name, (low, high) in (
            ("precipitation_range", precipitation_range),
            ("discharge_range", discharge_range),
        ):
            if not high > low:
                raise ValueError(f"{name} must be (min, max) with max > min (got {low}, {high})")
        if not area_km2 > 0:
            raise ValueError(f"area_km2 must be > 0 (got {area_km2})")
        self.n_inputs, self.hidden_size, self.area_km2 = n_inputs, hidden_size, float(area_km2)
        # plain floats, not buffers: exact in any dtype, valid on any device, and the
        # state_dict holds only learned weights, so it can never contradict architecture()
        self.precipitation_min, self.precipitation_max = map(float, precipitation_range)
        self.discharge_min, self.discharge_max = map(float, discharge_range)
        self.m3s_per_mm_day = float(mm_per_day_to_m3s(1.0, self.area_km2))
        # one affine map of [normalised inputs; normalised stores] → input | redistribution | output logits
        self.gates = nn.Linear(n_inputs + hidden_size, hidden_size * (hidden_size + 2))
        with torch.no_grad():
            self.gates.bias[-hidden_size:].fill_(OUTPUT_GATE_BIAS)
            mixing_bias = self.gates.bias[hidden_size:-hidden_size].view(hidden_size, hidden_size)
            mixing_bias.fill_diagonal_(REDISTRIBUTION_DIAGONAL_BIAS)

    def architecture(self) -> dict:
        """What is needed to rebuild the module before loading a state_dict (JSON-serialisable)."""
        return {
            "type": self.model_type,
            "n_inputs": self.n_inputs,
            "hidden_size": self.hidden_size,
            "precipitation_range": [self.precipitation_min, self.precipitation_max],
            "discharge_range": [self.discharge_min, self.discharge_max],
            "area_km2": self.area_km2,
        }

    def precipitation_mm(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised input 0 back to mm/d; clipped at 0 because mass cannot be negative."""
        span = self.precipitation_max - self.precipitation_min
        return (x[..., 0] * span + self.precipitation_min).clamp(min=0.0)

    def forward_fluxes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-day water balance in mm/d (storage in mm), each ``(batch, window)``.

        ``inflow_mm`` precipitation in, ``outflow_mm`` discharge out,
        ``trash_mm`` losses out, ``storage_mm`` sum of the stores at the end
        of the day (they start empty).
        """
        batch = x.shape[0]
        hidden = self.hidden_size
        weight_inputs = self.gates.weight[:, : self.n_inputs]
        weight_stores = self.gates.weight[:, self.n_inputs :]
        drive = torch.nn.functional.linear(x, weight_inputs, self.gates.bias)  # all days at once
        inflow = self.precipitation_mm(x)
        stores = x.new_zeros(batch, hidden)
        released, held = [], []
        # unbind, not [:, t]: indexing would make backward fill a full-size gradient every step
        for drive_t, inflow_t in zip(drive.unbind(1), inflow.unbind(1), strict=True):
            shares = stores / (stores.sum(-1, keepdim=True) + STORE_EPSILON)
            logits = torch.addmm(drive_t, shares, weight_stores.T)
            split = softmax(logits[:, :hidden])
            mixing = softmax(logits[:, hidden:-hidden].view(batch, hidden, hidden))
            release = torch.sigmoid(logits[:, -hidden:])
            mass = torch.baddbmm((inflow_t[:, None] * split).unsqueeze(1), stores.unsqueeze(1), mixing)
            mass = mass.squeeze(1)
            out = release * mass
            stores = mass - out
            released.append(out)
            held.append(stores)
        out = torch.stack(released, dim=1)
        return {
            "inflow_mm": inflow,
            "outflow_mm": out[..., 1:].sum(-1),
            "trash_mm": out[..., 0],
            "storage_mm": torch.stack(held, dim=1).sum(-1),
        }

    def normalized_discharge(self, outflow_mm: torch.Tensor) -> torch.Tensor:
        """Outflow (mm/d) → m³/s over the basin → the scaler's normalised discharge."""
        span = self.discharge_max - self.discharge_min
        return (outflow_mm * self.m3s_per_mm_day - self.discharge_min) / span

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) normalised → (batch,) normalised discharge of the last day."""
        return self.normalized_discharge(self.forward_fluxes(x)["outflow_mm"][:, -1])

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) → (batch, window) normalised discharge of every day.

        For sequence-to-sequence training; day t's value is what :meth:`forward` gives for the
        window ending on day t only when that window also starts where ``x`` starts.
        """
        return self.normalized_discharge(self.forward_fluxes(x)["outflow_mm"])


def architecture_extras(dataset: BasinDataset | None, options: dict) -> dict:
    """The model-kind table's hook: the MC-LSTM counts millimetres, so it needs the scaler and area.

    Its precipitation input and discharge output are converted between normalised units and
    mm/d inside the network (mass in, mass out), which takes the dataset's fitted ranges.
    """
    if dataset is None:
        raise ValueError("model.type mclstm needs the dataset (scaler ranges, basin area) "
                         "for its architecture")
    scaler = dataset.scaler
    return {
        "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
        "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
        "area_km2": float(dataset.series.meta.area_km2),
    }
