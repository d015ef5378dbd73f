"""Where training runs, and the CPU levers measured on 2-core machines."""

from __future__ import annotations

import os

import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; anything else is taken literally."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"train.device is '{name}' but CUDA is not available; use 'auto' or 'cpu'")
    return device


def configure_cpu(threads: int) -> None:
    """Flush denormals (gradients that underflow make a CPU step ~5x slower) and set threads."""
    torch.set_flush_denormal(True)
    if threads > 0:
        torch.set_num_threads(threads)


CUDA_GRAPH_MODES = ("auto", "on", "off")
RECURRENCE_KERNELS = ("torch", "triton")


def resolve_cuda_graph(mode: str, device: torch.device) -> bool:
    """``train.cuda_graph``: whether the ensemble engine replays a captured step on ``device``.

    ``auto`` captures on CUDA only (the CPU path stays the eager engine, bit for bit);
    ``on`` on another device is an error, so a request for the launch-free step is never
    silently ignored.
    """
    if mode not in CUDA_GRAPH_MODES:
        raise ValueError(f"train.cuda_graph must be one of {CUDA_GRAPH_MODES} (got {mode!r})")
    if mode == "on" and device.type != "cuda":
        raise RuntimeError(
            f"train.cuda_graph is 'on' but the device is {device.type}: CUDA graphs need a CUDA "
            "device; use 'auto' (graphs on CUDA only) or 'off'"
        )
    return mode != "off" and device.type == "cuda"


def resolve_recurrence(kernel: str, device: torch.device) -> str:
    """``train.recurrence``: which kernel runs the ensemble engine's LSTM recurrence in training.

    ``torch`` is the hand-written BPTT in torch ops (every device; the default, and on an H200
    the faster: ``benchmarks/RESULTS.md``); ``triton`` the persistent kernels of
    :mod:`hydroprobe.models.ensemble_triton` (CUDA, or Triton's interpreter on CPU when
    ``TRITON_INTERPRET=1``, which tests use). A request for triton where it cannot run is an
    error, never silently the torch path.
    """
    from hydroprobe.models import ensemble_triton

    if kernel not in RECURRENCE_KERNELS:
        raise ValueError(f"train.recurrence must be one of {RECURRENCE_KERNELS} (got {kernel!r})")
    runs_here = ensemble_triton.available() and (
        device.type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1")
    if kernel == "triton" and not runs_here:
        where = f"the device is {device.type}" if ensemble_triton.available() else "Triton is not installed"
        raise RuntimeError(f"train.recurrence is 'triton' but {where}: the kernels need a CUDA device "
                           "with Triton (or TRITON_INTERPRET=1 on CPU, for tests); use 'torch'")
    return kernel
