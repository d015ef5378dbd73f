"""Many replicates of :func:`train_replicate` trained together in one stacked module.

The module is the model kind's stacked form (``ModelKind.stacked``: :class:`EnsembleLSTM`,
:class:`~hydroprobe.models.ensemble_mclstm.EnsembleMCLSTM`), trained seq2one or, where the kind
stacks it, seq2seq: the epochs are :mod:`hydroprobe.training.ensemble_seq2one` and
:mod:`hydroprobe.training.ensemble_sequence`; this module keeps the groups, their bookkeeping,
checkpoints and shrinking.

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

With ``checkpoints`` the group's whole state is saved at epoch boundaries (at
most every ``train.checkpoint_minutes``) and a rerun resumes from it with
exactly the replicates that were active then, so the resumed run's numbers
equal an uninterrupted run's bit for bit (see :mod:`hydroprobe.training.checkpoint`).

On CUDA (``train.cuda_graph``, default ``auto``) the LSTM's seq2one step (``ModelKind.launch_free``)
is the static-shape step of :mod:`hydroprobe.training.static_step` replayed as a captured graph
(:mod:`hydroprobe.training.graph_step`): finished replicates are frozen in place rather than
sliced out, and a checkpoint saves only the active ones (a resumed graph run then agrees with an
uninterrupted one to float rounding). The CPU path is the eager one above, unchanged.
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
from hydroprobe.models.kinds import kind_of
from hydroprobe.training import ensemble_seq2one, ensemble_sequence
from hydroprobe.training.checkpoint import Checkpoints, generator_state, restore_generator, seeds_label
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.device import resolve_cuda_graph, resolve_recurrence
from hydroprobe.training.graph_step import StaticTrainer
from hydroprobe.training.sequence import SequenceSplit, sequence_splits
from hydroprobe.training.trainer import ReplicateResult, init_model

EnsembleEpochCallback = Callable[[int, int, float, float], None]  # seed, epoch, train, validation
StartCallback = Callable[[int, int], None]  # seed, epochs already trained (> 0: resumed from a checkpoint)
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


@dataclass
class _Group:
    """Replicates trained together: stacked weights, one Adam, and how many epochs are done."""

    model: torch.nn.Module  # the kind's stacked module
    optimizer: torch.optim.Adam
    active: list[_Replicate]
    epoch: int = 0
    runner: StaticTrainer | None = None  # the static (graph) step; None = the eager step


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
    checkpoints: Checkpoints | None = None,
    on_start: StartCallback | None = None,
    static_step: bool = False,
    sequence: SequenceEpoch | None = None,
) -> Iterator[ReplicateResult]:
    """Yield each seed's :class:`ReplicateResult` as soon as it finishes (groups of ``max_group``).

    ``compile_cell`` (GPU lever, not timed anywhere yet) swaps the
    hand-written backward for autograd over a ``torch.compile``-fused LSTM step.
    ``ReplicateResult.seconds`` is the replicate's share of the wall time:
    each epoch's time divided by the replicates active in it. ``on_start``
    hears each seed when its group starts, with the epochs a checkpoint already
    holds. Groups with a checkpoint run first, with exactly the replicates that
    were active when it was saved (a seed among them that is not in ``seeds``
    is trained, so the others keep their numbers, but neither reported nor yielded).
    ``static_step`` runs the graph path's static step eagerly (tests; CUDA graphs follow
    ``config.cuda_graph`` and are never combined with ``compile_cell``).
    ``sequence`` (seq2seq): the training windows and the validation criterion; default, the
    split's random windows and the tiled validation MSE (:func:`sequence_epoch`). A basin group
    passes its own: windows over many basins, NSE* weights, the median validation NSE.
    """
    kind = kind_of(architecture["type"])
    if config.mode not in kind.stacked_modes:
        raise ValueError(f"train_ensemble stacks '{kind.name}' replicates in train.mode "
                         f"{kind.stacked_modes or 'none'}, not {config.mode}")
    launch_free = kind.launch_free_in(config.mode)
    if (compile_cell or static_step) and not launch_free:
        raise ValueError(f"compile_cell and static_step are the LSTM's seq2one levers, not '{kind.name}''s")
    graph = launch_free and resolve_cuda_graph(config.cuda_graph, device) and not compile_cell
    static = "graph" if graph else "eager" if static_step else None
    options = _Options(config, device, compile_cell, checkpoints, set(seeds), on_epoch, on_start, static)
    if config.mode == "seq2seq":
        options.sequence = sequence or sequence_epoch(series, train_days, validation_days, config, device)
    for group_seeds, saved in _plan_groups(seeds, max_group, checkpoints):
        yield from _train_group(
            architecture, series, train_days, validation_days, group_seeds, saved, options
        )


@dataclass
class SequenceEpoch:
    """What a seq2seq epoch trains on and how it validates each stacked replicate (lower is better)."""

    training: SequenceSplit  # or any object with its ends, loss_span, batch() and weights()
    validate: Callable[[torch.nn.Module], list[float]]


def sequence_epoch(series: WindowedSeries, train_days: np.ndarray, validation_days: np.ndarray,
                   config: TrainConfig, device: torch.device) -> SequenceEpoch:
    """One basin's seq2seq epoch: random training windows, the tiled validation windows' MSE."""
    training, tiles = sequence_splits(series, train_days, validation_days, config)

    def validate(model: torch.nn.Module) -> list[float]:
        return ensemble_sequence.validation_mse(model, series, tiles, config.eval_batch_size, device)

    return SequenceEpoch(training, validate)


@dataclass
class _Options:
    """What every group of one :func:`train_ensemble` call shares."""

    config: TrainConfig
    device: torch.device
    compile_cell: bool
    checkpoints: Checkpoints | None
    wanted: set[int]
    on_epoch: EnsembleEpochCallback | None
    on_start: StartCallback | None
    static: str | None = None  # None: eager engine; "eager" / "graph": the static step, captured or not
    sequence: SequenceEpoch | None = None  # seq2seq: training windows and validation


def _plan_groups(
    seeds: Sequence[int], max_group: int, checkpoints: Checkpoints | None
) -> list[tuple[list[int], dict | None]]:
    """Checkpointed groups holding a wanted seed first, then the other seeds in groups of ``max_group``."""
    remaining = list(seeds)
    plan: list[tuple[list[int], dict | None]] = []
    for _, state in checkpoints.find("ensemble_") if checkpoints else []:
        active = [r["seed"] for r in state["replicates"]]
        if set(active) & set(remaining):
            plan.append((list(state["group"]), state))
            remaining = [s for s in remaining if s not in active]
    plan += [(remaining[i : i + max_group], None) for i in range(0, len(remaining), max_group)]
    return plan


def _train_group(
    architecture, series, train_days, validation_days, seeds, saved, options: _Options
) -> Iterator[ReplicateResult]:
    config, checkpoints = options.config, options.checkpoints
    name = f"ensemble_{seeds_label(seeds)}"
    if saved is None:
        group = _fresh_group(architecture, config, seeds, options.device, options.compile_cell)
    else:
        group = _resumed_group(architecture, config, saved, options.device, options.compile_cell)
    if options.static:
        group.runner = StaticTrainer(group.model, group.optimizer, series, config, options.device,
                                     options.static == "graph", int(train_days[0]))
    for replicate in group.active:
        if options.on_start and replicate.seed in options.wanted:
            options.on_start(replicate.seed, group.epoch)
    if checkpoints:
        checkpoints.start(name)
    train_index = torch.as_tensor(train_days)
    for epoch in range(group.epoch + 1, config.max_epochs + 1):
        yield from _group_epoch(group, series, train_index, validation_days, epoch, options)
        if not group.active:
            break
        if checkpoints and checkpoints.due(name):
            checkpoints.save(name, _checkpoint_state(group, seeds))
    if checkpoints:  # every finished replicate was taken (and cached) before the generator got here
        checkpoints.delete(name)


def _group_epoch(group: _Group, series, train_index, validation_days, epoch: int, options: _Options):
    """Train and validate one epoch; yield the replicates that finished; drop them from the group."""
    config, model = options.config, group.model
    began = time.perf_counter()
    device, runner = options.device, group.runner
    if options.sequence:
        generators = [replicate.generator for replicate in group.active]
        train_loss = ensemble_sequence.train_epoch(model, group.optimizer, series, options.sequence.training,
                                                   generators, config, device)
        validation = options.sequence.validate(model)
    elif runner is None:
        generators = [replicate.generator for replicate in group.active]
        train_loss = ensemble_seq2one.train_epoch(model, group.optimizer, series, train_index, generators,
                                                  config, device)
        validation = ensemble_seq2one.validation_mse(model, series, validation_days, config.eval_batch_size,
                                                     device)
    else:
        train_loss = runner.train_epoch(train_index, group.active)
        validation = runner.validation_mse(validation_days, config.eval_batch_size)
    rows = runner.rows if runner else list(range(len(group.active)))
    share = (time.perf_counter() - began) / len(group.active)
    for r, replicate in enumerate(group.active):
        _record_epoch(replicate, model, rows[r], epoch, train_loss[r], validation[r], share, config)
        if options.on_epoch and replicate.seed in options.wanted:
            options.on_epoch(replicate.seed, epoch, train_loss[r], validation[r])
    group.epoch = epoch
    for replicate in group.active:
        replicate.finished = replicate.finished or epoch == config.max_epochs
        if replicate.finished and replicate.seed in options.wanted:
            replicate.result.state_dict = replicate.best_state
            yield replicate.result
    keep = [r for r, replicate in enumerate(group.active) if not replicate.finished]
    if keep and len(keep) < len(group.active) and runner:
        runner.keep(keep)  # frozen in place: the captured shapes stay
    elif keep and len(keep) < len(group.active):
        group.model, group.optimizer = shrink(model, group.optimizer, keep, config.learning_rate)
    group.active = [group.active[r] for r in keep]


def _fresh_group(architecture, config: TrainConfig, seeds, device, compile_cell: bool) -> _Group:
    model = _stack(architecture, config, seeds, device, compile_cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    active = [
        _Replicate(s, torch.Generator().manual_seed(s), ReplicateResult(seed=s, state_dict={}), {})
        for s in seeds
    ]
    for r, replicate in enumerate(active):
        replicate.best_state = model.replicate_state_dict(r)
    return _Group(model, optimizer, active)


def _stack(architecture: dict, config: TrainConfig, seeds, device, compile_cell: bool) -> torch.nn.Module:
    """The kind's stacked module holding ``init_model(architecture, seed)`` for each seed, on ``device``."""
    kind = kind_of(architecture["type"])
    models = [init_model(architecture, s) for s in seeds]
    if not kind.launch_free_in(config.mode):
        return kind.stacked_class(config.mode).from_models(models).to(device)
    recurrence = "autograd" if compile_cell else resolve_recurrence(config.recurrence, device)
    model = EnsembleLSTM.from_models(models, recurrence)
    if compile_cell:
        model.cell = torch.compile(lstm_cell, dynamic=False)
    return model.to(device)


