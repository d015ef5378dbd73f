"""Typed ``model`` and ``train`` sections of params.yaml, with range checks naming the key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hydroprobe.config import require
from hydroprobe.models.kinds import KINDS, ModelKind, kind_of
from hydroprobe.training.device import CUDA_GRAPH_MODES, RECURRENCE_KERNELS, resolve_device
from hydroprobe.training.fingerprint import (
    RuntimeEnvironment,
    engine_label,
    resolve_engine,
    runtime_environment,
)

if TYPE_CHECKING:
    import torch

    from hydroprobe.data.dataset import BasinDataset

SELECTION_RULES = ("validation_nse",)
ENGINES = ("auto", "sequential", "ensemble")
#: seq2one: the paper's samples (a window predicts its last day); seq2seq: a window predicts every
#: day and the loss scores its last ``loss_span`` days (:mod:`hydroprobe.training.sequence`).
MODES = ("seq2one", "seq2seq")
#: Keys that only the seq2seq mode reads; left out of the recipe hash in seq2one, so adding them
#: kept every seq2one cache key (and cached replicate) as it was.
SEQ2SEQ_KEYS = ("mode", "loss_span", "windows_per_epoch")


@dataclass(frozen=True)
class ModelConfig:
    """``model.*``: which network and its size (``gr4jcn``: the conceptual model, see ``calibration``)."""

    type: str = "lstm"
    hidden_size: int = 50
    initial_forget_bias: float | None = None  # LSTM only; None = PyTorch's init (the paper)
    standardize: bool = False  # z-score inside the network (models/standardization.py); False = the paper

    def __post_init__(self) -> None:
        require(self.type in KINDS, "model.type", f"must be one of {tuple(KINDS)} (got {self.type!r})")
        smallest = self.kind.smallest_hidden
        require(
            self.hidden_size >= smallest,
            "model.hidden_size",
            f"must be >= {smallest} for {self.type} (got {self.hidden_size})",
        )

    @property
    def kind(self) -> ModelKind:
        """This model's entry in the model-kind table (how it is fit, logged, probed)."""
        return kind_of(self.type)

    def architecture(self, dataset: BasinDataset | None = None, n_inputs: int = 2) -> dict:
        """The ``build_model`` dict: type, inputs and size plus the kind's own entries."""
        architecture = {"type": self.type, "n_inputs": n_inputs, "hidden_size": self.hidden_size}
        return {**architecture, **self.kind.architecture_extras(dataset, dataclasses.asdict(self))}


