"""One replicate of the paper's training protocol (§2.3), on ``torch.nn.LSTM``.

This is the reference path: the ensemble engine must reproduce it. Its
random-number protocol is therefore part of the contract:

1. ``torch.manual_seed(seed)`` immediately before the model is built, so
   the initial weights depend on the seed alone;
2. a private ``torch.Generator`` seeded with ``seed`` draws, each epoch, one
   ``torch.randperm`` over the training samples (shuffling without
   replacement); batches are consecutive slices of that permutation;
3. Adam on the MSE of the normalised target; optional gradient-norm clipping;
4. after each epoch the validation MSE decides early stopping (patience) and
   the weights of the best epoch are restored at the end.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from hydroprobe.data.windows import WindowedSeries
from hydroprobe.models import build_model
from hydroprobe.training.config import TrainConfig

EpochCallback = Callable[[int, float, float], None]


@dataclass
class ReplicateResult:
    """A trained replicate: best weights and its learning curve."""

    seed: int
    state_dict: dict[str, torch.Tensor]
    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)


def init_model(architecture: dict, seed: int) -> nn.Module:
    """Step 1 of the protocol: the seed alone fixes the initial weights."""
    torch.manual_seed(seed)
    return build_model(architecture)


@torch.no_grad()
def predict_normalized(
    model: nn.Module, series: WindowedSeries, days: np.ndarray, batch_size: int, device: torch.device
) -> np.ndarray:
    """Model output (normalised units) for windows ending on ``days``."""
    model.eval()
    out = []
    for start in range(0, len(days), batch_size):
        x = series.windows(days[start : start + batch_size]).to(device)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy() if out else np.empty(0, dtype=np.float32)


@torch.no_grad()
def mse(model: nn.Module, series: WindowedSeries, days: np.ndarray, batch_size: int, device) -> float:
    predicted = predict_normalized(model, series, days, batch_size, device)
    observed = series.target[torch.as_tensor(days)].numpy()
    return float(np.mean((predicted - observed) ** 2))


def train_replicate(
    architecture: dict,
    series: WindowedSeries,
    train_days: np.ndarray,
    validation_days: np.ndarray,
    config: TrainConfig,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> ReplicateResult:
    """Train one replicate and return it with the best epoch's weights restored."""
    began = time.perf_counter()
    model = init_model(architecture, seed).to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    train_index = torch.as_tensor(train_days)
    result = ReplicateResult(seed=seed, state_dict={})
    best_loss, since_best = float("inf"), 0
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = train_index[torch.randperm(len(train_index), generator=generator)]
        total, count = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            x, y = series.batch(order[start : start + config.batch_size])
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
        validation = mse(model, series, validation_days, config.eval_batch_size, device)
        result.train_loss.append(total / count)
        result.validation_loss.append(validation)
        if on_epoch:
            on_epoch(epoch, total / count, validation)
        if validation < best_loss:
            best_loss, since_best, result.best_epoch = validation, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if since_best >= config.patience:
                break
    result.state_dict = {k: v.detach().cpu().clone() for k, v in best_state.items()}
    result.seconds = time.perf_counter() - began
    return result
