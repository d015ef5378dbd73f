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
auxiliary input that decides e.g. snow vs melt; z-scored with the training
split's statistics when the architecture has ``standardization``) and the
stores normalised to sum 1, so growing stores do not saturate them.

To keep the pipeline unchanged the module has :class:`LSTMRegressor`'s
interface: normalised ``(batch, window, n_inputs)`` in, normalised
discharge of the last day out. The scaler's precipitation and discharge
ranges and the basin area are constructor arguments, so the
conversions to mm/d and back to normalised m³/s happen inside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.models.standardization import training_statistics

if TYPE_CHECKING:
    from hydroprobe.data.dataset import BasinDataset

#: Initial output-gate bias: sigmoid(-3) ≈ 5 % of each store leaves per day, so
#: untrained stores remember weeks of rain instead of draining half every day.
OUTPUT_GATE_BIAS = -3.0
#: Share of its water each store keeps per day at the start (the redistribution's diagonal).
#: Mixing evenly into every cell, the trash cell included, each day drains all memory and traps
#: training near "predict the mean"; a fixed diagonal logit keeps less the more cells there are
#: (e³/(e³+H−1): 74 % at H = 8, 57 % at H = 16), so the logit is set from this share instead.
REDISTRIBUTION_KEEP = 0.95
#: Guard of the store normalisation when all stores are empty.
STORE_EPSILON = 1e-5
#: Snow prior (with ``temperature_range``): °C over which a temperature-driven gate logit changes by 1.
#: The default init gives temperature weights of ±0.24 over a normalised range of ~60 °C, so gates
#: barely feel whether it freezes and training sits for hundreds of updates at "predict the mean"
#: (benchmarks/RESULTS.md); a slope of 1 per 2 °C makes 0 °C a switch from the first update.
SNOW_DEGREES_PER_LOGIT = 2.0


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


