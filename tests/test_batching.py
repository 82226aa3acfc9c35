"""Request batching: concurrent callers share forward passes, each gets its own result, errors stay local."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from studio.batching import MicroBatcher


def slow_square(items: list[int]) -> list[int]:
    time.sleep(0.05)  # a forward pass: the same cost for one item or many
    if any(i < 0 for i in items):
        raise ValueError("negative")
    return [i * i for i in items]


def test_a_lone_request_runs_at_once_alone():
    batcher = MicroBatcher(slow_square)
    assert batcher(3) == 9
    assert list(batcher.batch_sizes) == [1]


def test_concurrent_requests_share_batches_and_get_their_own_results():
    batcher = MicroBatcher(slow_square, max_batch_size=8)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(batcher, range(32)))
    assert results == [i * i for i in range(32)]
    assert max(batcher.batch_sizes) > 1
    assert max(batcher.batch_sizes) <= 8
    assert sum(batcher.batch_sizes) == 32
    assert len(batcher.batch_sizes) < 32


def test_a_bad_item_fails_alone():
    batcher = MicroBatcher(slow_square)
    barrier = threading.Barrier(4)

    def call(i):
        barrier.wait()
        return batcher(i)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(call, i) for i in [1, 2, -1, 3]]
    assert futures[0].result() == 1
    assert futures[1].result() == 4
    assert futures[3].result() == 9
    with pytest.raises(ValueError, match="negative"):
        futures[2].result()


def test_a_lone_request_starts_no_worker_and_is_computed_on_the_compute_thread():
    seen = []

    def record_thread(items: list[int]) -> list[int]:
        seen.append(threading.current_thread())
        return items

    batcher = MicroBatcher(record_thread)
    assert batcher(7) == 7
    assert [thread.name for thread in seen] == ["compute"]
    assert batcher._worker is None


def two_at_once(batcher: MicroBatcher, items: tuple[int, int]) -> list[int]:
    """Both items sent together: the second arrives while the first runs, so the worker serves it."""
    barrier = threading.Barrier(2)

    def call(i):
        barrier.wait()
        return batcher(i)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(call, items))


def test_the_worker_stops_when_idle_and_restarts_on_demand():
    batcher = MicroBatcher(slow_square, idle_s=0.1)
    assert two_at_once(batcher, (2, 3)) == [4, 9]
    worker = batcher._worker
    worker.join(timeout=5)  # it ends by itself after idle_s
    assert not worker.is_alive() and batcher._worker is None
    assert two_at_once(batcher, (5, 6)) == [25, 36]
    assert sum(batcher.batch_sizes) == 4