@dataclass(frozen=True)
class TrainConfig:
    """``train.*``: the paper's protocol (§2.3) plus the CPU/GPU levers.

    ``grad_clip`` > 0 clips the gradient norm (neuralhydrology uses 1); the
    paper did not clip, which is ``grad_clip: 0``. ``checkpoint_minutes`` > 0
    saves the unfinished replicates at an epoch boundary at most that often, so
    a killed run resumes where it was (0 = off); it never changes a result.
    ``cuda_graph`` (``auto`` | ``on`` | ``off``) replays the ensemble engine's step as a
    captured CUDA graph (:mod:`hydroprobe.training.graph_step`); ``auto`` = on CUDA only.
    ``recurrence`` (``torch`` | ``triton``) picks the kernel of that engine's LSTM recurrence
    (:func:`hydroprobe.training.device.resolve_recurrence`).
    ``mode`` seq2seq trains on ``windows_per_epoch`` random windows a epoch, each scored on
    its last ``loss_span`` days (:mod:`hydroprobe.training.sequence`); evaluation stays seq2one.
    ``min_updates`` > 0 raises the epoch budget until it allows that many parameter updates
    (:func:`epoch_budget`); 0 = ``max_epochs`` alone, as before the option.
    """

    window: int = 365
    batch_size: int = 256
    learning_rate: float = 1e-3
    max_epochs: int = 100
    patience: int = 30
    replicates: int = 1
    seed: int = 0
    grad_clip: float = 1.0
    selection: str = "validation_nse"
    engine: str = "auto"
    device: str = "auto"
    threads: int = 0
    eval_batch_size: int = 2048
    checkpoint_minutes: float = 2.0
    cuda_graph: str = "auto"
    recurrence: str = "torch"
    mode: str = "seq2one"
    loss_span: int = 365
    windows_per_epoch: int = 1280
    min_updates: int = 0

    def __post_init__(self) -> None:
        require(self.window >= 1, "train.window", f"must be >= 1 (got {self.window})")
        require(self.batch_size >= 1, "train.batch_size", f"must be >= 1 (got {self.batch_size})")
        require(self.learning_rate > 0, "train.learning_rate", "must be > 0")
        require(self.max_epochs >= 1, "train.max_epochs", f"must be >= 1 (got {self.max_epochs})")
        require(self.patience >= 1, "train.patience", f"must be >= 1 (got {self.patience})")
        require(self.replicates >= 1, "train.replicates", f"must be >= 1 (got {self.replicates})")
        require(self.grad_clip >= 0, "train.grad_clip", "must be >= 0 (0 disables clipping)")
        require(self.selection in SELECTION_RULES, "train.selection", f"must be one of {SELECTION_RULES}")
        require(self.engine in ENGINES, "train.engine", f"must be one of {ENGINES}")
        require(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps"),
            "train.device",
            "must be auto, cpu, cuda or cuda:N",
        )
        require(self.threads >= 0, "train.threads", "must be >= 0 (0 = torch default)")
        require(self.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1")
        require(self.checkpoint_minutes >= 0, "train.checkpoint_minutes", "must be >= 0 (0 = off)")
        require(self.cuda_graph in CUDA_GRAPH_MODES, "train.cuda_graph",
                f"must be one of {CUDA_GRAPH_MODES} (got {self.cuda_graph!r})")
        require(self.recurrence in RECURRENCE_KERNELS, "train.recurrence",
                f"must be one of {RECURRENCE_KERNELS} (got {self.recurrence!r})")
        require(self.mode in MODES, "train.mode", f"must be one of {MODES} (got {self.mode!r})")
        require(self.loss_span >= 1, "train.loss_span", f"must be >= 1 (got {self.loss_span})")
        require(self.windows_per_epoch >= 1, "train.windows_per_epoch",
                f"must be >= 1 (got {self.windows_per_epoch})")
        require(self.min_updates >= 0, "train.min_updates", f"must be >= 0 (0 = off; got {self.min_updates})")
        if self.mode == "seq2seq":
            require(self.loss_span <= self.window, "train.loss_span",
                    f"must be <= train.window in seq2seq (got {self.loss_span} > {self.window})")

    def resolved_engine(self, model_type: str, device: torch.device | None = None) -> str:
        """``train.engine`` with ``auto`` resolved for this kind, mode, replicate count and device."""
        return resolve_engine(self.engine, model_type, self.replicates, device, self.mode)

    def seeds(self) -> list[int]:
        """Replicate k uses seed ``seed + k``."""
        return [self.seed + k for k in range(self.replicates)]

    def budgeted(self, training_samples: int) -> TrainConfig:
        """This recipe with its budget resolved for a record: ``max_epochs`` = :func:`epoch_budget`.

        ``min_updates`` is folded in (0), so every engine, which counts only epochs, trains the
        resolved budget, and the recipe hash equals that of the same epochs asked for directly:
        where ``max_epochs`` already gives enough updates, cached replicates stay valid.
        """
        return dataclasses.replace(self, max_epochs=epoch_budget(self, training_samples), min_updates=0)


def updates_per_epoch(config: TrainConfig, training_samples: int) -> int:
    """Parameter updates in one epoch: one per batch of the epoch's samples, the last batch partial.

    seq2one passes once over the ``training_samples``; seq2seq draws ``windows_per_epoch``
    windows whatever the record's length (:mod:`hydroprobe.training.sequence`).
    """
    drawn = config.windows_per_epoch if config.mode == "seq2seq" else training_samples
    return max(1, math.ceil(drawn / config.batch_size))


def epoch_budget(config: TrainConfig, training_samples: int) -> int:
    """Epochs a run may train: ``max_epochs``, raised until they hold ``min_updates`` updates.

    Why: an epoch is one pass over the record, so a fixed epoch count gives a short record
    few updates (a 12-year basin ~500 in 30 epochs, Salmon's 30 years ~1,300) and its LSTM
    stopped at the budget, still improving. What a network learns follows the updates it
    made, so the budget is counted in updates and early stopping still decides when to
    stop; ``max_epochs`` stays the budget where it already holds ``min_updates`` updates.
    """
    if config.min_updates == 0:
        return config.max_epochs
    needed = math.ceil(config.min_updates / updates_per_epoch(config, training_samples))
    return max(config.max_epochs, needed)


def config_hash(
    model: ModelConfig,
    train: TrainConfig,
    data_fingerprint: str,
    environment: RuntimeEnvironment | None = None,
    group_size: int = 0,
) -> str:
    """Identity of a replicate's recipe, so finished replicates can be reused after a crash.

    Knobs that do not change a replicate's result (how many replicates, the first
    seed, the evaluation batch size, the device *name*) are left out; what does
    change it besides params and data (the training code, the resolved engine, the
    torch build, the kind of device and processor, the thread count: see
    :mod:`hydroprobe.training.fingerprint`) is in, so replicates trained by other
    code or on another kind of machine are never passed off as this run's. ``cuda_graph`` and
    ``recurrence`` are left out of the recipe: they change numbers only on CUDA (another float
    order), and there the resolved choices enter through the environment's engine
    (``ensemble+cuda_graph+triton``), so the CPU key is the same whatever they say. ``group_size``
    (``execution.replicates_per_task``) enters only when set, so the default key is unchanged.
    """
    if environment is None:
        device = resolve_device(train.device)
        engine = engine_label(train.resolved_engine(model.type, device), train, device, model.type)
        environment = runtime_environment(device, engine, model.type)
    recipe = dataclasses.asdict(train)
    for key in ("replicates", "seed", "threads", "eval_batch_size", "device", "engine",
                "checkpoint_minutes", "cuda_graph", "recurrence"):
        recipe.pop(key)
    if train.mode == "seq2one":
        for key in SEQ2SEQ_KEYS:
            recipe.pop(key)
    if not train.min_updates:  # off (or folded in by TrainConfig.budgeted): keys as before the option
        recipe.pop("min_updates")
    model_recipe = dataclasses.asdict(model)
    if not model.standardize:  # off = the LSTM as before the option: its cache keys unchanged
        model_recipe.pop("standardize")
    content = {"model": model_recipe, "train": recipe, "data": data_fingerprint,
               "environment": environment.cache_key()}
    if group_size:
        content["group_size"] = group_size
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
