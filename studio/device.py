"""One device and dtype policy for every task: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def best_device() -> str:
    """The fastest device here, unless STUDIO_DEVICE names one."""
    import torch

    wanted = os.environ.get("STUDIO_DEVICE", "").strip().lower()
    if wanted:
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def inference_dtype(device: str) -> torch.dtype:
    """Half precision on CUDA, where it is fast and accurate enough for inference; float32 elsewhere."""
    import torch

    return torch.float16 if device.startswith("cuda") else torch.float32


def configure_threads() -> None:
    """Use every core for intra-op work, but one inter-op thread: requests already run in parallel."""
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    with contextlib.suppress(RuntimeError):  # it can be set only once per process
        torch.set_num_interop_threads(1)
