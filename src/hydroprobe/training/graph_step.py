"""A launch-free ensemble step on CUDA: the static step of :mod:`static_step`, captured once, replayed.

Why a hand-made ``torch.cuda.CUDAGraph`` and not ``torch.compile(mode="reduce-overhead")``: the
step is a 365-iteration Python loop around a custom autograd Function with a hand-written BPTT
(:class:`~hydroprobe.models.ensemble_recurrence.FusedRecurrence`) that writes into reused
buffers; dynamo would unroll and trace thousands of ops (minutes of compilation per shape) or
break the graph at the Function, and every graph break is a launch again. The step as written
has static shapes and never asks the host for a value, so capturing it as it is records all
its kernels (~8 000 per step at T = 365) and one ``replay()`` launches them.

:class:`StaticTrainer` trains one group of stacked replicates an epoch at a time. With
``capture=False`` it runs the very same step eagerly, which is how the CPU tests check it
(padding, freezing, equality with the eager engine). Per epoch the host uploads the epoch's
day indices and weights once, copies each batch's slice into the static buffers (device to
device), replays, and reads all losses back in one transfer at the end. Validation is
captured as well (shared windows, the last batch padded). Capture happens on the first step:
a few warm-up steps on a side stream (cuBLAS set-up, Adam state), then the weights, Adam
state and step count are put back, so capturing never changes the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hydroprobe.data.windows import WindowedSeries
from hydroprobe.models.ensemble_lstm import EnsembleLSTM
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.static_step import (
    DeviceWindows,
    Freezer,
    StepBuffers,
    masked_step,
    padded_columns,
    prepare_adam,
    training_plan,
)

WARMUP_STEPS = 3  # the recipe of torch's CUDA-graph notes: warm up on a side stream before capture


class StaticTrainer:
    """A group's stacked replicates trained with the static step; as CUDA graphs when ``capture``."""

    def __init__(
        self,
        model: EnsembleLSTM,
        optimizer: torch.optim.Adam,
        series: WindowedSeries,
        config: TrainConfig,
        device: torch.device,
        capture: bool,
        first_day: int,
    ) -> None:
        self.model, self.optimizer, self.series = model, optimizer, series
        self.grad_clip, self.batch_size, self.device = config.grad_clip, config.batch_size, device
        self.capture = capture
        self.windows = DeviceWindows(series, device)
        self.rows = list(range(model.replicates))  # the model row of each active replicate
        self.buffers = StepBuffers.allocate(model.replicates, config.batch_size, first_day, device)
        prepare_adam(optimizer, capturable=capture)
        self.freezer = Freezer(model, optimizer)
        self.first_day = first_day
        self._train_graph: torch.cuda.CUDAGraph | None = None
        self._losses: torch.Tensor | None = None
        self._predictors: dict[int, tuple] = {}  # eval batch size → (graph, days buffer, output)

    def keep(self, keep: Sequence[int]) -> None:
        """Only the active replicates at positions ``keep`` go on training; the others are frozen."""
        self.rows = [self.rows[k] for k in keep]
        active = torch.zeros(self.model.replicates, dtype=torch.bool)
        active[self.rows] = True
        self.buffers.active.copy_(active)

    def step(self) -> torch.Tensor:
        """One step from the buffers: replayed when captured, else eager. Losses ``(R,)``."""
        if not self.capture:
            return self._eager_step()
        if self._train_graph is None:
            self._train_graph, self._losses = self._capture(self._eager_step, restore=True)
        self._train_graph.replay()
        return self._losses

    def _eager_step(self) -> torch.Tensor:
        return masked_step(
            self.model, self.optimizer, self.windows, self.buffers, self.grad_clip, self.freezer
        )

    def train_epoch(self, train_index: torch.Tensor, active) -> list[float]:
        """One epoch, each active replicate on its own permutation; mean training MSE per active replicate.

        The permutations are drawn exactly as the eager engine draws them, and the per-batch
        losses are summed on the host in float64 in the same order, so only the device
        arithmetic differs.
        """
        self.model.train()
        orders = torch.stack(
            [train_index[torch.randperm(len(train_index), generator=rep.generator)] for rep in active]
        )
        days, weight, counts = training_plan(orders, self.rows, self.model.replicates, self.batch_size)
        days, weight = days.to(self.device), weight.to(self.device)
        losses = torch.empty(len(counts), self.model.replicates, device=self.device)
        width = self.batch_size
        for b in range(len(counts)):
            self.buffers.days.copy_(days[:, b * width : (b + 1) * width])
            self.buffers.weight.copy_(weight[b])
            losses[b].copy_(self.step())
        values = losses[:, self.rows].cpu().tolist()  # the epoch's one wait for the device
        totals = [0.0] * len(self.rows)
        for batch_values, count in zip(values, counts, strict=True):
            for r, value in enumerate(batch_values):
                totals[r] += value * count
        return [total / orders.shape[1] for total in totals]

    @torch.no_grad()
    def validation_mse(self, days: np.ndarray, batch_size: int) -> list[float]:
        """Per active replicate MSE on shared windows, as ``ensemble_seq2one.validation_mse`` computes it."""
        self.model.eval()
        width = min(batch_size, len(days))
        columns, counts = padded_columns(len(days), width)
        padded = torch.as_tensor(days)[columns].to(self.device)
        out = torch.empty(self.model.replicates, len(columns), device=self.device)
        for b in range(len(counts)):
            out[:, b * width : (b + 1) * width].copy_(self._predict(padded[b * width : (b + 1) * width]))
        predicted = out[self.rows, : len(days)].float().cpu().numpy()
        observed = self.series.target[torch.as_tensor(days)].numpy()
        return [float(np.mean((row - observed) ** 2)) for row in predicted]

    def _predict(self, days: torch.Tensor) -> torch.Tensor:
        """Every replicate's prediction ``(R, E)`` for the shared windows ending on ``days`` ``(E,)``."""
        if not self.capture:
            return self.model(self.windows.windows(days))
        width = days.shape[0]
        if width not in self._predictors:
            buffer = torch.full((width,), self.first_day, dtype=torch.int64, device=self.device)
            graph, output = self._capture(lambda: self.model(self.windows.windows(buffer)), restore=False)
            self._predictors[width] = (graph, buffer, output)
        graph, buffer, output = self._predictors[width]
        buffer.copy_(days)
        graph.replay()
        return output

    def _capture(self, function, restore: bool):
        """Warm ``function`` up on a side stream, capture it; put the training state back if ``restore``."""
        saved = self._training_state() if restore else None
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                function()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            output = function()
        if saved is not None:
            with torch.no_grad():
                for live, copy in saved:
                    live.copy_(copy)
        return graph, output

    def _training_state(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(tensor, copy) of every weight and Adam state tensor, step counts included."""
        tensors = []
        for parameter in self.model.parameters():
            tensors.append(parameter)
            tensors.extend(self.optimizer.state[parameter].values())
        return [(t, t.detach().clone()) for t in tensors]
