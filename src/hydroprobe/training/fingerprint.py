"""What, besides params and data, decides a trained replicate's numbers: code and machine.

Training is deterministic on one machine, but not across machines: two CPUs
that pick different float kernels (an Intel and an AMD processor, AVX-512 and
AVX2) or a different thread count round sums in a different order, and
chaotic training grows those last-bit differences into a different replicate
(0.1 NSE for one seed, measured). So a cached replicate may be reused only
where it would have been trained identically: same numerics code, same engine,
same torch build, same kind of device and processor, same thread count.
:func:`runtime_environment` collects those facts; its :meth:`cache_key` part
enters the replicate cache key, and all of it is recorded with each run.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from hydroprobe.models.kinds import kind_of
from hydroprobe.training.device import resolve_cuda_graph, resolve_recurrence

if TYPE_CHECKING:  # config imports this module
    from hydroprobe.training.config import TrainConfig

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

#: Source files whose code decides a gradient-trained replicate's weights and curves, for every
#: model kind. Evaluation, outputs, checkpoints and tracking are left out: they never change what
#: is trained (checkpoint resume is bitwise, tested), and outputs are recomputed from cached weights.
TRAINING_SOURCES: tuple[str, ...] = (
    "data/windows.py",
    "training/config.py",
    "training/device.py",
    "training/ensemble.py",
    "training/ensemble_seq2one.py",
    "training/replicates.py",
    "training/trainer.py",
)
#: The same for a calibrated conceptual model: the search and the model runner.
CALIBRATION_SOURCES: tuple[str, ...] = ("models/gr4jcn.py", "training/calibration.py")
#: Packages whose version changes a calibration's numbers (Raven's executable, spotpy's search).
CALIBRATION_PACKAGES: tuple[str, ...] = ("raven-hydro", "ravenpy", "spotpy")


def code_fingerprint(patterns: tuple[str, ...] = TRAINING_SOURCES, root: Path = PACKAGE_ROOT) -> str:
    """sha256 over the named source files (path and bytes), so any edit to them changes it."""
    digest = hashlib.sha256()
    for pattern in patterns:
        files = sorted(root.glob(pattern))
        if not files:
            raise FileNotFoundError(f"{root / pattern}: no source file matches; update TRAINING_SOURCES")
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """The processor's marketing name, e.g. ``AMD EPYC 7B13`` (``platform.processor()`` elsewhere)."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_family() -> str:
    """Vendor, family and the vector ISA torch dispatches to, e.g. ``GenuineIntel-6-AVX512``.

    This is what picks the float kernels: the same family and ISA give the same sums.
    """
    info = _cpuinfo()
    vendor = info.get("vendor_id") or platform.machine()
    family = info.get("cpu family", "?")
    return f"{vendor}-{family}-{torch.backends.cpu.get_cpu_capability()}"


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each distribution (``missing`` where it is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


@dataclass(frozen=True)
class RuntimeEnvironment:
    """The machine and software a run trained on; :meth:`cache_key` is the part that changes numbers."""

    engine: str
    device: str
    processor: str  # the CPU family (cpu) or the GPU's name (cuda)
    cpu_model: str
    threads: int
    torch: str
    numpy: str
    python: str
    code: str

    def cache_key(self) -> dict[str, str | int]:
        return {"engine": self.engine, "device": self.device, "processor": self.processor,
                "threads": self.threads, "torch": self.torch, "code": self.code}

    def to_dict(self) -> dict[str, str | int]:
        return asdict(self)


def training_code(model_type: str) -> str:
    """Fingerprint of the code that trains a replicate of ``model_type``: the shared training code
    plus the kind's own modules (its ``sources`` in the model-kind table), so adding or editing one
    kind never retrains the others."""
    return code_fingerprint((*TRAINING_SOURCES, *kind_of(model_type).sources))


def runtime_environment(device: torch.device, engine: str, model_type: str = "lstm") -> RuntimeEnvironment:
    """The environment this process trains ``model_type`` in, on ``device`` with the resolved ``engine``."""
    processor = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_family()
    return RuntimeEnvironment(
        engine=engine,
        device=device.type,
        processor=processor,
        cpu_model=cpu_model(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        code=training_code(model_type),
    )


def resolve_engine(
    engine: str, model_type: str, replicates: int = 0, device: torch.device | None = None,
    mode: str = "seq2one",
) -> str:
    """``auto`` → the ensemble engine for kinds that stack in ``mode`` (faster, same protocol).

    Otherwise the sequential engine; also on CUDA for fewer replicates than the kind's
    ``cuda_stack_from`` (the LSTM: cuDNN one after another wins below 6). On CPU stacking
    wins from R = 1 (benchmarks/RESULTS.md).
    """
    if engine != "auto":
        return engine
    kind = kind_of(model_type)
    if mode not in kind.stacked_modes:
        return "sequential"
    few = 0 < replicates < kind.cuda_stack_from
    return "sequential" if few and device is not None and device.type == "cuda" else "ensemble"


def engine_label(engine: str, train: TrainConfig, device: torch.device, model_type: str = "lstm") -> str:
    """The engine as keyed and recorded, e.g. ``ensemble+cuda_graph+triton`` on a GPU.

    The graph step and the Triton recurrence sum in another order than the eager torch step,
    so their replicates are keyed apart; on CPU (torch recurrence, no graph), for the
    sequential engine and for kinds those levers do not apply to (``ModelKind.launch_free``:
    the LSTM's seq2one step only) the label is the engine itself.
    """
    if engine != "ensemble" or not (kind_of(model_type).launch_free and train.mode == "seq2one"):
        return engine
    if resolve_cuda_graph(train.cuda_graph, device):
        engine += "+cuda_graph"
    if resolve_recurrence(train.recurrence, device) == "triton":
        engine += "+triton"
    return engine


def calibration_environment() -> dict[str, str]:
    """What a conceptual model's calibration ran on: one Raven process per run, on the CPU."""
    return {"engine": "raven", "device": "cpu", "cpu_model": cpu_model(),
            "code": code_fingerprint(CALIBRATION_SOURCES), **package_versions(CALIBRATION_PACKAGES)}
