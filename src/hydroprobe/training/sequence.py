"""Sequence-to-sequence training (issue 14): a long window predicts every day, its last days are scored.

Why: a sequence-to-one sample teaches one day per window, and a model that starts
every window from empty stores (the MC-LSTM) must see a whole snow season inside
each window to learn to hold snow. Here a window of ``train.window`` days (longer
than a snow season) predicts discharge on every day; the loss covers only its last
``train.loss_span`` days, so the stores are warmed up on everything the loss sees.
An epoch draws ``train.windows_per_epoch`` random windows, so an epoch is a fixed
number of updates whatever the record's length.

The protocol otherwise is the reference one (:mod:`hydroprobe.training.trainer`):
the seed alone fixes the initial weights, a private generator seeded with the seed
draws the windows, Adam on the masked MSE of the normalised target, optional
gradient clipping, early stopping with patience on the validation MSE and the best
epoch restored, checkpoints at epoch boundaries.

What is scored, and where:

* training windows: their loss days lie inside the training split (the inputs may
  reach back before it, as seq2one windows do), the window has no missing forcing,
  and days without an observed discharge are masked out of the loss;
* validation (early stopping): windows whose loss spans tile the validation split
  from its last day back, scored the same way; cheap (a few windows) where the
  seq2one sliding windows would run ``window`` days for every validation day;
* final metrics, selection and probes are *not* here: a trained replicate is
  evaluated as every other model, one sliding window of ``train.window`` days per
  day, its last day's output (``replicates.evaluate``, ``SequenceModelSimulator``),
  so its metrics compare with seq2one models day by day and the probes run unchanged.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from hydroprobe.config import require
from hydroprobe.data.windows import WindowedSeries
from hydroprobe.training.checkpoint import Checkpoints
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.trainer import (
    EpochCallback,
    ReplicateResult,
    TrainingState,
    checkpoint_name,
    run_epochs,
    start_training,
    train_replicate,
)


def span_targets(series: WindowedSeries, ends: np.ndarray, loss_span: int, first: int, last: int
                 ) -> torch.Tensor:
    """Observed targets of the last ``loss_span`` days of each window, NaN outside days [first, last]."""
    days = torch.as_tensor(ends)[:, None] + torch.arange(-loss_span + 1, 1)
    targets = series.target[days.clamp(0, len(series.target) - 1)]
    return torch.where((days >= first) & (days <= last), targets, torch.nan)


def masked_mse(predicted: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean squared error over the observed (non-NaN) entries, and how many there were."""
    seen = ~torch.isnan(observed)
    count = int(seen.sum())
    return ((predicted[seen] - observed[seen]) ** 2).sum() / max(count, 1), count


def training_ends(series: WindowedSeries, days: np.ndarray, loss_span: int) -> np.ndarray:
    """Days that may end a training window: its loss days within the split, complete forcing, ≥ 1 target.

    ``days`` are the split's seq2one sample days (observed targets, complete windows); their
    first and last day bound the loss days, so no target outside the split is ever scored.
    """
    first, last = int(days.min()), int(days.max())
    ends = np.arange(max(first + loss_span - 1, series.window - 1), last + 1)
    ends = ends[series.complete(ends)]
    targets = span_targets(series, ends, loss_span, first, last)
    return ends[(~torch.isnan(targets)).any(1).numpy()]


def tiled_ends(series: WindowedSeries, days: np.ndarray, loss_span: int) -> np.ndarray:
    """Window ends whose loss spans tile days[0] … days[-1] from the last day back (complete windows only)."""
    first, last = int(days.min()), int(days.max())
    ends = np.arange(last, first - 1, -loss_span)[::-1]
    return ends[series.complete(ends)]


