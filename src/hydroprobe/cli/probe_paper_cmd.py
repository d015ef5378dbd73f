"""``hydroprobe probe paper``: the paper's Cases 1 and 2 on the registered champion and its replicates.

Writes ``metrics/probes_paper.json``, ``plots/probes/case{1,2}.csv``,
``reports/figures/probes_case*.png`` and ``reports/fragments/paper_cases.md`` under
``models/<key>/`` (the paper half of the DVC stage ``model_probe@<key>``, whose
other command is ``hydroprobe probe climate``) and logs them as one MLflow run.
"""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import (
    add_alias_argument,
    add_basin_argument,
    add_model_argument,
    add_ray_argument,
    context,
    probe_map,
)
from hydroprobe.cli.subject import Subject, add_subject_arguments, load_subject


def _run_subject(subject: Subject, settings, root) -> int:
    """Paper probes of an imported model, plus its observed-forcing skill, under ``imported/<name>/``."""
    from hydroprobe.probes import skill
    from hydroprobe.probes.paper import output_files, run_paper_probes
    from hydroprobe.tracking.probe_run import log_probe_run

    print(f"probing imported model {subject.simulator.name} on {subject.dataset.basin_id}")
    scores = skill.write_imported_skill(
        subject.simulator, subject.dataset, subject.provenance, subject.out_dir
    )
    result = run_paper_probes(subject.simulator, [], subject.dataset, settings, subject.out_dir)
    files = [*output_files(subject.out_dir), *skill.output_files(subject.out_dir)]
    run_id = log_probe_run(result, files, subject.out_dir, subject.name, subject.model_version, root,
                           tags=subject.tags)
    _summary(result)
    print("observed forcing: NSE " + ", ".join(f"{k} {v['nse']:.3f}" for k, v in scores["selected"].items()))
    print(f"wrote {len(files)} files under {subject.out_dir.relative_to(root)}; MLflow run {run_id}")
    return 0


def _summary(result: dict) -> None:
    case1, case2 = result["case1"]["observed_climatology"], result["case2"]
    print(
        f"Case 1 (P = 0, observed temperature): peak {case1['peak_flow_m3s']['champion']:.1f} m³/s on "
        f"{case1['peak_date']['champion']}, {case1['peak_fraction_of_observed_melt_flow']['champion']:.0%} "
        "of the observed melt-season flow"
    )
    print(
        f"Case 2 mass recovered: {case2['mass_recovered_min']['champion']:.0%}–"
        f"{case2['mass_recovered_max']['champion']:.0%} (champion) against an observed runoff ratio "
        f"of {result['observed']['runoff_ratio']:.0%}"
    )


def _run(args: argparse.Namespace) -> int:
    from hydroprobe.probes.paper import output_files, probe_settings, run_paper_probes
    from hydroprobe.tracking.probe_run import log_probe_run
    from hydroprobe.tracking.registry import load_probe_models

    ctx = context(args)
    root, params, basin = ctx.root, ctx.params, ctx.basin_id
    settings = probe_settings(params, basin)
    subject = load_subject(ctx, args)
    if subject is not None:
        return _run_subject(subject, settings, root)
    models = load_probe_models(basin, alias=args.alias, root=root, model_key=ctx.model_key)
    out_dir = ctx.layout.out_root
    print(
        f"probing {models.model_name} v{models.model_version} ({args.alias}) "
        f"and {len(models.replicates)} replicates on {basin}"
    )
    result = run_paper_probes(models.champion, models.replicates, models.dataset, settings, out_dir,
                              probe_map(params, args.ray_address))
    run_id = log_probe_run(
        result, output_files(out_dir), out_dir, models.model_name, models.model_version, root,
        model_key=ctx.model_key,
    )
    _summary(result)
    print(f"wrote {', '.join(str(p.relative_to(root)) for p in output_files(out_dir))}; MLflow run {run_id}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``paper`` to the ``probe`` sub-commands."""
    paper = subparsers.add_parser(
        "paper",
        help="paper Cases 1-2: zero precipitation, constant snow-season precipitation "
             "(DVC stage 'model_probe@<key>')",
        description=(
            "Run the paper's probe experiments on the registered model (champion and every "
            "replicate): Case 1 feeds zero precipitation with observed, sinusoidal and shifted "
            "temperature; Case 2 adds constant precipitation in the snow-accumulation window "
            "and measures how much of it comes back as flow. Settings: the probes section of "
            "params.yaml and basins.<id>.accumulation_season."
        ),
    )
    add_basin_argument(paper)
    add_alias_argument(paper)
    add_model_argument(paper)
    add_subject_arguments(paper)
    add_ray_argument(paper, "each model's probe (the champion, each replicate)")
    paper.set_defaults(func=_run)
