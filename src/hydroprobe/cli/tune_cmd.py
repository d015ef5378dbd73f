"""``hydroprobe tune`` (run or join an Optuna study) and ``hydroprobe tune apply``.

Outputs of a run (also the DVC ``tune`` stage's outs)::

    outputs/<basin>/tune/best_params.yaml   best knobs in params.yaml's layout
    outputs/<basin>/tune/history.png        optimisation history
    outputs/<basin>/tune/importance.png     parameter importance (>= 2 complete trials)
    metrics/tune.json                       trial counts by state, best value and knobs

With ``--if-enabled`` (what the DVC stage runs) and ``tune.enabled: false``
only a "disabled" marker is written, so the stage costs nothing in a default
``dvc repro``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from hydroprobe.cli.common import add_ray_argument
from hydroprobe.config import build, find_repo_root, load_params, section
from hydroprobe.errors import DataError
from hydroprobe.execution.config import ExecutionConfig, parse_execution
from hydroprobe.training.config import ModelConfig, TrainConfig

METRICS_FILE = Path("metrics") / "tune.json"


def _outputs(root: Path, basin: str) -> tuple[Path, Path]:
    return root / "outputs" / basin, root / "outputs" / basin / "tune"


def _write_metrics(root: Path, content: dict) -> None:
    path = root / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def _run(args: argparse.Namespace) -> int:
    from hydroprobe.tuning.best_params import FILE_NAME
    from hydroprobe.tuning.search_space import parse_tune_config

    root = find_repo_root()
    params = load_params(root)
    basin = section(params, "data")["basin"]
    tune = parse_tune_config(params.get("tune") or {})
    data_dir, out_dir = _outputs(root, basin)
    if args.if_enabled and not tune.enabled:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / FILE_NAME).write_text("# tune.enabled is false in params.yaml: no search ran\n")
        _write_metrics(root, {"enabled": False})
        print("tune.enabled is false: wrote the disabled marker only")
        return 0
    overrides = {
        "n_trials": args.n_trials,
        "timeout_s": args.timeout,
        "study_name": args.study_name,
        "storage": args.storage,
        "sampler_seed": args.sampler_seed,
    }
    tune = dataclasses.replace(tune, **{k: v for k, v in overrides.items() if v is not None})
    model = build(ModelConfig, params.get("model") or {}, "model")
    train = build(TrainConfig, params.get("train") or {}, "train")
    execution = parse_execution(params, args.ray_address)
    return _search(root, basin, data_dir, out_dir, model, train, tune, execution)


def _search(root: Path, basin: str, data_dir: Path, out_dir: Path, model, train, tune,
            execution: ExecutionConfig) -> int:
    from hydroprobe.data.dataset import NORMALIZED, BasinDataset
    from hydroprobe.tracking import store, tune_run
    from hydroprobe.training.device import configure_cpu, resolve_device
    from hydroprobe.tuning import study
    from hydroprobe.tuning.objective import Objective
    from hydroprobe.tuning.search_space import check_window_fits

    if not (data_dir / NORMALIZED).is_file():
        raise DataError(f"{data_dir / NORMALIZED} is missing; run the prepare and normalize stages first")
    dataset = BasinDataset.load(data_dir)
    check_window_fits(tune, dataset)
    pooled = execution.distributed or tune.workers > 1
    runner = _runner(execution, train, tune) if pooled else None
    configure_cpu(train.threads)
    device = resolve_device(train.device)
    epochs = tune.epochs(train)
    name = tune.study_name or study.default_study_name(basin)
    storage = study.resolve_storage(tune.storage, root)
    if runner is not None:
        study.require_shared_storage(storage, runner.spans_machines())
    # the driver of a pool runs no trial: its sampler seed is its workers' business
    seed = None if pooled else tune.sampler_seed
    shared, created = study.open_study(name, storage, study.make_pruner(tune, epochs), seed)
    store.configure(root)
    experiment_id = tune_run.tuning_experiment(basin)
    study_run = tune_run.attach_study_run(shared, created, experiment_id, _settings(model, train, tune))
    tracker = tune_run.TrialTracker(
        experiment_id, study_run, name, {"tune.seeds": tune.seeds, "train.max_epochs": epochs}
    )
    verb = "created" if created else "joined"
    if runner is None:
        print(f"study '{name}' ({verb}): {tune.n_trials} trials on {device}")
        study.run_trials(
            shared, Objective(dataset, model, train, tune, device, tracker), tune.n_trials, tune.timeout_s
        )
    else:
        from hydroprobe.execution.trials import run_workers_on, workers_for

        workers = workers_for(tune)
        print(f"study '{name}' ({verb}): {tune.n_trials} trials in {len(workers)} {execution.engine} "
              f"worker(s) ({', '.join(str(w.n_trials) for w in workers)})")
        run_workers_on(runner, workers, tracker, dataset=dataset, model=model, train=train, tune=tune,
                       study_name=name, storage=storage)
    return _report(root, out_dir, shared, study_run)


def _runner(execution: ExecutionConfig, train, tune):
    """The runner of a pool of Optuna workers; in-process workers (engine local) run one after another."""
    from hydroprobe.execution.engine import LocalRunner, make_runner  # Ray only on the Ray path

    if not execution.distributed:
        return LocalRunner(train.threads)
    return make_runner(execution, train.threads)


def _settings(model, train, tune) -> dict:
    """The study run's params: every setting but the storage (may hold a password) and the searched keys."""
    settings = {f"tune.{k}": v for k, v in dataclasses.asdict(tune).items() if k != "storage"}
    settings |= {f"model.{k}": v for k, v in dataclasses.asdict(model).items()}
    settings |= {f"train.{k}": v for k, v in dataclasses.asdict(train).items()}
    return {k: v for k, v in settings.items() if k not in tune.ranges()}  # trials log those


