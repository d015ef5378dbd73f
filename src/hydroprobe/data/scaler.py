"""Min-max scaling fitted on the training period only (paper §2.2).

The paper normalises every input and the target to [0, 1]; probes later push
hypothetical inputs through the *same* fitted transform, so the scaler is a
small JSON artefact beside the normalised data and values outside the
training range are allowed but counted (they are extrapolation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.errors import DataError


@dataclass(frozen=True)
class MinMaxScaler:
    """Per-column ``(x - min) / (max - min)``; exact inverse."""

    minimum: dict[str, float]
    maximum: dict[str, float]

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: tuple[str, ...]) -> MinMaxScaler:
        minimum, maximum = {}, {}
        for column in columns:
            values = frame[column].dropna()
            if values.empty:
                raise DataError(f"cannot fit scaler: column '{column}' has no values in the training period")
            minimum[column], maximum[column] = float(values.min()), float(values.max())
            if maximum[column] == minimum[column]:
                raise DataError(
                    f"cannot fit scaler: column '{column}' is constant ({minimum[column]}) "
                    "in the training period; choose a longer training split"
                )
        return cls(minimum, maximum)

    def transform(self, values: np.ndarray | pd.Series | float, column: str) -> np.ndarray:
        low, high = self.minimum[column], self.maximum[column]
        return (np.asarray(values, dtype=np.float64) - low) / (high - low)

    def inverse(self, values: np.ndarray | pd.Series | float, column: str) -> np.ndarray:
        low, high = self.minimum[column], self.maximum[column]
        return np.asarray(values, dtype=np.float64) * (high - low) + low

    def transform_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {c: self.transform(frame[c], c) for c in self.minimum if c in frame}, index=frame.index
        )

    def out_of_range(self, frame: pd.DataFrame) -> dict[str, int]:
        """Number of values per column that fall outside [0, 1] after scaling."""
        scaled = self.transform_frame(frame)
        return {c: int(((scaled[c] < 0) | (scaled[c] > 1)).sum()) for c in scaled}

    def to_json(self, path: Path) -> None:
        path.write_text(json.dumps({"minimum": self.minimum, "maximum": self.maximum}, indent=2) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> MinMaxScaler:
        content = json.loads(Path(path).read_text())
        return cls(dict(content["minimum"]), dict(content["maximum"]))

    def to_dict(self) -> dict:
        return {"minimum": self.minimum, "maximum": self.maximum}

    @classmethod
    def from_dict(cls, content: dict) -> MinMaxScaler:
        return cls(dict(content["minimum"]), dict(content["maximum"]))
