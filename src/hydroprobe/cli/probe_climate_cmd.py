"""``hydroprobe probe climate``: climate-sensitivity probes on the registered champion and its replicates.

Writes ``metrics/probes_climate.json``, ``plots/climate/<scenario>.csv``,
``reports/figures/climate_*.png`` and ``reports/fragments/climate.md`` under
``models/<key>/`` (the climate half of the DVC stage ``model_probe@<key>``, after
``hydroprobe probe paper``) and logs them as one MLflow run.
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
from hydroprobe.cli.subject import add_subject_arguments, load_subject


def _run(args: argparse.Namespace) -> int:
    from hydroprobe.probes.climate import climate_settings, run_climate_probes
    from hydroprobe.tracking.climate_run import log_climate_run
    from hydroprobe.tracking.registry import load_probe_models

    ctx = context(args)
    root, params, basin = ctx.root, ctx.params, ctx.basin_id
    settings = climate_settings(params, basin)
    subject = load_subject(ctx, args)
    if subject is not None:  # a model trained elsewhere: no replicates, outputs under imported/<name>/
        label, out_dir = subject.name, subject.out_dir
        print(f"probing imported model {subject.simulator.name} with {len(settings.scenarios())} "
              f"climate scenarios on {basin}")
        result = run_climate_probes({label: (subject.simulator, [])}, subject.dataset, settings, out_dir)
        run_id = log_climate_run(
            result, out_dir, subject.name, subject.model_version, root, tags=subject.tags
        )
    else:
        models = load_probe_models(basin, alias=args.alias, root=root, model_key=ctx.model_key)
        out_dir, label = ctx.layout.out_root, models.model_type
        print(
            f"probing {models.model_name} v{models.model_version} ({args.alias}) and "
            f"{len(models.replicates)} replicates with {len(settings.scenarios())} climate scenarios "
            f"on {basin}"
        )
        result = run_climate_probes({label: (models.champion, models.replicates)}, models.dataset, settings,
                                    out_dir, probe_map(params, args.ray_address))
        run_id = log_climate_run(result, out_dir, models.model_name, models.model_version, root,
                                 model_key=ctx.model_key)
    band = result["observed_elasticity"]
    print(
        f"observed precipitation elasticity {band['median']:.2f} (5–95 % {band['p05']:.2f}–{band['p95']:.2f})"
    )
    for rule in result["models"][label]["rules"].values():
        if rule["applicable"]:
            replicates = rule["replicates"]
            verdict = "pass" if rule["champion"]["passed"] else "FAIL"
            print(
                f"  {verdict:4}  {replicates['passed']}/{replicates['count']} replicates  {rule['statement']}"
            )
    print(f"wrote {len(result['outputs'])} files under {out_dir} (report: reports/fragments/climate.md); "
          f"MLflow run {run_id}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climate`` to the ``probe`` sub-commands."""
    climate = subparsers.add_parser(
        "climate",
        help="climate sensitivity: warmer, wetter, drier observed forcing against physical rules "
             "(DVC stage 'model_probe@<key>')",
        description=(
            "Perturb the observed forcing (temperature shifts, all-year and snow-season "
            "precipitation scaling, combinations), run the registered model (champion and every "
            "replicate) on each scenario and judge the change in annual flow, timing, peaks and "
            "low flow against physical rules and the basin's observed precipitation elasticity. "
            "Settings: the climate section of params.yaml and basins.<id>.accumulation_season."
        ),
    )
    add_basin_argument(climate)
    add_alias_argument(climate)
    add_model_argument(climate)
    add_subject_arguments(climate)
    add_ray_argument(climate, "each model's probe (the champion, each replicate)")
    climate.set_defaults(func=_run)