def _checkpoint_state(group: _Group, seeds: Sequence[int]) -> dict:
    """Everything the rest of the group's training depends on, in ``weights_only`` types."""
    model, optimizer = group.model, group.optimizer
    if group.runner and group.runner.rows != list(range(model.replicates)):  # only the active rows
        model, optimizer = shrink(model, optimizer, group.runner.rows, optimizer.param_groups[0]["lr"])
    replicates = [
        {
            "seed": rep.seed,
            "generator": generator_state(rep.generator),
            "train_loss": list(rep.result.train_loss),
            "validation_loss": list(rep.result.validation_loss),
            "best_epoch": rep.result.best_epoch,
            "seconds": rep.result.seconds,
            "best_state": rep.best_state,
            "best_loss": rep.best_loss,
            "since_best": rep.since_best,
        }
        for rep in group.active
    ]
    return {
        "group": list(seeds),
        "epoch": group.epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "replicates": replicates,
    }


def _resumed_group(architecture, config: TrainConfig, saved: dict, device, compile_cell: bool) -> _Group:
    """The group exactly as :func:`_checkpoint_state` saved it."""
    saved_replicates = saved["replicates"]
    model = _stack(architecture, config, [rep["seed"] for rep in saved_replicates], device, compile_cell)
    model.load_state_dict(saved["model"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    optimizer.load_state_dict(saved["optimizer"])
    active = []
    for rep in saved_replicates:
        result = ReplicateResult(
            seed=rep["seed"], state_dict={}, train_loss=list(rep["train_loss"]),
            validation_loss=list(rep["validation_loss"]), best_epoch=rep["best_epoch"],
            seconds=rep["seconds"],
        )
        generator = restore_generator(rep["generator"])
        active.append(_Replicate(rep["seed"], generator, result, rep["best_state"], rep["best_loss"],
                                 rep["since_best"]))
    return _Group(model, optimizer, active, saved["epoch"])


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


def shrink(model: torch.nn.Module, optimizer: torch.optim.Adam, keep: list[int], learning_rate: float):
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
