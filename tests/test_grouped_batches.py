"""Speed paths keep behaviour: length-grouped batches give each text its own answer, evicted models are freed,
and STUDIO_MAX_BATCH switches batching off for the benchmarks' baseline."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import weakref

import pytest

from studio.batching import MicroBatcher, length_groups
from tests.conftest import ROOT
from tests.test_batching import two_at_once
from tests.tiny_models import ENGLISH_SENTENCES


@pytest.mark.parametrize(
    "lengths",
    [[], [7], [5, 5, 5, 5], [10, 14, 15, 21, 29, 30, 40, 43, 51, 59, 70, 75, 83, 102, 103, 113], [300, 3, 120, 3, 9]],
)
def test_length_groups_cover_every_item_once_and_pad_little(lengths):
    groups = length_groups(lengths, max_size=4)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    for group in groups:
        assert len(group) <= 4
        padded = len(group) * max(lengths[i] for i in group)
        assert padded <= 1.25 * sum(lengths[i] for i in group) or len(group) == 1


def test_a_short_text_is_not_grouped_with_a_long_one():
    assert length_groups([500, 8, 9, 510]) == [[1, 2], [0, 3]]


def test_an_evicted_model_is_freed_although_its_batcher_thread_still_waits():
    class Model:
        def __init__(self):
            self.batcher = MicroBatcher(lambda items: [self.double(i) for i in items], idle_s=30)

        def double(self, x):
            time.sleep(0.2)  # a forward pass, so that a second request waits for the worker
            return 2 * x

    model = Model()
    # A lone request runs in its caller's thread; a second one that comes meanwhile starts the worker.
    assert two_at_once(model.batcher, (21, 4)) == [42, 8]
    thread = model.batcher._worker
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert thread.is_alive(), "the worker is still within its idle time"
    assert alive() is None


def test_the_worker_ends_soon_after_its_batcher_is_gone():
    batcher = MicroBatcher(lambda items: time.sleep(0.2) or items, idle_s=0.1)
    assert two_at_once(batcher, (1, 2)) == [1, 2]
    thread = batcher._worker
    del batcher
    gc.collect()
    thread.join(timeout=2)
    assert not thread.is_alive()


@pytest.mark.parametrize("value, expected", [("1", "1"), ("", "16"), ("4", "4"), ("0", "1")])
def test_studio_max_batch_sets_the_batch_size(value, expected):
    env = {**os.environ, "STUDIO_MAX_BATCH": value}
    out = subprocess.run(
        [sys.executable, "-c", "from studio.batching import MAX_BATCH_SIZE; print(MAX_BATCH_SIZE)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected


def test_a_bad_studio_max_batch_stops_with_a_message():
    env = {**os.environ, "STUDIO_MAX_BATCH": "lots"}
    out = subprocess.run(
        [sys.executable, "-c", "import studio.batching"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "STUDIO_MAX_BATCH must be a whole number, not 'lots'" in out.stderr


def texts_of_many_lengths() -> list[str]:
    return [
        ENGLISH_SENTENCES[0],
        " ".join(ENGLISH_SENTENCES[:6]),
        "Paris.",
        " ".join(ENGLISH_SENTENCES[10:13]),
        ENGLISH_SENTENCES[5],
        " ".join(ENGLISH_SENTENCES[20:22]),
    ]


def test_text_classification_of_a_batch_equals_one_at_a_time(tiny_models):
    from tasks import text_classification

    classifier = text_classification.load(str(tiny_models["text_classification"]), "cpu")
    texts = texts_of_many_lengths()
    together = text_classification.predict(classifier, texts)
    alone = [text_classification.predict(classifier, [t])[0] for t in texts]
    for a, b in zip(together, alone):
        assert list(a) == list(b)
        assert a == pytest.approx(b, abs=1e-5)


def test_entities_of_a_batch_equal_one_at_a_time(tiny_models):
    from tasks import ner

    recognizer = ner.load(str(tiny_models["ner"]), "cpu")
    texts = texts_of_many_lengths()
    together = ner.predict(recognizer, texts)
    alone = [ner.predict(recognizer, [t])[0] for t in texts]
    for a, b in zip(together, alone):
        assert [(e["entity_group"], e["start"], e["end"]) for e in a] == [
            (e["entity_group"], e["start"], e["end"]) for e in b
        ]
        assert [e["score"] for e in a] == pytest.approx([e["score"] for e in b], abs=1e-5)


def test_concurrent_requests_through_the_batcher_get_their_own_answers(tiny_models):
    from concurrent.futures import ThreadPoolExecutor

    from tasks import text_classification

    classifier = text_classification.load(str(tiny_models["text_classification"]), "cpu")
    texts = texts_of_many_lengths() * 3
    expected = [text_classification.predict(classifier, [t])[0] for t in texts]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        results = list(pool.map(classifier.batcher, texts))
    assert time.perf_counter() - started < 60
    for got, want in zip(results, expected):
        assert got == pytest.approx(want, abs=1e-5)
    assert max(classifier.batcher.batch_sizes) > 1


def test_threads_follow_the_cpus_this_process_may_use(monkeypatch):
    import builtins
    import io

    from studio import device

    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if path == "/sys/fs/cgroup/cpu.max":
            return io.StringIO("150000 100000\n")  # a container limited to 1.5 CPUs
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    assert device.usable_cpus() == 2
