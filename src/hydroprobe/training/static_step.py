"""The ensemble engine's training step with static shapes, so that a CUDA graph can capture it.

Why: on a GPU the eager step over a 365-day window is bound by kernel launches, not
arithmetic (~0.5 s per cut epoch whether 1 or 16 replicates train; benchmarks/RESULTS.md).
A captured graph replays every kernel of a step with one launch, but only if nothing in the
step changes shape or waits for the host. So, here:

* every batch has the same size: the last, short batch is padded with repeats of its own
  days whose samples weigh 0 (a replicate's loss is ``sum(weight * error²)`` with weight
  ``1/n`` on its ``n`` real samples, i.e. their mean, so the padding adds exactly 0 to the
  loss and to every gradient);
* the replicate set never changes: a finished (early-stopped) replicate stays in the stacked
  weights, frozen: its weights and Adam moments are put back after every update
  (:class:`Freezer`) instead of being sliced out, which would change shapes;
* windows are gathered on the device from day indices held in static buffers.

:func:`masked_step` is that step. It runs eagerly too (CPU, tests), and
:mod:`hydroprobe.training.graph_step` captures it on CUDA. The CPU default path of
:mod:`hydroprobe.training.ensemble` does not use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hydroprobe.data.windows import WindowedSeries


class DeviceWindows:
    """The normalised series on the training device; windows are gathered there, not on the host."""

    def __init__(self, series: WindowedSeries, device: torch.device) -> None:
        self.inputs = series.inputs.to(device)
        self.target = series.target.to(device)
        self.offsets = torch.arange(-series.window + 1, 1, device=device)

    def windows(self, days: torch.Tensor) -> torch.Tensor:
        """``days`` of any shape ``S`` → input windows ``(*S, T, I)``."""
        return self.inputs[days.unsqueeze(-1) + self.offsets]

    def batch(self, days: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.windows(days), self.target[days]


@dataclass
class StepBuffers:
    """The step's inputs at fixed addresses: what a captured graph reads on every replay."""

    days: torch.Tensor  # (R, B) int64: sample days of each replicate's batch (padding repeats days)
    weight: torch.Tensor  # (R, B) float32: 1/n on a replicate's n real samples, 0 on padding
    active: torch.Tensor  # (R,) bool: False = frozen (finished) replicate

    @classmethod
    def allocate(cls, replicates: int, batch: int, first_day: int, device: torch.device) -> StepBuffers:
        """Buffers holding a valid day everywhere, so a warm-up before the first batch indexes safely."""
        return cls(
            torch.full((replicates, batch), first_day, dtype=torch.int64, device=device),
            torch.zeros(replicates, batch, device=device),
            torch.ones(replicates, dtype=torch.bool, device=device),
        )


def prepare_adam(optimizer: torch.optim.Adam, capturable: bool) -> None:
    """Create Adam's state now (zeros, step 0, as its first step would) so it has fixed addresses.

    ``capturable`` keeps the step count on the device (required inside a CUDA graph);
    otherwise it stays a CPU scalar, exactly as the eager engine's Adam keeps it.
    """
    for group in optimizer.param_groups:
        group["capturable"] = capturable
        for parameter in group["params"]:
            state = optimizer.state[parameter]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
            where = parameter.device if capturable else torch.device("cpu")
            state["step"] = state["step"].to(device=where, dtype=torch.float32)


class Freezer:
    """Copies of every replicate's weights and Adam moments taken before an update.

    :meth:`restore` puts the copies back for frozen replicates (``torch.where``: the active
    replicates' values are untouched bit for bit). Adam's step count is one scalar per
    tensor, shared by all replicates; a frozen replicate never trains again, so its count is moot.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Adam) -> None:
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        for parameter in model.parameters():
            state = optimizer.state[parameter]
            for live in (parameter, state["exp_avg"], state["exp_avg_sq"]):
                self.pairs.append((live, torch.empty_like(live)))

    @torch.no_grad()
    def save(self) -> None:
        for live, saved in self.pairs:
            saved.copy_(live)

    @torch.no_grad()
    def restore(self, active: torch.Tensor) -> None:
        for live, saved in self.pairs:
            mask = active.view(-1, *([1] * (live.dim() - 1)))
            live.copy_(torch.where(mask, live, saved))


def clip_grad_norm_per_replicate_(parameters, max_norm: float) -> torch.Tensor:
    """``clip_grad_norm_`` applied to each replicate (leading dimension) separately; returns the norms."""
    grads = [p.grad for p in parameters if p.grad is not None]
    per_tensor = torch.stack([g.reshape(g.shape[0], -1).norm(dim=1) for g in grads])
    total = per_tensor.norm(dim=0)
    coefficient = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coefficient.view(-1, *([1] * (g.dim() - 1))))
    return total


def masked_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Adam,
    windows: DeviceWindows,
    buffers: StepBuffers,
    grad_clip: float,
    freezer: Freezer,
) -> torch.Tensor:
    """One training step of every replicate from the buffers; each replicate's weighted MSE ``(R,)``.

    Nothing here synchronises with the host or depends on values, so a CUDA graph can capture it.
    The gradients are left unset on entry (``set_to_none``): the backward creates them, which
    inside a capture puts them in the graph's memory.
    """
    optimizer.zero_grad(set_to_none=True)
    x, y = windows.batch(buffers.days)
    losses = ((model(x) - y) ** 2 * buffers.weight).sum(dim=1)
    losses.sum().backward()
    if grad_clip > 0:
        clip_grad_norm_per_replicate_(model.parameters(), grad_clip)
    freezer.save()
    optimizer.step()
    freezer.restore(buffers.active)
    return losses.detach()


def padded_columns(samples: int, batch: int) -> tuple[torch.Tensor, list[int]]:
    """Column order of an epoch cut in batches of ``batch``, the last one padded; real samples per batch.

    The real samples keep their order and come first (columns ``0 … samples − 1``); the last
    batch's padding repeats that batch's own samples, so every index is a valid day.
    """
    columns, counts = [], []
    for start in range(0, samples, batch):
        count = min(batch, samples - start)
        columns.append(torch.arange(start, start + count))
        if count < batch:
            columns.append(start + torch.arange(batch - count) % count)
        counts.append(count)
    return torch.cat(columns), counts


def training_plan(
    orders: torch.Tensor, rows: list[int], replicates: int, batch: int
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """An epoch's static batches: days ``(R, n·B)``, weights ``(n, R, B)``, real samples per batch.

    ``orders`` ``(A, N)`` holds each active replicate's shuffled days; ``rows`` says which model
    row each active replicate is. Frozen rows get the first active replicate's days and weight 0.
    """
    columns, counts = padded_columns(orders.shape[1], batch)
    active_days = orders[:, columns]
    days = active_days[:1].expand(replicates, -1).clone()
    days[rows] = active_days
    weight = torch.zeros(len(counts), replicates, batch)
    for b, count in enumerate(counts):
        weight[b, rows, :count] = 1.0 / count
    return days, weight, counts
