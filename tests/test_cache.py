"""The model cache: one load per model under concurrency, and a least-recently-used bound."""

from __future__ import annotations

import threading
import time

import pytest

from studio.cache import ModelCache


def slow_loader(calls: list[str], name: str, seconds: float = 0.2):
    def load():
        calls.append(name)
        time.sleep(seconds)
        return f"model {name}", "cpu"

    return load


def test_concurrent_first_requests_share_one_load():
    cache = ModelCache(max_models=2)
    calls: list[str] = []
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("task", "a", slow_loader(calls, "a"))))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"]
    assert {r.model for r in results} == {"model a"}
    assert results[0].load_seconds >= 0.2


def test_different_models_load_in_parallel():
    cache = ModelCache(max_models=4)
    calls: list[str] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=cache.get, args=("task", n, slow_loader(calls, n, 0.5))) for n in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == ["a", "b", "c"]
    assert time.perf_counter() - started < 1.4, "one model's load must not wait for another's"


def test_least_recently_used_model_is_evicted():
    cache = ModelCache(max_models=2)
    calls: list[str] = []
    for name in ["a", "b"]:
        cache.get("task", name, slow_loader(calls, name, 0))
    cache.get("task", "a", slow_loader(calls, "a", 0))  # a is now the most recent
    cache.get("task", "c", slow_loader(calls, "c", 0))
    assert [m.ref for m in cache.resident()] == ["a", "c"]
    assert cache.peek("task", "b") is None
    cache.get("task", "b", slow_loader(calls, "b", 0))
    assert calls == ["a", "b", "c", "b"]


def test_the_least_recent_model_is_unloaded_before_the_next_one_loads():
    cache = ModelCache(max_models=2)
    resident_during_load = []

    def load_c():
        resident_during_load.extend(m.ref for m in cache.resident())
        return "model c", "cpu"

    for name in ["a", "b"]:
        cache.get("task", name, slow_loader([], name, 0))
    cache.get("task", "c", load_c)
    assert resident_during_load == ["b"], "memory peaks at the bound's worth of models, not one more"
    assert [m.ref for m in cache.resident()] == ["b", "c"]


def test_a_failed_load_is_not_cached_and_can_be_retried():
    cache = ModelCache(max_models=2)
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "model", "cpu"

    with pytest.raises(OSError):
        cache.get("task", "a", flaky)
    assert cache.peek("task", "a") is None
    assert cache.get("task", "a", flaky).model == "model"
