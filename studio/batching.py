"""Request batching: requests that arrive while the model is busy are run together in one forward pass."""

from __future__ import annotations

import collections
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from studio import compute

log = logging.getLogger(__name__)


def _max_batch_size() -> int:
    """STUDIO_MAX_BATCH, else 16; 1 serves one request at a time (the benchmarks' unbatched baseline)."""
    raw = os.environ.get("STUDIO_MAX_BATCH", "").strip()
    try:
        return max(1, int(raw)) if raw else 16
    except ValueError:
        raise SystemExit(f"STUDIO_MAX_BATCH must be a whole number, not {raw!r}") from None


# At most this many requests share one forward pass; also how many requests a batched task accepts at once.
MAX_BATCH_SIZE = _max_batch_size()


class MicroBatcher:
    """Runs `predict_batch(items) -> results` for many callers at once.

    A caller's item waits only while an earlier batch is running; everything that queued up meanwhile
    (up to `max_batch_size`) goes into the next batch. An idle request is sent at once, alone, from the caller's
    own thread, so batching adds no latency when the server is quiet. Every batch is computed on the compute
    thread (compute.py). The worker thread ends after `idle_s` without work, and while it waits it holds the
    batcher only weakly, so an evicted model is freed as soon as the cache drops it.
    """

    def __init__(
        self, predict_batch: Callable[[list], list], max_batch_size: int = MAX_BATCH_SIZE, idle_s: float = 30.0
    ):
        self.predict_batch = predict_batch
        self.max_batch_size = max_batch_size
        self.idle_s = idle_s
        self._queue: queue.Queue[tuple[Any, Future]] = queue.Queue()
        self._lock = threading.Lock()
        # Held by whoever runs a batch, the worker or an idle request's own thread: one batch at a time.
        self._busy = threading.Lock()
        self._worker: threading.Thread | None = None
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)  # the latest, for tests

    def __call__(self, item: Any) -> Any:
        """The result for one item, computed in whichever batch it joins."""
        future: Future = Future()
        if self._queue.empty() and self._busy.acquire(blocking=False):
            # Nothing running and nothing waiting: handing the item to the worker would only add two thread
            # switches. Requests that come meanwhile queue up for the worker's next batch.
            try:
                self._run_batch([(item, future)])
            finally:
                self._busy.release()
        else:
            self._queue.put((item, future))
            self._ensure_worker()
        return future.result()

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                # A strong reference here would keep an evicted model (which owns its batcher) for idle_s more.
                self._worker = threading.Thread(
                    target=_serve, args=(weakref.ref(self), self._queue, self.idle_s), name="micro-batcher", daemon=True
                )
                self._worker.start()

    def _run_batch(self, batch: list[tuple[Any, Future]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = compute.run(self.predict_batch, [item for item, _ in batch])
        except Exception as e:
            if len(batch) == 1:
                _, future = batch[0]
                future.set_exception(e)
                return
            # One bad item must not fail its neighbours: run them one by one to find it.
            log.warning("a batch of %d failed; retrying its items one by one", len(batch))
            for pair in batch:
                self._run_batch([pair])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


def length_groups(lengths: list[int], max_size: int | None = None, max_padding: float = 0.25) -> list[list[int]]:
    """Indices grouped by length, shortest first: padding each group to its longest item wastes at most about
    `max_padding` of its compute. On a CPU a forward pass costs about its padded token count, so one batch of
    a 10-token and a 300-token text costs nearly what 30 such pairs would; a group of similar lengths does not.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    real = 0
    for i in order:
        group = groups[-1] if groups else None
        full = group is not None and max_size is not None and len(group) >= max_size
        # Sorted, so this item is the group's longest: the group would cost (size + 1) * lengths[i].
        wasteful = group is not None and (len(group) + 1) * lengths[i] > (1 + max_padding) * (real + lengths[i])
        if group is None or full or wasteful:
            groups.append([i])
            real = lengths[i]
        else:
            group.append(i)
            real += lengths[i]
    return groups


def length_grouped(batch: dict, padding_side: str, max_size: int | None = None) -> Iterator[tuple[list[int], dict]]:
    """A padded batch in pieces of rows of similar length, each cut to its longest row: (rows, tensors).

    With the padding on the left no columns can be cut away, so the rows are grouped as they come.
    """
    count, width = batch["input_ids"].shape
    lengths = batch["attention_mask"].sum(dim=1).tolist() if padding_side == "right" else [width] * count
    for group in length_groups(lengths, max_size=max_size):
        longest = max(lengths[i] for i in group)
        yield group, {k: v[group, :longest] for k, v in batch.items()}


def _serve(batcher_ref: weakref.ref, requests: queue.Queue, idle_s: float) -> None:
    """The worker: runs whatever queued up as one batch, until idle for `idle_s` or the batcher is gone."""
    while True:
        try:
            first = requests.get(timeout=idle_s)
        except queue.Empty:
            batcher = batcher_ref()
            if batcher is None:
                return
            with batcher._lock:
                if requests.empty():
                    batcher._worker = None
                    return
            del batcher
            continue
        batcher = batcher_ref()
        if batcher is None:  # cannot happen while a caller waits on it, but never leave a caller hanging
            first[1].set_exception(RuntimeError("the model was unloaded"))
            continue
        with batcher._busy:
            batch = [first]
            while len(batch) < batcher.max_batch_size:
                try:
                    batch.append(requests.get_nowait())
                except queue.Empty:
                    break
            batcher._run_batch(batch)
        del batcher, batch, first
