"""dvc.yaml and the code name the same output paths: every declared out comes from the layout module.

DVC caches and checks out only what dvc.yaml declares; a file the code writes
under another name is silently untracked, and a declared out the code never
writes fails the stage. Both lists are compared here, stage by stage, for the
every model of params.yaml ``models`` and the basin stages.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hydroprobe.layout import Layout
from hydroprobe.probes.climate.run import HYDROGRAPH_DIR, METRICS_FILE, REPORT_FILE
from hydroprobe.probes.paper.run import output_files

REPO = Path(__file__).resolve().parents[1]


def _declared(body: dict, substitutions: dict[str, str]) -> set[Path]:
    """Every ``outs``, ``metrics`` and ``plots`` path of a stage, with ``${...}`` filled in."""
    paths = set()
    for section in ("outs", "metrics", "plots"):
        for entry in body.get(section) or []:
            text = next(iter(entry)) if isinstance(entry, dict) else entry
            for name, value in substitutions.items():
                text = text.replace("${" + name + "}", value)
            paths.add(Path(text))
    return paths


def _pipeline() -> tuple[dict, dict]:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"], yaml.safe_load(
        (REPO / "params.yaml").read_text())


def test_every_declared_out_is_the_layouts_path_for_that_stage() -> None:
    stages, params = _pipeline()
    basin = params["data"]["basin"]
    expected = Layout(REPO, basin).basin_outputs()
    for name, paths in expected.items():
        assert _declared(stages[name], {"data.basin": basin}) == set(paths), name
    assert set(params["models"]) == {"lstm", "mclstm", "gr4jcn"}, "the bench the chain runs over"
    for key in params["models"]:
        outputs = Layout(REPO, basin, key).stage_outputs()
        fill = {"data.basin": basin, "key": key}
        declared_train = _declared(stages["model_train"]["do"], fill)
        declared_probe = _declared(stages["model_probe"]["do"], fill)
        assert declared_train == {*outputs["train"], *outputs["register"], *outputs["promote"]}, key
        assert declared_probe == {*outputs["probe_paper"], *outputs["probe_climate"]}, key
        assert Path(f"models/{key}/metrics/train.json") in declared_train  # every model a peer, same tree


def test_the_probes_write_under_the_layouts_names(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "salmon_river", "mclstm")
    declared = set(layout.stage_outputs()["probe_paper"])
    root = layout.out_root
    written = {path.relative_to(tmp_path) for path in output_files(root)}
    # each file the paper probe writes lies in a declared out (a file or a declared folder)
    for path in written:
        assert any(path == out or out in path.parents for out in declared), path
    climate = {(root / p).relative_to(tmp_path) for p in (HYDROGRAPH_DIR, METRICS_FILE, REPORT_FILE)}
    assert climate <= set(layout.stage_outputs()["probe_climate"])