class SequenceSplit:
    """The windows of one split and their span targets, ready for :func:`sequence_mse`."""

    def __init__(self, series: WindowedSeries, days: np.ndarray, loss_span: int, tiled: bool):
        self.loss_span = loss_span
        self.ends = (tiled_ends if tiled else training_ends)(series, days, loss_span)
        self.first, self.last = int(days.min()), int(days.max())

    def batch(self, series: WindowedSeries, picks: np.ndarray | torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Input windows and span targets of the windows ending on ``picks``."""
        picks = np.asarray(picks)
        return series.windows(picks), span_targets(series, picks, self.loss_span, self.first, self.last)

    def weights(self, picks: np.ndarray) -> None:
        """Every window weighs the same (a basin group's split weighs each basin: NSE*)."""
        return None


def sequence_splits(series: WindowedSeries, train_days: np.ndarray, validation_days: np.ndarray,
                    config: TrainConfig) -> tuple[SequenceSplit, SequenceSplit]:
    """Random training windows and tiled validation windows, or an error if a split has none."""
    train = SequenceSplit(series, train_days, config.loss_span, tiled=False)
    validation = SequenceSplit(series, validation_days, config.loss_span, tiled=True)
    require(len(train.ends) > 0 and len(validation.ends) > 0, "train.loss_span",
            f"leaves no complete {config.window}-day window scoring {config.loss_span} days in a split")
    return train, validation


def draw_windows(split: SequenceSplit, config: TrainConfig, generator: torch.Generator) -> np.ndarray:
    """One epoch's ``windows_per_epoch`` window ends, drawn with replacement from ``generator``."""
    draws = torch.randint(len(split.ends), (config.windows_per_epoch,), generator=generator)
    return split.ends[draws.numpy()]


@torch.no_grad()
def sequence_mse(model: nn.Module, series: WindowedSeries, split: SequenceSplit, batch_size: int,
                 device: torch.device) -> float:
    """Masked MSE of the span days over all of ``split``'s windows (the early-stopping criterion)."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(split.ends), batch_size):
        x, y = split.batch(series, split.ends[start : start + batch_size])
        predicted = model.forward_sequence(x.to(device))[:, -split.loss_span :].float().cpu()
        loss, seen = masked_mse(predicted, y)
        total += float(loss) * seen
        count += seen
    return total / max(count, 1)


def _train_epoch(state: TrainingState, series: WindowedSeries, split: SequenceSplit, config: TrainConfig,
                 device: torch.device) -> float:
    """``windows_per_epoch`` windows drawn with replacement, ``batch_size`` at a time; the mean masked MSE."""
    model, optimizer = state.model, state.optimizer
    model.train()
    picks = draw_windows(split, config, state.generator)
    total, count = 0.0, 0
    for start in range(0, len(picks), config.batch_size):
        x, y = split.batch(series, picks[start : start + config.batch_size])
        optimizer.zero_grad(set_to_none=True)
        predicted = model.forward_sequence(x.to(device))[:, -config.loss_span :]
        loss, seen = masked_mse(predicted, y.to(device))
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * seen
        count += seen
    return total / max(count, 1)


def train_sequence_replicate(
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
    """:func:`~hydroprobe.training.trainer.train_replicate`'s contract, trained sequence-to-sequence.

    ``train_days`` / ``validation_days`` are the splits' seq2one sample days (as the
    sequential engine receives them); they bound the days the loss may score.
    """
    began = time.perf_counter()
    train, validation = sequence_splits(series, train_days, validation_days, config)
    state = start_training(architecture, config, seed, device, resume)
    require(hasattr(state.model, "forward_sequence"), "train.mode",
            f"seq2seq needs a model with a sequence output ({architecture['type']} has none)")

    def epoch() -> tuple[float, float]:
        train_loss = _train_epoch(state, series, train, config, device)
        return train_loss, sequence_mse(state.model, series, validation, config.eval_batch_size, device)

    return run_epochs(state, epoch, config, checkpoint_name(seed), began, on_epoch, checkpoints)


def replicate_trainer(config: TrainConfig):
    """The sequential engine's replicate trainer for ``train.mode``: the reference (seq2one) or this one."""
    return train_sequence_replicate if config.mode == "seq2seq" else train_replicate
