"""Many replicates of :func:`train_replicate` trained together in one :class:`EnsembleLSTM`.

Replicates are independent, so the protocol of ``trainer.py`` is
reproduced per replicate, only the arithmetic is batched:

* initial weights are copies of ``init_model(architecture, seed)``;
* each replicate draws its own permutation per epoch from its own
  ``torch.Generator(seed)`` and sees its own batches; every replicate has the
  same number of training samples, so batch sizes line up;
* the loss is the **sum** over replicates of each replicate's mean MSE, so
  each replicate's gradient is exactly its own; Adam is elementwise, so one
  Adam over the stacked weights is R independent Adams;
* gradient-norm clipping uses each replicate's own norm;
* early stopping, patience and the restored best epoch are per replicate;
  a finished replicate is yielded at once and dropped from the active set
  (weights and Adam state sliced), so it stops costing compute.

Results match the sequential engine to float32 rounding (the kernels sum
in a different order), not bit for bit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hydroprobe.data.windows import WindowedSeries
from hydroprobe.models.ensemble_lstm import EnsembleLSTM
from hydroprobe.models.ensemble_recurrence import lstm_cell
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.trainer import ReplicateResult, init_model

EnsembleEpochCallback = Callable[[int, int, float, float], None]  # seed, epoch, train, validation
MAX_GROUP = 32  # replicates trained at once; the fused BPTT keeps ~95 MB per replicate (T 365, B 256)


@dataclass
class _Replicate:
    """Bookkeeping of one active replicate."""

    seed: int
    generator: torch.Generator
    result: ReplicateResult
    best_state: dict[str, torch.Tensor]
    best_loss: float = float("inf")
    since_best: int = 0
    finished: bool = False


def train_ensemble(
    architecture: dict,
    series: WindowedSeries,
    train_days: np.ndarray,
    validation_days: np.ndarray,
    config: TrainConfig,
    seeds: Sequence[int],
    device: torch.device,
    on_epoch: EnsembleEpochCallback | None = None,
    max_group: int = MAX_GROUP,
    compile_cell: bool = False,
) -> Iterator[ReplicateResult]:
    """Yield each seed's :class:`ReplicateResult` as soon as it finishes (groups of ``max_group``).

    ``compile_cell`` (GPU lever, not timed anywhere yet) swaps the
    hand-written backward for autograd over a ``torch.compile``-fused LSTM step.
    ``ReplicateResult.seconds`` is the replicate's share of the wall time:
    each epoch's time divided by the replicates active in it.
    """
    if architecture.get("type") != "lstm":
        raise ValueError(f"train_ensemble stacks LSTM replicates only, not '{architecture.get('type')}'")
    for start in range(0, len(seeds), max_group):
        yield from _train_group(
            architecture,
            series,
            train_days,
            validation_days,
            config,
            seeds[start : start + max_group],
            device,
            on_epoch,
            compile_cell,
        )


def _train_group(
    architecture, series, train_days, validation_days, config, seeds, device, on_epoch, compile_cell
) -> Iterator[ReplicateResult]:
    model = EnsembleLSTM.from_models([init_model(architecture, s) for s in seeds], fused=not compile_cell)
    if compile_cell:
        model.cell = torch.compile(lstm_cell, dynamic=False)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    active = [
        _Replicate(s, torch.Generator().manual_seed(s), ReplicateResult(seed=s, state_dict={}), {})
        for s in seeds
    ]
    for r, replicate in enumerate(active):
        replicate.best_state = model.replicate_state_dict(r)
    train_index = torch.as_tensor(train_days)
    for epoch in range(1, config.max_epochs + 1):
        began = time.perf_counter()
        train_loss = _train_epoch(model, optimizer, series, train_index, active, config, device)
        validation = validation_mse(model, series, validation_days, config.eval_batch_size, device)
        share = (time.perf_counter() - began) / len(active)
        for r, replicate in enumerate(active):
            _record_epoch(replicate, model, r, epoch, train_loss[r], validation[r], share, config)
            if on_epoch:
                on_epoch(replicate.seed, epoch, train_loss[r], validation[r])
        if epoch == config.max_epochs:
            for replicate in active:
                replicate.finished = True
        for replicate in active:
            if replicate.finished:
                replicate.result.state_dict = replicate.best_state
                yield replicate.result
        keep = [r for r, replicate in enumerate(active) if not replicate.finished]
        if not keep:
            return
        if len(keep) < len(active):
            model, optimizer = shrink(model, optimizer, keep, config.learning_rate)
            active = [active[r] for r in keep]


def _train_epoch(model, optimizer, series, train_index, active, config, device) -> list[float]:
    """One epoch, every replicate on its own permutation; mean training MSE per replicate."""
    model.train()
    orders = torch.stack(
        [train_index[torch.randperm(len(train_index), generator=rep.generator)] for rep in active]
    )
    totals = [0.0] * len(active)
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


def _record_epoch(replicate, model, r, epoch, train_loss, validation, share, config) -> None:
    """The reference's per-epoch bookkeeping: curves, best weights, patience."""
    result = replicate.result
    result.train_loss.append(train_loss)
    result.validation_loss.append(validation)
    result.seconds += share
    if validation < replicate.best_loss:
        replicate.best_loss, replicate.since_best, result.best_epoch = validation, 0, epoch
        replicate.best_state = model.replicate_state_dict(r)
    else:
        replicate.since_best += 1
        replicate.finished = replicate.since_best >= config.patience


def clip_grad_norm_per_replicate_(parameters, max_norm: float) -> torch.Tensor:
    """``clip_grad_norm_`` applied to each replicate (leading dimension) separately; returns the norms."""
    grads = [p.grad for p in parameters if p.grad is not None]
    per_tensor = torch.stack([g.reshape(g.shape[0], -1).norm(dim=1) for g in grads])
    total = per_tensor.norm(dim=0)
    coefficient = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coefficient.view(-1, *([1] * (g.dim() - 1))))
    return total


def shrink(model: EnsembleLSTM, optimizer: torch.optim.Adam, keep: list[int], learning_rate: float):
    """Drop finished replicates: slice the weights and every per-replicate Adam state tensor."""
    index = torch.as_tensor(keep)
    smaller = model.subset(index)
    new_optimizer = torch.optim.Adam(smaller.parameters(), lr=learning_rate)
    for old, new in zip(model.parameters(), smaller.parameters(), strict=True):
        if old in optimizer.state:
            new_optimizer.state[new] = {
                key: value.clone() if value.dim() == 0 else value[index.to(value.device)].clone()
                for key, value in optimizer.state[old].items()
            }
    return smaller, new_optimizer


@torch.no_grad()
def validation_mse(
    model: EnsembleLSTM, series: WindowedSeries, days: np.ndarray, batch_size: int, device
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
