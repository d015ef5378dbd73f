"""The model-kind table: everything the pipeline needs to know about a kind of model, in one place.

hydroprobe compares a bench of peer models. Every stage — train, register,
probe, compare — asks this table what it needs (how the kind is fit, how it is
logged and rebuilt, whether it conserves mass, what its loss term is called)
instead of testing a type string. Adding a model kind is one model file, one
entry in :data:`KINDS` and one params block (``models.<key>.model.type``).

The table is declarative on purpose: it names the kind's own source modules
(so the training fingerprint of one kind never moves when another is edited)
and points at factories in the kind's own module, imported only when used,
so loading a model for a probe never imports a calibration engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from torch import nn

    from hydroprobe.data.dataset import BasinDataset
    from hydroprobe.data.regional import RegionalData
    from hydroprobe.models.simulator import DischargeSimulator

#: How a kind is fit: gradient training of replicates (``hydroprobe.training.replicates``) or a
#: calibration search over a conceptual model's parameters (``hydroprobe.training.calibration``).
Fit = Literal["gradient", "calibration"]
#: How a kind is logged to the registry: an MLflow pytorch model exported as a pt2 graph, the same
#: pickled (for a network whose day loop torch.export would unroll into a huge graph), or its JSON
#: spec and parameter file. Every kind also stores its weights-only spec files, which is what
#: hydroprobe itself loads.
Logged = Literal["pytorch", "pytorch_pickle", "spec"]
#: What the water a model does not return is booked as: nothing (an LSTM: it is all residual),
#: an explicit loss output (the MC-LSTM's trash cell) or evapotranspiration (a conceptual model).
LossTerm = Literal["none", "trash", "ET"]


@dataclass(frozen=True)
class ModelKind:
    """One kind of model and the facts about it that the stages act on.

    ``network`` is ``"module:Class"`` of the torch module (``None`` for a
    conceptual model). ``extras`` is ``"module:function"`` returning the
    architecture entries beyond type, inputs and hidden size (called with the
    dataset and the ``model`` params block). ``simulator`` is ``"module:function"``
    turning a stored spec and weights into a :class:`DischargeSimulator`.
    ``sources`` are the kind's own modules (relative to the package) whose code
    decides its fitted numbers. ``scope`` says whether it is trained on one
    basin or over a basin group (``hydroprobe group train``).
    """

    name: str
    label: str
    conserving: bool
    loss_term: LossTerm
    fit: Fit
    logged_as: Logged
    simulator: str
    sources: tuple[str, ...]
    network: str | None = None
    extras: str | None = None
    smallest_hidden: int = 1
    #: train.mode → "module:Class" holding R replicates at once (the ensemble engine)
    stacked: dict[str, str] = field(default_factory=dict)
    cuda_stack_from: int = 1  # on CUDA, fewer replicates train faster one by one (cuDNN's nn.LSTM)
    launch_free: bool = False  # the ensemble engine's CUDA-graph step and Triton recurrence (seq2one) apply
    scope: Literal["basin", "group"] = "basin"
    standardized: str = "its inputs and target"  # what ``model.standardize`` z-scores (the report's recipe)
    #: How a group model of this kind runs a record in the probes and the report: in tiles of its training
    #: windows, or in one pass (a conserving model: its stores carry water from day to day, and only a
    #: pass that never resets them closes the water balance over years). The single-basin pipeline
    #: evaluates every network sequence-to-one, as the paper does.
    evaluation: Literal["tiles", "one_pass"] = "tiles"
    #: "module:function" returning the architecture entries beyond type, inputs and hidden size when the
    #: kind trains on a basin group's data (called with the RegionalData and the ``model`` block)
    group_extras: str | None = None

    def network_class(self) -> type[nn.Module]:
        if self.network is None:
            raise ValueError(f"model kind '{self.name}' is not a network (it is {self.fit}-fit)")
        return _resolve(self.network)

    @property
    def stacked_modes(self) -> tuple[str, ...]:
        """The train.mode values whose replicates train stacked in the ensemble engine."""
        return tuple(self.stacked)

    def stacked_class(self, mode: str) -> type[nn.Module]:
        if mode not in self.stacked:
            raise ValueError(f"model kind '{self.name}' has no stacked (ensemble engine) form in {mode}")
        return _resolve(self.stacked[mode])

    def launch_free_in(self, mode: str) -> bool:
        """Whether the CUDA-graph step and the Triton recurrence apply: the LSTM's seq2one step only."""
        return self.launch_free and mode == "seq2one"

    def architecture_extras(self, dataset: BasinDataset | None, options: dict) -> dict:
        """The kind's own architecture entries (e.g. MC-LSTM's scaler ranges and basin area)."""
        return _resolve(self.extras)(dataset, options) if self.extras else {}

    def group_architecture_extras(self, data: RegionalData, options: dict) -> dict:
        """The kind's own architecture entries when it trains on a basin group's data."""
        if self.group_extras is None:
            raise ValueError(f"model kind '{self.name}' does not train on a basin group")
        return _resolve(self.group_extras)(data, options)

    def build_simulator(self, name: str, spec: dict, state: dict) -> DischargeSimulator:
        """The probes' simulator for a stored spec (architecture, window, scaler) and weights."""
        return _resolve(self.simulator)(name, spec, state)


