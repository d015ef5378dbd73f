"""Where each stage writes, in one place, so CLI, DVC and tests agree on paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import main_repo_root

#: Folder under the repository root that mirrors the root's output tree for each reference model.
REFERENCES_DIR = "references"


@dataclass(frozen=True)
class Layout:
    """Paths of one basin's stages; ``reference`` names a reference model (params ``references``).

    The model under test (``model`` + ``train``) writes at the repository root;
    reference ``k`` writes the same tree under ``references/<k>/`` and keeps its
    run records under ``outputs/<basin>/references/<k>/``. Prepared data is shared.
    """

    root: Path
    basin: str
    reference: str = ""

    @property
    def out_root(self) -> Path:
        """Where metrics/, plots/ and reports/ of this model go (what the probes call ``out_dir``)."""
        return self.root / REFERENCES_DIR / self.reference if self.reference else self.root

    @property
    def run_dir(self) -> Path:
        """Run records (train_run, registered, champion) of this model on this basin."""
        return self.basin_dir / REFERENCES_DIR / self.reference if self.reference else self.basin_dir

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
        return self.out_root / "metrics" / "train.json"

    @property
    def replicates_table(self) -> Path:
        return self.run_dir / "replicates.csv"

    @property
    def train_plots(self) -> Path:
        return self.out_root / "plots" / "train"

    @property
    def figures(self) -> Path:
        return self.out_root / "reports" / "figures"

    @property
    def fragments(self) -> Path:
        return self.out_root / "reports" / "fragments"

    @property
    def train_run(self) -> Path:
        return self.run_dir / "train_run.json"

    @property
    def registered(self) -> Path:
        return self.run_dir / "registered.json"

    @property
    def champion(self) -> Path:
        return self.run_dir / "champion.json"
