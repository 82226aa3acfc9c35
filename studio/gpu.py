"""ZeroGPU support: the functions that do GPU work are marked, so a ZeroGPU Space lends a GPU while they run."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.runtime import Studio

# Seconds a ZeroGPU Space may hold the GPU for one call: a longer call is stopped, a shorter estimate queues sooner.
DEFAULT_DURATION_S = 60


def zero_gpu() -> bool:
    """True on a ZeroGPU Space: the `spaces` package is there and the Space set SPACES_ZERO_GPU."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in {"1", "t", "true"} and _spaces() is not None


def on_gpu(fn: Callable | None = None, *, duration: int = DEFAULT_DURATION_S) -> Any:
    """`spaces.GPU(fn)` where the `spaces` package is installed (Hugging Face Spaces), else `fn` unchanged.

    Use as `@on_gpu`, `@on_gpu(duration=120)` or `on_gpu(fn)`, once, while the app is built: ZeroGPU
    registers its functions at start-up, not during a request.
    """

    def decorate(f: Callable) -> Callable:
        spaces = _spaces()
        return f if spaces is None else spaces.GPU(f, duration=duration)

    return decorate if fn is None else decorate(fn)


def predict_on_gpu(
    studio: Studio,
    task: str,
    load: Callable[[str, str], Any],
    predict: Callable[..., Any],
    *,
    duration: int = DEFAULT_DURATION_S,
) -> Callable[..., Any]:
    """`predict(model, *inputs)` turned into `fn(model_ref, *inputs)`, marked with `on_gpu`.

    ZeroGPU runs a GPU function in a forked worker and pickles its arguments: taking the model's reference
    instead of the model keeps gigabytes out of that pickle. The worker finds the model in the cache it
    inherited (callers load it first, with `studio.load`) or loads it there.
    """

    def predict_with(model_ref: str, *inputs: Any, **options: Any) -> Any:
        loaded = studio.models.get(task, model_ref, lambda: (load(model_ref, studio.device), studio.device))
        return predict(loaded.model, *inputs, **options)

    predict_with.__name__ = predict_with.__qualname__ = f"{task}_on_gpu"
    return on_gpu(predict_with, duration=duration)


def _spaces() -> Any:
    # Installed on Spaces; off ZeroGPU hardware its GPU decorator hands the function back unchanged.
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None