def redistribution_diagonal_bias(hidden_size: int, keep: float | None = None) -> float:
    """The diagonal logit that keeps ``keep`` of each store at zero off-diagonal logits."""
    keep = REDISTRIBUTION_KEEP if keep is None else keep
    return math.log(keep / (1 - keep) * (hidden_size - 1))


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
        temperature_range: Sequence[float] | None = None,
        standardization: dict | None = None,
    ):
        super().__init__()
        if hidden_size < 2:
            raise ValueError("hidden_size must be >= 2 (one trash cell plus at least one discharge cell)")
        if n_inputs < 1:
            raise ValueError("n_inputs must be >= 1 (input 0 is the precipitation mass)")
        ranges = [("precipitation_range", precipitation_range), ("discharge_range", discharge_range)]
        if temperature_range is not None:
            ranges.append(("temperature_range", temperature_range))
        for name, (low, high) in ranges:
            if not high > low:
                raise ValueError(f"{name} must be (min, max) with max > min (got {low}, {high})")
        if not area_km2 > 0:
            raise ValueError(f"area_km2 must be > 0 (got {area_km2})")
        self.n_inputs, self.hidden_size, self.area_km2 = n_inputs, hidden_size, float(area_km2)
        # plain floats, not buffers: exact in any dtype, valid on any device, and the
        # state_dict holds only learned weights, so it can never contradict architecture()
        self.precipitation_min, self.precipitation_max = map(float, precipitation_range)
        self.discharge_min, self.discharge_max = map(float, discharge_range)
        self.temperature_range = None if temperature_range is None else [float(t) for t in temperature_range]
        self.m3s_per_mm_day = float(mm_per_day_to_m3s(1.0, self.area_km2))
        # the gates read z-scored inputs (models/standardization.py); the mass stays min-max → mm
        self.standardization = standardization
        self.input_mean = [0.0] * n_inputs if standardization is None else list(standardization["input_mean"])
        self.input_std = [1.0] * n_inputs if standardization is None else list(standardization["input_std"])
        # one affine map of [normalised inputs; normalised stores] → input | redistribution | output logits
        self.gates = nn.Linear(n_inputs + hidden_size, hidden_size * (hidden_size + 2))
        with torch.no_grad():
            self.gates.bias[-hidden_size:].fill_(OUTPUT_GATE_BIAS)
            mixing_bias = self.gates.bias[hidden_size:-hidden_size].view(hidden_size, hidden_size)
            mixing_bias.fill_diagonal_(redistribution_diagonal_bias(hidden_size))
        if self.temperature_range is not None and n_inputs >= 2:
            self._init_snow_prior()

    def _init_snow_prior(self) -> None:
        """Start half of the discharge cells as snowpacks, the others as rain-fed stores.

        Input 1 is temperature. Below 0 °C the input gate routes precipitation to the snow cells
        (above it, to the rain cells), and a snow cell's output gate stays nearly shut in the cold
        and opens as it warms (a degree-day melt in gate form). Everything stays learnable: this
        only places the 0 °C switch where gradient descent would need hundreds of updates to find
        it. Trash cell and redistribution keep the default initialisation.
        """
        low, high = self.temperature_range
        # logit per unit of the gates' temperature input (min-max, or z-scored: × its std)
        slope = (high - low) / SNOW_DEGREES_PER_LOGIT * self.input_std[1]
        freezing = (-low / (high - low) - self.input_mean[1]) / self.input_std[1]  # 0 °C as the gates see it
        hidden = self.hidden_size
        snow = torch.arange(1, 1 + hidden // 2)
        rain = torch.arange(1 + len(snow), hidden)
        weight, bias = self.gates.weight, self.gates.bias
        with torch.no_grad():
            for cells, sign in ((snow, -1.0), (rain, 1.0)):  # input split: cold → snow, warm → rain
                weight[cells, 1] = sign * slope
                bias[cells] = -sign * slope * freezing
            release = hidden * (hidden + 1) + snow  # output-gate rows of the snow cells
            weight[release, 1] = slope
            bias[release] = OUTPUT_GATE_BIAS - slope * freezing

    def architecture(self) -> dict:
        """What is needed to rebuild the module before loading a state_dict (JSON-serialisable)."""
        return {
            "type": self.model_type,
            "n_inputs": self.n_inputs,
            "hidden_size": self.hidden_size,
            "precipitation_range": [self.precipitation_min, self.precipitation_max],
            "discharge_range": [self.discharge_min, self.discharge_max],
            "area_km2": self.area_km2,
            **({"temperature_range": self.temperature_range} if self.temperature_range else {}),
            **({"standardization": self.standardization} if self.standardization else {}),
        }

    def gate_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the gates read: the normalised inputs, z-scored when the architecture says so."""
        if self.standardization is None:
            return x
        return (x - x.new_tensor(self.input_mean)) / x.new_tensor(self.input_std)

    def precipitation_mm(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised input 0 back to mm/d; clipped at 0 because mass cannot be negative."""
        span = self.precipitation_max - self.precipitation_min
        return (x[..., 0] * span + self.precipitation_min).clamp(min=0.0)

    def normalized_discharge(self, outflow_mm: torch.Tensor) -> torch.Tensor:
        """Outflow (mm/d) → m³/s over the basin → the scaler's normalised discharge."""
        span = self.discharge_max - self.discharge_min
        return (outflow_mm * self.m3s_per_mm_day - self.discharge_min) / span

    def forward_fluxes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-day water balance in mm/d (storage in mm), each ``(batch, window)``.

        ``inflow_mm`` precipitation in, ``outflow_mm`` discharge out,
        ``trash_mm`` losses out, ``storage_mm`` sum of the stores at the end
        of the day (they start empty).
        """
        fluxes = stacked_fluxes(self, x.unsqueeze(0), self.gates.weight.unsqueeze(0),
                                self.gates.bias.unsqueeze(0))
        return {name: value.squeeze(0) for name, value in fluxes.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) normalised → (batch,) normalised discharge of the last day."""
        return self.normalized_discharge(self.forward_fluxes(x)["outflow_mm"][:, -1])

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, window, n_inputs) → (batch, window) normalised discharge of every day.

        For sequence-to-sequence training; day t's value is what :meth:`forward` gives for the
        window ending on day t only when that window also starts where ``x`` starts.
        """
        return self.normalized_discharge(self.forward_fluxes(x)["outflow_mm"])


def stacked_fluxes(units: MassConservingLSTM, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
    """The MC-LSTM recurrence for R replicates at once: one code path for one model and for many.

    ``x``: ``(R, B, T, I)`` per-replicate windows or ``(1, B, T, I)`` shared by all; ``weight``
    ``(R, G, I + H)`` and ``bias`` ``(R, G)`` are the replicates' gate maps; ``units`` supplies the
    mm conversions (the replicates share an architecture). Returns :meth:`forward_fluxes`'s
    entries, each ``(R, B, T)``. Replicates never mix: every product is batched over R.
    """
    n_inputs, hidden = units.n_inputs, units.hidden_size
    replicates, batch = weight.shape[0], x.shape[1]
    # all days' input drive at once: (R|1, B, T, I) @ (R, 1, I, G) → (R, B, T, G)
    drive = torch.matmul(units.gate_inputs(x), weight[:, None, :, :n_inputs].transpose(-1, -2))
    drive = drive + bias[:, None, None, :]
    inflow = units.precipitation_mm(x).expand(replicates, -1, -1)
    weight_stores = weight[..., n_inputs:].transpose(1, 2)  # (R, H, G)
    stores = x.new_zeros(replicates, batch, hidden)
    released, held = [], []
    # unbind, not [:, :, t]: indexing would make backward fill a full-size gradient every step
    for drive_t, inflow_t in zip(drive.unbind(2), inflow.unbind(2), strict=True):
        shares = stores / (stores.sum(-1, keepdim=True) + STORE_EPSILON)
        logits = torch.baddbmm(drive_t, shares, weight_stores)
        split = softmax(logits[..., :hidden])
        mixing = softmax(logits[..., hidden:-hidden].reshape(replicates * batch, hidden, hidden))
        release = torch.sigmoid(logits[..., -hidden:])
        arriving = (inflow_t[..., None] * split).reshape(replicates * batch, 1, hidden)
        mass = torch.baddbmm(arriving, stores.reshape(replicates * batch, 1, hidden), mixing)
        mass = mass.view(replicates, batch, hidden)
        out = release * mass
        stores = mass - out
        released.append(out)
        held.append(stores)
    out = torch.stack(released, dim=2)
    return {
        "inflow_mm": inflow,
        "outflow_mm": out[..., 1:].sum(-1),
        "trash_mm": out[..., 0],
        "storage_mm": torch.stack(held, dim=2).sum(-1),
    }


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
        "temperature_range": [scaler.minimum[TEMPERATURE], scaler.maximum[TEMPERATURE]],
        **({"standardization": gate_statistics(dataset)} if options.get("standardize") else {}),
    }


def gate_statistics(dataset: BasinDataset) -> dict:
    """The inputs' training-split mean and std the gates z-score with (its output is mass, not scaled)."""
    stats = training_statistics(dataset)
    return {"input_mean": stats["input_mean"], "input_std": stats["input_std"]}
