"""Sequence-to-sequence epochs for stacked replicates: :mod:`hydroprobe.training.sequence`, batched.

The ensemble engine trains a kind's replicates together (:mod:`hydroprobe.training.ensemble`);
this is its epoch when ``train.mode`` is seq2seq. Each replicate keeps the sequential protocol:
its own generator draws its own ``windows_per_epoch`` windows (the same draws as
:func:`~hydroprobe.training.sequence.train_sequence_replicate` with that seed), its loss is its own
masked MSE over the span days, gradients are clipped by its own norm, and the summed loss gives
each replicate exactly its own gradient. Validation scores the shared tiled windows per replicate,
as :func:`~hydroprobe.training.sequence.sequence_mse` does for one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hydroprobe.data.windows import WindowedSeries
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.sequence import SequenceSplit, draw_windows
from hydroprobe.training.static_step import clip_grad_norm_per_replicate_


def masked_mse_per_replicate(predicted: torch.Tensor, observed: torch.Tensor,
                             weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R, B, S)`` → each replicate's MSE over its observed (non-NaN) entries, and their counts.

    ``weights`` ``(R, B)``: each window's weight on its squared errors (a basin group's NSE*).
    """
    seen = ~torch.isnan(observed)
    counts = seen.sum(dim=(1, 2))
    squared = torch.where(seen, predicted - observed.nan_to_num(), 0.0) ** 2
    if weights is not None:
        squared = squared * weights[..., None]
    return squared.sum(dim=(1, 2)) / counts.clamp(min=1), counts


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, series: WindowedSeries,
                split: SequenceSplit, generators: list[torch.Generator], config: TrainConfig,
                device: torch.device) -> list[float]:
    """One epoch of every replicate on its own windows; each replicate's mean masked MSE."""
    model.train()
    picks = np.stack([draw_windows(split, config, generator) for generator in generators])  # (R, W)
    replicates = len(generators)
    totals = torch.zeros(replicates, dtype=torch.float64)
    counts = torch.zeros(replicates, dtype=torch.int64)
    for start in range(0, picks.shape[1], config.batch_size):
        chunk = picks[:, start : start + config.batch_size]
        x, y = split.batch(series, chunk.reshape(-1))
        x = x.view(*chunk.shape, *x.shape[1:]).to(device)
        y = y.view(*chunk.shape, -1).to(device)
        weights = split.weights(chunk)
        optimizer.zero_grad(set_to_none=True)
        predicted = model.forward_sequence(x)[..., -config.loss_span :]
        losses, seen = masked_mse_per_replicate(predicted, y, None if weights is None else weights.to(device))
        losses.sum().backward()
        if config.grad_clip > 0:
            clip_grad_norm_per_replicate_(model.parameters(), config.grad_clip)
        optimizer.step()
        totals += losses.detach().double().cpu() * seen.cpu()
        counts += seen.cpu()
    return (totals / counts.clamp(min=1)).tolist()


@torch.no_grad()
def validation_mse(model: nn.Module, series: WindowedSeries, split: SequenceSplit, batch_size: int,
                   device: torch.device) -> list[float]:
    """Each replicate's masked MSE of the span days over all of ``split``'s (shared) windows."""
    model.eval()
    totals, counts = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64)
    for start in range(0, len(split.ends), batch_size):
        x, y = split.batch(series, split.ends[start : start + batch_size])
        predicted = model.forward_sequence(x.to(device))[..., -split.loss_span :].float().cpu()
        losses, seen = masked_mse_per_replicate(predicted, y.expand_as(predicted))
        totals = totals + losses.double() * seen
        counts = counts + seen
    return (totals / counts.clamp(min=1)).tolist()
