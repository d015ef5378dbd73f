"""LSTM, MC-LSTM and GR4J-CemaNeige side by side: metrics, report section and figures (issue 8).

Pure: it reads each model's own probe outputs and needs numpy, pandas and
matplotlib only, so the comparison stage cannot change a model's numbers.
"""

from hydroprobe.probes.compare.figures import (
    FIGURES,
    PlottedFigure,
    case1_hydrographs,
    case2_balance_bars,
    write_comparison_figures,
)
from hydroprobe.probes.compare.inputs import ModelInput, load_model_input
from hydroprobe.probes.compare.metrics import comparison_metrics, is_monotonic, monotonicity
from hydroprobe.probes.compare.report import comparison_markdown

__all__ = [
    "FIGURES",
    "ModelInput",
    "PlottedFigure",
    "case1_hydrographs",
    "case2_balance_bars",
    "comparison_markdown",
    "comparison_metrics",
    "is_monotonic",
    "load_model_input",
    "monotonicity",
    "write_comparison_figures",
]
