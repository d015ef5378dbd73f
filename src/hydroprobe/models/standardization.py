"""Fixed z-scoring inside the LSTM: min-max data outside, standardised signals inside.

The paper scales every input and the target to [0, 1] (§2.2), and the probes feed
hypothetical forcing through that same scaler, so the pipeline stays min-max. But
min-max leaves Salmon's precipitation with a standard deviation of 0.09 and the
target with 0.13: with Adam (each weight moves ~lr per update whatever the input's
scale) the input weights learn ~10× slower and the head ~8× noisier than on the
z-scored data neuralhydrology trains on. Measured on Salmon (benchmarks/RESULTS.md
"Standardized inside the network"): 4 replicates, 20 epochs, same cost; their mean's
test NSE is 0.818 standardized and 0.715 on min-max signals, where they stay underfit
(training NSE ~0.70).

So the network itself subtracts the training split's mean and divides by its
standard deviation on the way in, and undoes it on the way out. The statistics
are constants of the architecture (not weights): the function class is the same
LSTM on [0, 1] inputs; only the optimiser's geometry changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from hydroprobe.data.basin import DISCHARGE, INPUTS

if TYPE_CHECKING:
    from hydroprobe.data.dataset import BasinDataset


def training_statistics(dataset: BasinDataset) -> dict:
    """Mean and standard deviation of the normalised inputs and target over the training split."""
    start, end = dataset.splits["train"]
    frame = dataset.normalized.loc[start:end]
    inputs = frame[list(INPUTS)].to_numpy(dtype=np.float64)
    target = frame[DISCHARGE].to_numpy(dtype=np.float64)
    stats = {
        "input_mean": np.nanmean(inputs, axis=0).tolist(),
        "input_std": np.nanstd(inputs, axis=0).tolist(),
        "target_mean": float(np.nanmean(target)),
        "target_std": float(np.nanstd(target)),
    }
    if min(stats["input_std"]) <= 0 or stats["target_std"] <= 0:
        raise ValueError(f"basin {dataset.basin_id}: an input or the discharge is constant over the "
                         "training split; model.standardize needs a spread (set it false or widen "
                         "the split)")
    return stats


class ZScore(nn.Module):
    """The fixed affine maps: ``(x - mean) / std`` in, ``y * std + mean`` out (no parameters),
    and the optimiser sees the z-scored loss's gradient (:meth:`output`)."""

    def __init__(self, input_mean: list[float], input_std: list[float], target_mean: float,
                 target_std: float):
        super().__init__()
        # Not persistent: the values live in the architecture, so state_dicts keep their keys.
        self.register_buffer("input_mean", torch.tensor(input_mean, dtype=torch.float32), persistent=False)
        self.register_buffer("input_std", torch.tensor(input_std, dtype=torch.float32), persistent=False)
        self.register_buffer("target_mean", torch.tensor(target_mean, dtype=torch.float32), persistent=False)
        self.register_buffer("target_std", torch.tensor(target_std, dtype=torch.float32), persistent=False)
        self.settings = {"input_mean": list(input_mean), "input_std": list(input_std),
                         "target_mean": float(target_mean), "target_std": float(target_std)}

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.input_mean) / self.input_std

    def output(self, y: torch.Tensor) -> torch.Tensor:
        """``y * std + mean``; in training, the gradient reaching ``y`` is the z-scored MSE's.

        The loss stays the min-max MSE (reported, early-stopped on), which is the z-scored
        MSE × std². Left so, every gradient would be std² (Salmon: 0.016) times smaller and a
        gradient-norm clip of 1 would almost never act; measured, that lost the benefit
        (RESULTS). Dividing the gradient by std² here gives the optimiser and the clip exactly
        the z-scored loss's gradient. The forward value is untouched (``y + 0``, bit for bit).
        """
        if y.requires_grad:
            held = y.detach()
            y = held + (y - held) / self.target_std**2
        return y * self.target_std + self.target_mean


def zscore_from(settings: dict | None) -> ZScore | None:
    """The architecture's ``standardization`` entry as a module (None: the paper's plain LSTM)."""
    return None if settings is None else ZScore(**settings)


def settings_of(zscore: ZScore | None) -> dict | None:
    """The inverse of :func:`zscore_from`: the architecture entry that rebuilds ``zscore``."""
    return None if zscore is None else zscore.settings
