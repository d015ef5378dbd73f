"""``hydroprobe group train|probe|report --group <id>``: the bench of ``group.models`` over a basin group.

``train`` trains every model of ``group.models``: group-scope ones (the regional LSTM and
MC-LSTM) over all basins, each an MLflow parent run with nested replicates, registered as
``hydroprobe-<group>-<definition>-<key>`` and promoted by the usual rule; basin-scope ones (the
single-basin LSTM) on each basin alone. ``probe`` runs the paper and climate probes on every
basin for every model; ``ungauged`` the k-fold over basins; ``report`` writes
``reports/groups/<group>.md``. With ``--if-enabled``
(what the DVC stages run) and ``group.enabled: false`` each only writes a "disabled" marker, so a
default ``dvc repro`` costs nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hydroprobe.cli.common import add_ray_argument
from hydroprobe.config import find_repo_root, load_params
from hydroprobe.errors import ConfigError

ACTIONS = ("train", "probe", "ungauged", "report")


def _marker(root: Path, group_id: str, action: str) -> Path:
    return root / "outputs" / group_id / f"group_{action}.json"


def _run(args: argparse.Namespace) -> int:
    from hydroprobe.group.settings import group_block, group_enabled

    root = find_repo_root()
    params = load_params(root)
    group_id = args.group or str(group_block(params).get("id") or "")
    if args.if_enabled and not group_enabled(params):
        path = _marker(root, group_id, args.action)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"enabled": False, "note": "group.enabled is false in params.yaml"}) + "\n"
        )
        print(f"group.enabled is false: wrote the disabled marker {path.relative_to(root)} only")
        return 0
    if args.action == "report":
        from hydroprobe.group.report import report_path, write_report

        summary = write_report(root, group_id)["summary"]
        medians = ", ".join(
            f"{key} {row['test_nse']['median']:.3f}" for key, row in summary["models"].items()
        )
        print(f"wrote {report_path(root, group_id).relative_to(root)}: median test NSE {medians}")
        return 0
    from hydroprobe.cli.common import probe_map
    from hydroprobe.execution.config import parse_execution
    from hydroprobe.group.settings import group_plan
    from hydroprobe.tracking.group_probe import run_group_probes
    from hydroprobe.tracking.group_stage import run_group_training, run_group_ungauged
    from hydroprobe.tracking.store import locked_store_errors

    plan = group_plan(params, root, group_id)
    with locked_store_errors():
        if args.action == "train":
            if parse_execution(params, args.ray_address).distributed:
                raise ConfigError(
                    "group train runs in this process (its models train stacked); only "
                    "`group probe` spreads over Ray. Fix: drop --ray-address or set "
                    "execution.engine: local for the train stage"
                )
            record = run_group_training(root, plan, params)
            for key, model in record["models"].items():
                print(_trained_line(key, model))
        elif args.action == "ungauged":
            folds = args.folds or plan.ungauged_folds
            record = run_group_ungauged(root, plan, params, folds)
            scores = sorted(basin["metrics"]["test"]["nse"] for basin in record["basins"].values())
            print(f"{folds}-fold over {len(scores)} basins ({record['model']}): median test NSE "
                  f"{scores[len(scores) // 2]:.3f} in {record['seconds'] / 60:.1f} min")
        else:
            record = run_group_probes(root, plan, params, probe_map(params, args.ray_address))
            print(
                f"probed {len(record['basins'])} basins → "
                f"{_marker(root, group_id, 'probe').relative_to(root)}"
            )
    return 0


def _trained_line(key: str, model: dict) -> str:
    """One line per trained model: where its champion stands, or how many basins it covers."""
    if model["scope"] == "basin":
        return f"{key}: a {model['label']} on each of {len(model['basins'])} basins"
    return (
        f"{key}: {model['label']}, selected seed {model['best_seed']} (median validation NSE "
        f"{model['registered']['validation_nse']:.3f}); {model['promotion']['reason']}"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "group",
        help="regional LSTM over a basin group, single-basin baselines, probes and report",
        description=(
            "train: every model of params 'group.models' (a regional LSTM and MC-LSTM over all basins, "
            "static attributes, NSE* loss; a single-basin LSTM on each basin), sequence-to-sequence; "
            "probe: paper Cases 1-2 and climate scenarios on every basin for every model; ungauged: "
            "the k-fold over basins (each basin predicted by the subject trained on the others); report: "
            "reports/groups/<group>.md. Knobs: the 'group' section of params.yaml."
        ),
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--folds", type=int, default=0,
                        help="ungauged: k of the k-fold over basins (default: group.ungauged_folds)")
    parser.add_argument("--group", help="a block of params.yaml 'groups' (default: group.id)")
    parser.add_argument(
        "--if-enabled",
        action="store_true",
        help="only write a 'disabled' marker unless group.enabled is true (what DVC runs)",
    )
    add_ray_argument(parser, "each model's probes of each basin (probe only)")
    parser.set_defaults(func=_run)
