"""The model cache: load on first use, one load per model however many ask, a bound on how many stay."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio import compute
from studio.device import return_freed_heap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to predict, and what the tab says about it."""

    task: str
    ref: str
    model: Any
    device: str
    load_seconds: float
    note: str = ""


class ModelCache:
    """Least-recently-used models, with a lock per model so concurrent first requests load once."""

    def __init__(self, max_models: int = 5):
        self.max_models = max(1, max_models)
        self._models: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, task: str, ref: str, load: Callable[[], tuple[Any, str]], note: str = "") -> LoadedModel:
        """The cached model for (task, ref), calling `load() -> (model, device)` only if absent."""
        key = (task, ref)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key]
            # Make room first, so that memory peaks at the bound's worth of models, not one more.
            with self._lock:
                evicted = self._evict_over_bound(room_for=1)
            if evicted:
                _free_memory()
            start = time.perf_counter()
            model, device = compute.in_own_thread(load)
            loaded = LoadedModel(task, ref, model, device, time.perf_counter() - start, note)
            log.info("loaded %s model %s on %s in %.1f s", task, ref, device, loaded.load_seconds)
            with self._lock:
                self.loads += 1
                self._models[key] = loaded
                evicted = self._evict_over_bound()  # others may have loaded meanwhile
            if evicted:
                _free_memory()
            return loaded

    def peek(self, task: str, ref: str) -> LoadedModel | None:
        """The cached model for (task, ref) without loading or touching its recency."""
        with self._lock:
            return self._models.get((task, ref))

    def resident(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def drop(self, task: str, ref: str) -> None:
        with self._lock:
            self._models.pop((task, ref), None)
        _free_memory()

    def _evict_over_bound(self, room_for: int = 0) -> bool:
        evicted = False
        while self._models and len(self._models) + room_for > self.max_models:
            (task, ref), _ = self._models.popitem(last=False)
            log.info("evicted %s model %s (bound %d)", task, ref, self.max_models)
            evicted = True
        return evicted


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
    return_freed_heap()
