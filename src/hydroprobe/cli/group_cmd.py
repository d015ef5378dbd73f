"""``hydroprobe group train|probe|report --group <id>``: a regional LSTM over a basin group.

``train`` trains the regional LSTM (MLflow parent run, nested replicates,
registered as ``hydroprobe-<group>-regional-lstm`` and promoted by the usual
rule) and a single-basin LSTM per basin; ``probe`` runs the paper and climate
probes on every basin for both; ``report`` writes ``reports/groups/<group>.md``.
With ``--if-enabled`` (what the DVC stages run) and ``group.enabled: false``
each only writes a "disabled" marker, so a default ``dvc repro`` costs nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hydroprobe.cli.common import add_ray_argument
from hydroprobe.config import find_repo_root, load_params

ACTIONS = ("train", "probe", "report")


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
        print(
            f"wrote {report_path(root, group_id).relative_to(root)}: median test NSE regional "
            f"{summary['regional']['test_nse']['median']:.3f}, "
            f"single {summary['single']['test_nse']['median']:.3f}"
        )
        return 0
    from hydroprobe.cli.common import probe_map
    from hydroprobe.execution.config import parse_execution  # Ray itself only if the engine is ray
    from hydroprobe.group.settings import group_plan
    from hydroprobe.tracking.group_stage import run_group_probes, run_group_training
    from hydroprobe.tracking.store import locked_store_errors

    plan = group_plan(params, root, group_id)
    with locked_store_errors():
        if args.action == "train":
            record = run_group_training(root, plan, params, parse_execution(params, args.ray_address))
            regional = record["regional"]
            print(
                f"regional LSTM on {len(plan.specs)} basins: selected seed {regional['best_seed']} "
                f"(median validation NSE {regional['registered']['validation_nse']:.3f}); "
                f"{regional['promotion']['reason']}; single-basin LSTMs on {len(plan.single_ids)} basins"
            )
        else:
            record = run_group_probes(root, plan, params, probe_map(params, args.ray_address))
            print(
                f"probed {len(record['basins'])} basins → "
                f"{_marker(root, group_id, 'probe').relative_to(root)}"
            )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "group",
        help="regional LSTM over a basin group, single-basin baselines, probes and report",
        description=(
            "train: one LSTM on every basin of params 'group' (static attributes, NSE* loss) and a "
            "single-basin LSTM per basin; probe: paper Cases 1-2 and climate scenarios on every basin "
            "for both; report: reports/groups/<group>.md. Knobs: the 'group' section of params.yaml."
        ),
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--group", help="a block of params.yaml 'groups' (default: group.id)")
    parser.add_argument(
        "--if-enabled",
        action="store_true",
        help="only write a 'disabled' marker unless group.enabled is true (what DVC runs)",
    )
    add_ray_argument(parser, "each single-basin replicate group (train) or each model's probes (probe)")
    parser.set_defaults(func=_run)