def _report(root: Path, out_dir: Path, shared, study_run: str) -> int:
    """Summarise the whole study (every worker's trials) into the stage's outputs and the study run."""
    from hydroprobe.tracking import tune_run
    from hydroprobe.tuning import figures, study
    from hydroprobe.tuning.best_params import FILE_NAME, write_best_params

    summary = study.summarize(shared)
    write_best_params(summary, out_dir / FILE_NAME)
    written, skipped = figures.save_figures(shared, out_dir)
    _write_metrics(root, summary.to_dict())
    tune_run.log_study_outputs(study_run, summary.to_dict(), [out_dir / FILE_NAME, *written])
    print(f"trials by state: {', '.join(f'{k} {v}' for k, v in summary.counts.items() if v)}")
    if skipped:
        print(f"note: {skipped}")
    if summary.best_number is None:
        print("no trial completed: nothing to apply")
        return 1
    best = f"best trial {summary.best_number}: validation NSE {summary.best_value:.4f}"
    print(f"{best} with {summary.best_params}")
    print(f"written to {out_dir / FILE_NAME}; apply with `hydroprobe tune apply`")
    return 0


def _apply(args: argparse.Namespace) -> int:
    from hydroprobe.config import PARAMS_FILE
    from hydroprobe.tuning.best_params import FILE_NAME, dvc_command, read_best_params, write_into_params

    root = find_repo_root()
    if args.file:
        path = Path(args.file)
    else:
        path = _outputs(root, section(load_params(root), "data")["basin"])[1] / FILE_NAME
    values = read_best_params(path)
    if args.print:
        print(dvc_command(values))
        return 0
    for key, (old, new) in write_into_params(root / PARAMS_FILE, values).items():
        print(f"{key}: {old} -> {new}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tune`` (runs a study) with its ``apply`` action."""
    tune = subparsers.add_parser(
        "tune",
        help="search hidden size and window length with Optuna; `tune apply` adopts the best",
        description=(
            "Run (or join, when it exists) an Optuna study maximising the validation NSE of the train "
            "protocol over the ranges in the tune section of params.yaml. Several workers sharing "
            "--storage and --study-name add trials to one study; with execution.engine ray (or "
            "--ray-address) this command's tune.n_trials are split over tune.workers workers, each a Ray "
            "task. Each trial is a nested MLflow run."
        ),
    )
    tune.add_argument(
        "--n-trials", type=int, metavar="N", help="trials this worker runs (default: tune.n_trials)"
    )
    tune.add_argument("--timeout", type=float, metavar="S", help="stop starting trials after S seconds")
    tune.add_argument("--study-name", metavar="NAME", help="default: tune.study_name, else tune-<basin>")
    tune.add_argument(
        "--storage",
        metavar="URL",
        help="any Optuna database URL (default: tune.storage, else optuna/study.db)",
    )
    tune.add_argument(
        "--sampler-seed",
        type=int,
        metavar="K",
        help="seed of this worker's sampler; give workers different ones",
    )
    tune.add_argument(
        "--if-enabled",
        action="store_true",
        help="only write a 'disabled' marker unless tune.enabled is true (what the DVC stage runs)",
    )
    add_ray_argument(tune, "each of the tune.workers Optuna workers")
    tune.set_defaults(func=_run)
    actions = tune.add_subparsers(dest="tune_action", metavar="[apply]", title="optional action")
    apply = actions.add_parser(
        "apply",
        help="write the best parameters into params.yaml (or print the dvc exp run line)",
        description="Write the best trial's values into params.yaml, keeping its comments.",
    )
    apply.add_argument("--file", metavar="PATH", help="default: outputs/<data.basin>/tune/best_params.yaml")
    apply.add_argument(
        "--print",
        action="store_true",
        help="print the `dvc exp run -S ...` line instead of editing params.yaml",
    )
    apply.set_defaults(func=_apply)
