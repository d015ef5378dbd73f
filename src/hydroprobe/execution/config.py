"""``execution.*`` of params.yaml: in-process (default) or Ray, and what each task may use."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hydroprobe.config import require

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ExecutionConfig:
    """How the commands that do many independent things spread them.

    ``local`` runs every unit in this process, exactly as before this option
    existed (Ray is never imported). ``ray`` makes each unit a Ray task with
    ``cpus_per_task`` CPUs (also its torch thread count, unless ``train.threads``
    pins one) and ``gpus_per_task`` of a GPU (0.25 packs four small LSTMs on one
    device); a task whose worker dies is retried up to ``max_retries`` times.
    ``replicates_per_task`` sets how many replicates one ``train`` unit stacks
    (0 = the engine's own grouping: all on a GPU, 32 on a CPU); it applies to
    the in-process run as well, because the grouping decides the last bits of
    the ensemble engine's numbers.
    """

    engine: str = "local"
    address: str = ""  # "" = RAY_ADDRESS or a new local cluster; "auto" = the running one; HOST:PORT
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    max_retries: int = 2
    replicates_per_task: int = 0

    def __post_init__(self) -> None:
        require(self.engine in ENGINES, "execution.engine", f"must be one of {ENGINES} (got {self.engine!r})")
        require(self.cpus_per_task > 0, "execution.cpus_per_task", "must be > 0")
        require(self.gpus_per_task >= 0, "execution.gpus_per_task", "must be >= 0 (a fraction packs tasks)")
        require(self.max_retries >= 0, "execution.max_retries", "must be >= 0")
        require(self.replicates_per_task >= 0, "execution.replicates_per_task",
                "must be >= 0 (0 = the engine's own grouping)")

    @property
    def distributed(self) -> bool:
        return self.engine == "ray"

    def with_address(self, address: str | None) -> ExecutionConfig:
        """``--ray-address`` given on the command line: Ray at that address, whatever params say."""
        return self if not address else replace(self, engine="ray", address=address)

    def task_threads(self, pinned: int) -> int:
        """Torch threads in a task: ``train.threads`` when set, else the task's whole CPUs."""
        return pinned if pinned > 0 else max(1, int(self.cpus_per_task))


def parse_execution(params: dict, address: str | None = None) -> ExecutionConfig:
    """``execution`` of params.yaml (absent = local), overridden by ``--ray-address``."""
    from hydroprobe.config import build

    return build(ExecutionConfig, params.get("execution") or {}, "execution").with_address(address)
