"""Where each stage writes, in one place, so CLI, DVC and tests agree on paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydroprobe.config import main_repo_root
from hydroprobe.data.dataset import BASIN, NORMALIZED, PREPARED, SCALER

#: Folder under the repository root with one output tree per model of params ``models``.
MODELS_DIR = "models"

# Under a model's ``out_root`` (models/<k>/), or the repository root for the stages that join them:
METRICS_DIR = Path("metrics")
FIGURES_DIR = Path("reports/figures")
FRAGMENTS_DIR = Path("reports/fragments")
TRAIN_METRICS = METRICS_DIR / "train.json"
TRAIN_PLOTS = Path("plots/train")
PAPER_METRICS = METRICS_DIR / "probes_paper.json"
PAPER_PLOTS = Path("plots/probes")
PAPER_CSV = {"case1": PAPER_PLOTS / "case1.csv", "case2": PAPER_PLOTS / "case2.csv"}
PAPER_FIGURES = {"case1": "probes_case1.png", "case2": "probes_case2.png",
                 "case2_mass": "probes_case2_mass.png", "case2_balance": "probes_case2_balance.png"}
CLIMATE_METRICS = METRICS_DIR / "probes_climate.json"
CLIMATE_PLOTS = Path("plots/climate")
CLIMATE_FIGURES = {"precipitation": "climate_response_precipitation.png",
                   "temperature": "climate_response_temperature.png", "hydrograph": "climate_hydrograph.png"}
FRAGMENTS = {"training": "training.md", "paper": "paper_cases.md", "climate": "climate.md",
             "comparison": "comparison.md"}
# Under the repository root only:
DATA_METRICS = METRICS_DIR / "data.json"
COMPARISON_METRICS = METRICS_DIR / "comparison.json"
HEADLINE_DIR = METRICS_DIR / "headline"
COMPARE_FIGURES = {"case2_balance": "compare_case2_balance.png", "case1_hydrographs": "compare_case1.png"}
BASIN_REPORTS = Path("reports/basins")
COMBINED_REPORT = Path("reports/probe_report.md")


@dataclass(frozen=True)
class Layout:
    """Paths of one basin's stages; ``model`` names a model of params ``models`` ("" = the basin's own).

    Every model ``k`` is a peer: it writes the same tree under ``models/<k>/``
    and keeps its run records under ``outputs/<basin>/models/<k>/``. Prepared
    data is shared; the stages that join the models (compare, report) write at
    the repository root, which is what ``model=""`` points at.
    """

    root: Path
    basin: str
    model: str = ""

    @property
    def out_root(self) -> Path:
        """Where metrics/, plots/ and reports/ of this model go (what the probes call ``out_dir``)."""
        return self.root / MODELS_DIR / self.model if self.model else self.root

    @property
    def run_dir(self) -> Path:
        """Run records (train_run, registered, champion) of this model on this basin."""
        return self.basin_dir / MODELS_DIR / self.model if self.model else self.basin_dir

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
        return self.out_root / TRAIN_METRICS

    @property
    def replicates_table(self) -> Path:
        return self.run_dir / "replicates.csv"

    @property
    def train_plots(self) -> Path:
        return self.out_root / TRAIN_PLOTS

    @property
    def figures(self) -> Path:
        return self.out_root / FIGURES_DIR

    @property
    def fragments(self) -> Path:
        return self.out_root / FRAGMENTS_DIR

    @property
    def train_run(self) -> Path:
        return self.run_dir / "train_run.json"

    @property
    def registered(self) -> Path:
        return self.run_dir / "registered.json"

    @property
    def champion(self) -> Path:
        return self.run_dir / "champion.json"

    def stage_outputs(self) -> dict[str, list[Path]]:
        """What each stage of this model writes, relative to the repository root (dvc.yaml's outs)."""
        out = self.out_root.relative_to(self.root)
        run = self.run_dir.relative_to(self.root)
        figures = out / FIGURES_DIR
        return {
            "train": [run / "replicates.csv", run / "train_run.json", figures / "train",
                      out / FRAGMENTS_DIR / FRAGMENTS["training"], out / TRAIN_METRICS, out / TRAIN_PLOTS],
            "register": [run / "registered.json"],
            "promote": [run / "champion.json"],
            "probe_paper": [out / PAPER_PLOTS, out / FRAGMENTS_DIR / FRAGMENTS["paper"],
                            *(figures / name for name in PAPER_FIGURES.values()), out / PAPER_METRICS],
            "probe_climate": [out / CLIMATE_PLOTS, out / FRAGMENTS_DIR / FRAGMENTS["climate"],
                              *(figures / name for name in CLIMATE_FIGURES.values()), out / CLIMATE_METRICS],
        }

    def basin_outputs(self) -> dict[str, list[Path]]:
        """The basin's data stages and the stages that bring every model together."""
        basin = self.basin_dir.relative_to(self.root)
        return {
            "prepare": [basin / PREPARED, basin / BASIN],
            "normalize": [basin / NORMALIZED, basin / SCALER, DATA_METRICS],
            "compare": [FRAGMENTS_DIR / FRAGMENTS["comparison"],
                        *(FIGURES_DIR / name for name in COMPARE_FIGURES.values()),
                        COMPARISON_METRICS, HEADLINE_DIR],
            "report": [BASIN_REPORTS / f"{self.basin}.md", BASIN_REPORTS / self.basin, COMBINED_REPORT],
        }
