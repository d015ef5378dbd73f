"""Where training runs, and the CPU levers measured on 2-core machines."""

from __future__ import annotations

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
