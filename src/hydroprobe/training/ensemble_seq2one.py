"""Sequence-to-one epochs for stacked replicates: the paper's protocol (``trainer.py``), batched.

The ensemble engine trains a kind's replicates together (:mod:`hydroprobe.training.ensemble`);
this is its epoch when ``train.mode`` is seq2one (its seq2seq twin is
:mod:`hydroprobe.training.ensemble_sequence`). Each replicate draws its own permutation of the
training days from its own generator and sees its own batches; the summed loss gives each
replicate exactly its own gradient, clipped by its own norm. Validation scores shared windows
per replicate, as ``trainer.mse`` does for one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hydroprobe.data.windows import WindowedSeries
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.static_step import clip_grad_norm_per_replicate_


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, series: WindowedSeries,
                train_index: torch.Tensor, generators: list[torch.Generator], config: TrainConfig,
                device: torch.device) -> list[float]:
    """One epoch, every replicate on its own permutation; mean training MSE per replicate."""
    model.train()
    orders = torch.stack(
        [train_index[torch.randperm(len(train_index), generator=generator)] for generator in generators]
    )
    totals = [0.0] * len(generators)
    for start in range(0, orders.shape[1], config.batch_size):
        days = orders[:, start : start + config.batch_size]
        x, y = series.batch(days.reshape(-1))
        x, y = x.view(*days.shape, *x.shape[1:]).to(device), y.view(days.shape).to(device)
        optimizer.zero_grad(set_to_none=True)
        losses = ((model(x) - y) ** 2).mean(dim=1)
        losses.sum().backward()
        if config.grad_clip > 0:
            clip_grad_norm_per_replicate_(model.parameters(), config.grad_clip)
        optimizer.step()
        for r, value in enumerate(losses.detach().cpu().tolist()):
            totals[r] += value * y.shape[1]
    return [total / orders.shape[1] for total in totals]


@torch.no_grad()
def validation_mse(
    model: nn.Module, series: WindowedSeries, days: np.ndarray, batch_size: int, device
) -> list[float]:
    """Per-replicate MSE on shared windows, computed as ``trainer.mse`` does (float32, numpy mean)."""
    model.eval()
    out = []
    for start in range(0, len(days), batch_size):
        x = series.windows(days[start : start + batch_size]).to(device)
        out.append(model(x).float().cpu())
    predicted = torch.cat(out, dim=1).numpy()
    observed = series.target[torch.as_tensor(days)].numpy()
    return [float(np.mean((row - observed) ** 2)) for row in predicted]
