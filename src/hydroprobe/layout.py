"""Where each stage writes, in one place, so CLI, DVC and tests agree on paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import main_repo_root


@dataclass(frozen=True)
class Layout:
    root: Path
    basin: str

    @property
    def basin_dir(self) -> Path:
        """prepare/normalize outputs and run records of the basin."""
        return self.root / "outputs" / self.basin

    @property
    def replicate_cache(self) -> Path:
        """Finished replicates, in the *main* repository so DVC experiment copies share it."""
        return main_repo_root(self.root) / "outputs" / "cache" / self.basin

    @property
    def train_metrics(self) -> Path:
        return self.root / "metrics" / "train.json"

    @property
    def replicates_table(self) -> Path:
        return self.basin_dir / "replicates.csv"

    @property
    def train_plots(self) -> Path:
        return self.root / "plots" / "train"

    @property
    def figures(self) -> Path:
        return self.root / "reports" / "figures"

    @property
    def train_run(self) -> Path:
        return self.basin_dir / "train_run.json"

    @property
    def registered(self) -> Path:
        return self.basin_dir / "registered.json"

    @property
    def champion(self) -> Path:
        return self.basin_dir / "champion.json"
