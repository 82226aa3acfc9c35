"""One device and dtype policy for every task: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
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

    torch.set_num_threads(usable_cpus())
    with contextlib.suppress(RuntimeError):  # it can be set only once per process
        torch.set_num_interop_threads(1)


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by a container's CPU quota (cgroup v2 or v1).

    os.cpu_count() counts the host's CPUs; in a container limited to two of them, that many threads would
    take turns on two CPUs, and every forward pass would wait on the slowest of them.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        count = os.cpu_count() or 1
    for quota_file, period_file in (
        ("/sys/fs/cgroup/cpu.max", None),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
    ):
        try:
            with open(quota_file) as f:
                fields = f.read().split()
            if period_file is not None:
                with open(period_file) as f:
                    fields = [fields[0], f.read().strip()]
            quota, period = fields[0], fields[1]
        except (OSError, IndexError):
            continue
        if quota not in {"max", "-1"} and period.isdigit() and quota.isdigit() and int(period) > 0:
            count = min(count, max(1, -(-int(quota) // int(period))))  # rounded up: 1.5 CPUs -> 2 threads
        break
    return max(1, count)


def return_freed_heap() -> None:
    """Give the memory freed since the last call back to the OS.

    glibc keeps freed heap pages for reuse, and PyTorch's CPU kernels free differently sized buffers from many
    threads, so without this the app's memory creeps up request after request (measured: openai-whisper +367 MiB
    over 80 transcriptions, +34 MiB with it) and never falls when a model is unloaded.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only (musl has none)
