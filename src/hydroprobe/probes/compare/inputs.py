"""What each compared model hands the comparison: its own probe outputs, read back from disk.

The LSTM, the MC-LSTM and GR4J-CemaNeige each go through the same training
and paper-probe stages and write the same files; the comparison only reads
them, so it never re-runs a model and cannot disagree with the numbers each
model's own report shows. Model ``k`` of params ``models`` keeps its files
under ``<root>/models/<k>`` (:class:`~hydroprobe.layout.Layout`), and a model
trained elsewhere and probed by hydroprobe (``--from-neuralhydrology``,
``--from-mlflow``) under ``<root>/imported/<name>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hydroprobe import layout
from hydroprobe.errors import DataError
from hydroprobe.models.kinds import ModelKind, kind_of
from hydroprobe.probes.compare.paper_summary import PaperSummary
from hydroprobe.probes.compare.summaries import TrainSummary

TRAIN_FILE = layout.TRAIN_METRICS
PAPER_FILE = layout.PAPER_METRICS
CASE1_FILE = layout.PAPER_CSV["case1"]
#: Imported models' outputs live under ``<root>/IMPORTED_DIR/<name>``.
IMPORTED_DIR = Path("imported")

@dataclass(frozen=True, eq=False)
class ModelInput:
    """One model's parsed outputs, labelled for tables and legends.

    ``train`` is ``metrics/train.json`` (a :class:`TrainSummary`; a dict is parsed into one),
    ``paper`` ``metrics/probes_paper.json`` (a :class:`PaperSummary`, likewise) and ``case1``
    ``plots/probes/case1.csv``, all as the model's own stages wrote them. ``conserving`` says
    whether the model closes a water balance by construction, i.e. whether it may serve as a
    reference for the others.
    """

    label: str
    kind: str
    conserving: bool
    train: TrainSummary
    paper: PaperSummary
    case1: pd.DataFrame

    def __post_init__(self) -> None:
        # Labels become JSON keys that DVC and MLflow flatten on dots.
        if not self.label or "." in self.label:
            raise ValueError(f"model label must be non-empty and contain no '.': {self.label!r}")
        if not isinstance(self.train, TrainSummary):
            object.__setattr__(self, "train", TrainSummary.from_json(self.train))
        if not isinstance(self.paper, PaperSummary):
            object.__setattr__(self, "paper", PaperSummary.from_json(self.paper))

    @property
    def et_term(self) -> str:
        """What this model's ET term is (``none``, ``trash``, ``ET``): its kind's ``loss_term``."""
        return kind_of(self.kind).loss_term


def imported_bases(root: Path) -> list[tuple[str, Path]]:
    """``(name, folder)`` of every imported model whose paper probes have run, by name.

    A folder without ``metrics/probes_paper.json`` is an import still in
    progress (or only climate-probed) and is left out rather than failing.
    """
    folder = Path(root) / IMPORTED_DIR
    if not folder.is_dir():
        return []
    return [(base.name, base) for base in sorted(folder.iterdir()) if (base / PAPER_FILE).is_file()]


def model_files(base: Path) -> dict[str, Path]:
    """The three files a model must have under ``base`` (keys ``train``, ``paper``, ``case1``)."""
    base = Path(base)
    return {"train": base / TRAIN_FILE, "paper": base / PAPER_FILE, "case1": base / CASE1_FILE}


def load_model_input(base: Path, label: str, kind: ModelKind) -> ModelInput:
    """Read a model's train metrics, paper-probe metrics and Case 1 hydrographs under ``base``.

    A missing file is a :class:`DataError` that names it: a comparison with a
    silently absent model would read as if that model agreed.
    """
    files = model_files(base)
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise DataError(
            f"{label}: missing {', '.join(missing)}; run that model's train and paper-probe stages first"
        )
    return ModelInput(
        label=label,
        kind=kind.name,
        conserving=kind.conserving,
        train=TrainSummary.from_json(json.loads(files["train"].read_text())),
        paper=PaperSummary.from_json(json.loads(files["paper"].read_text())),
        case1=pd.read_csv(files["case1"]),
    )