def _resolve(target: str) -> Callable:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


_NETWORK_SIMULATOR = "hydroprobe.models.simulator:network_simulator"
_STACKED_LSTM = "hydroprobe.models.stacked_lstm:StackedLSTM"
_STACKED_MCLSTM = "hydroprobe.models.ensemble_mclstm:EnsembleMCLSTM"

KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            name="lstm", label="LSTM", conserving=False, loss_term="none", fit="gradient",
            logged_as="pytorch", simulator=_NETWORK_SIMULATOR,
            network="hydroprobe.models.lstm:LSTMRegressor",
            stacked={"seq2one": "hydroprobe.models.ensemble_lstm:EnsembleLSTM", "seq2seq": _STACKED_LSTM},
            # an H200 measurement: the graph step 0.84 s an epoch at R = 1 and 1.17 s at R = 16, cuDNN
            # 0.15 s x R, so they break even near R = 6 (benchmarks/RESULTS.md, 2026-11-29)
            cuda_stack_from=6, launch_free=True,
            extras="hydroprobe.models.lstm:architecture_extras",
            group_extras="hydroprobe.models.regional_lstm:single_basin_extras",
            sources=("models/lstm.py", "models/standardization.py", "models/ensemble_lstm.py",
                     "models/ensemble_recurrence.py", "models/ensemble_triton.py", "models/stacked_lstm.py",
                     "training/static_step.py", "training/graph_step.py", "training/sequence.py",
                     "training/ensemble_sequence.py"),
        ),
        ModelKind(
            name="mclstm", label="MC-LSTM", conserving=True, loss_term="trash", fit="gradient",
            # pickled: torch.export unrolls its 730-day loop into a 22 MB graph in 91 s (2-core CPU)
            logged_as="pytorch_pickle", simulator=_NETWORK_SIMULATOR, smallest_hidden=2,  # trash + flow cell
            network="hydroprobe.models.mclstm:MassConservingLSTM",
            extras="hydroprobe.models.mclstm:architecture_extras",
            stacked={"seq2one": _STACKED_MCLSTM, "seq2seq": _STACKED_MCLSTM},
            standardized="its gates' inputs (the mass path stays in mm)",
            sources=("models/mclstm.py", "models/ensemble_mclstm.py", "training/sequence.py",
                     "training/ensemble_sequence.py"),
        ),
        ModelKind(
            name="gr4jcn", label="GR4J-CemaNeige", conserving=True, loss_term="ET", fit="calibration",
            logged_as="spec", simulator="hydroprobe.models.gr4jcn:simulator_from_spec",
            sources=("models/gr4jcn.py",),
        ),
        ModelKind(
            name="regional_lstm", label="regional LSTM", conserving=False, loss_term="none", fit="gradient",
            logged_as="pytorch", simulator="hydroprobe.models.simulator:regional_simulator", scope="group",
            network="hydroprobe.models.regional_lstm:RegionalLSTM",
            stacked={"seq2seq": _STACKED_LSTM},
            group_extras="hydroprobe.models.regional_lstm:group_extras",
            sources=("models/lstm.py", "models/standardization.py", "models/regional_lstm.py",
                     "models/stacked_lstm.py", "data/regional.py", "training/regional.py",
                     "training/sequence.py", "training/ensemble_sequence.py"),
        ),
        ModelKind(
            name="regional_mclstm", label="regional MC-LSTM", conserving=True, loss_term="trash",
            fit="gradient", logged_as="pytorch_pickle", scope="group", smallest_hidden=2,
            simulator="hydroprobe.models.simulator:regional_simulator",
            network="hydroprobe.models.regional_mclstm:RegionalMCLSTM",
            stacked={"seq2seq": _STACKED_MCLSTM},
            group_extras="hydroprobe.models.regional_mclstm:group_extras", evaluation="one_pass",
            standardized="its gates' inputs (the mass path stays in mm)",
            sources=("models/mclstm.py", "models/ensemble_mclstm.py", "models/regional_mclstm.py",
                     "data/regional.py", "training/regional.py", "training/sequence.py",
                     "training/ensemble_sequence.py"),
        ),
    )
}
#: A model trained elsewhere and probed here (``--from-neuralhydrology``, ``--from-mlflow``): not fit
#: by hydroprobe, so not in :data:`KINDS`; the comparison treats it as a non-conserving network.
IMPORTED = ModelKind(
    name="imported", label="imported", conserving=False, loss_term="none", fit="gradient",
    logged_as="pytorch", simulator=_NETWORK_SIMULATOR, sources=(),
)


def kind_of(name: str) -> ModelKind:
    """The kind called ``name`` (``model.type``), or an error listing the known ones."""
    if name == IMPORTED.name:
        return IMPORTED
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown model type '{name}'; known: {', '.join(KINDS)}") from None


def build_model(architecture: dict) -> nn.Module:
    """Rebuild a network from its ``architecture()`` dict (used before loading weights)."""
    options = dict(architecture)
    return kind_of(options.pop("type")).network_class()(**options)
