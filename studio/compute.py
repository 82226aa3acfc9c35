"""Where PyTorch computes on the CPU: one thread runs every forward pass, and model loads run in threads that end.

PyTorch's CPU kernels run on OpenMP (GNU libgomp), which keeps a pool of worker threads for every thread that
starts a parallel region, for as long as that thread lives. Once those workers outnumber the CPUs, libgomp stops
letting them spin between regions, and every region (a forward pass runs hundreds) wakes them through the kernel.
Gradio serves each request in one of many threads: a model called from them ran at the speed of that throttled
runtime (bench/latency.py, 2 CPUs: Marian beam-4 translation 1.19 s a sentence instead of 0.80 s, as with
OMP_WAIT_POLICY=passive). So every forward pass runs on one long-lived compute thread, which alone keeps a pool,
and everything else that may touch PyTorch's kernels runs in a thread that ends when it is done, taking its pool
with it: loading a model, and work too long to hold up the other tabs' requests (a Whisper transcription of an
hour's audio; batch runs compute in their job's own thread).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

# CTranslate2 (faster-whisper) brings its own OpenMP runtime, but once PyTorch's is loaded, the dynamic linker binds
# CTranslate2's OpenMP calls to PyTorch's: its threads then count among PyTorch's, above the CPUs, and every
# forward pass after the first transcription ran throttled (EfficientNet-Lite0 20 -> 43 ms on 2 CPUs). Loaded
# before PyTorch, as this module is (it loads no PyTorch), it keeps its own.
with contextlib.suppress(ImportError):
    import ctranslate2  # noqa: F401

# A request thread sleeps while the compute thread runs its forward pass, and when the pass is done it must take the
# interpreter's lock back from whichever thread holds it (the event loop's, say), which is asked to let go only
# every 5 ms by default; a request has several such handoffs (bench/latency.py, 2 CPUs, EfficientNet-Lite0's 27 ms
# pass: the app's own code +14.6 ms at 5 ms, +2.2 ms at 0.5 ms; ViT-B/16 +10.2 and +1.5 ms).
SWITCH_INTERVAL_S = 0.0005

_lock = threading.Lock()
_thread: threading.Thread | None = None
_jobs: queue.SimpleQueue = queue.SimpleQueue()


def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` run on the compute thread, in turn with every other caller's; its result or error."""
    if on_compute_thread():
        return fn(*args, **kwargs)
    future: Future = Future()
    # In the caller's context, so that what reads a context variable (Gradio's gr.Info, say) sees the caller's.
    _start().put((future, contextvars.copy_context().run, (fn, *args), kwargs))
    return future.result()


def on_compute_thread() -> bool:
    return threading.current_thread() is _thread


def in_own_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` run in a new thread that ends with it (loading a model, a long transcription), so that
    the OpenMP workers its kernels start end too; its result or error."""
    if on_compute_thread():
        return fn(*args, **kwargs)
    future: Future = Future()
    context = contextvars.copy_context()

    def call() -> None:
        try:
            future.set_result(context.run(fn, *args, **kwargs))
        except BaseException as e:  # handed to the caller, who raises it
            future.set_exception(e)

    thread = threading.Thread(target=call, name=getattr(fn, "__name__", "own-thread").strip("_"), daemon=True)
    thread.start()
    thread.join()
    return future.result()


def _start() -> queue.SimpleQueue:
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
            _thread = threading.Thread(target=_serve, args=(_jobs,), name="compute", daemon=True)
            _thread.start()
    return _jobs


def _serve(jobs: queue.SimpleQueue) -> None:
    from studio.device import configure_threads

    configure_threads()  # the thread count is this thread's own under OpenMP
    while True:
        future, fn, args, kwargs = jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # raised in the caller's thread
            future.set_exception(e)
        del future, fn, args, kwargs


def _after_fork_in_child() -> None:
    # The parent's compute thread does not exist in a forked child (ZeroGPU's workers): start afresh there.
    global _thread, _jobs, _lock
    _thread, _jobs, _lock = None, queue.SimpleQueue(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
