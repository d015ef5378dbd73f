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

With ``checkpoints`` the replicate's state (weights, Adam, generator, curve,
early-stopping bookkeeping) is saved at epoch boundaries at most every
``train.checkpoint_minutes``, and a rerun continues from it to the same
numbers, bit for bit, as an uninterrupted run.
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
from hydroprobe.training.checkpoint import Checkpoints, generator_state, restore_generator
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


@dataclass
class TrainingState:
    """A replicate part-way through training: all that the remaining epochs depend on."""

    model: nn.Module
    optimizer: torch.optim.Adam
    generator: torch.Generator
    result: ReplicateResult
    best_state: dict[str, torch.Tensor]
    best_loss: float = float("inf")
    since_best: int = 0

    def checkpoint(self, seconds: float) -> dict:
        """The state in ``weights_only`` types (see :mod:`hydroprobe.training.checkpoint`)."""
        return {
            "seed": self.result.seed,
            "epoch": self.result.epochs_run,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": generator_state(self.generator),
            "train_loss": list(self.result.train_loss),
            "validation_loss": list(self.result.validation_loss),
            "best_epoch": self.result.best_epoch,
            "best_state": self.best_state,
            "best_loss": self.best_loss,
            "since_best": self.since_best,
            "seconds": seconds,
        }


def start_training(
    architecture: dict, config: TrainConfig, seed: int, device, saved: dict | None
) -> TrainingState:
    """Step 1 of the protocol, or the state a checkpoint saved."""
    model = init_model(architecture, seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    if saved is None:
        generator = torch.Generator().manual_seed(seed)
        return TrainingState(model, optimizer, generator, ReplicateResult(seed, {}),
                             copy.deepcopy(model.state_dict()))
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    result = ReplicateResult(seed, {}, list(saved["train_loss"]), list(saved["validation_loss"]),
                             saved["best_epoch"], saved["seconds"])
    best_state = {k: v.to(device) for k, v in saved["best_state"].items()}
    return TrainingState(model, optimizer, restore_generator(saved["generator"]), result, best_state,
                         saved["best_loss"], saved["since_best"])


BatchLoss = Callable[[torch.Tensor], torch.Tensor]  # a batch's sample rows → its mean loss, differentiable


def train_epoch(state: TrainingState, train_index: torch.Tensor, config: TrainConfig, batch_loss: BatchLoss
                ) -> float:
    """Steps 2-3 of the protocol for one epoch; the mean training loss.

    The rows are shuffled by the replicate's own generator and cut in ``batch_size``
    batches, one (clipped) Adam step each. Only the loss differs between engines (MSE here,
    NSE* for the regional LSTM), so it is the caller's ``batch_loss``.
    """
    model, optimizer = state.model, state.optimizer
    model.train()
    order = train_index[torch.randperm(len(train_index), generator=state.generator)]
    total, count = 0.0, 0
    for start in range(0, len(order), config.batch_size):
        rows = order[start : start + config.batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(rows)
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * len(rows)
        count += len(rows)
    return total / count


def checkpoint_name(seed: int) -> str:
    """The sequential engine's checkpoint of replicate ``seed`` (see :class:`Checkpoints`)."""
    return f"seed_{seed}"


def train_replicate(
    architecture: dict,
    series: WindowedSeries,
    train_days: np.ndarray,
    validation_days: np.ndarray,
    config: TrainConfig,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    checkpoints: Checkpoints | None = None,
    resume: dict | None = None,
) -> ReplicateResult:
    """Train one replicate and return it with the best epoch's weights restored.

    ``checkpoints`` saves the state as :func:`checkpoint_name` at epoch
    boundaries; ``resume`` (such a saved state) continues from it. The caller
    deletes the checkpoint once the result is safe.
    """
    began = time.perf_counter()
    state = start_training(architecture, config, seed, device, resume)
    train_index = torch.as_tensor(train_days)

    def batch_mse(rows: torch.Tensor) -> torch.Tensor:
        x, y = series.batch(rows)
        return nn.functional.mse_loss(state.model(x.to(device)), y.to(device))

    def epoch() -> tuple[float, float]:
        train_loss = train_epoch(state, train_index, config, batch_mse)
        return train_loss, mse(state.model, series, validation_days, config.eval_batch_size, device)

    return run_epochs(state, epoch, config, checkpoint_name(seed), began, on_epoch, checkpoints)


def run_epochs(
    state: TrainingState,
    epoch_losses: Callable[[], tuple[float, float]],
    config: TrainConfig,
    name: str,
    began: float,
    on_epoch: EpochCallback | None = None,
    checkpoints: Checkpoints | None = None,
) -> ReplicateResult:
    """The protocol around one epoch's training: early stopping, best epoch restored, checkpoints.

    ``epoch_losses`` trains one epoch and returns (training loss, validation loss); every
    way of training a replicate (sequence-to-one, sequence-to-sequence) shares the rest.
    """
    previous, result = state.result.seconds, state.result
    if checkpoints:
        checkpoints.start(name)
    for epoch in range(result.epochs_run + 1, config.max_epochs + 1):
        train_loss, validation = epoch_losses()
        result.train_loss.append(train_loss)
        result.validation_loss.append(validation)
        if on_epoch:
            on_epoch(epoch, train_loss, validation)
        if validation < state.best_loss:
            state.best_loss, state.since_best, result.best_epoch = validation, 0, epoch
            state.best_state = copy.deepcopy(state.model.state_dict())
        else:
            state.since_best += 1
            if state.since_best >= config.patience:
                break
        if checkpoints and checkpoints.due(name):
            checkpoints.save(name, state.checkpoint(previous + time.perf_counter() - began))
    result.state_dict = {k: v.detach().cpu().clone() for k, v in state.best_state.items()}
    result.seconds = previous + time.perf_counter() - began
    return result
