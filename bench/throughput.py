"""Throughput under concurrency: 16 clients at once, the app with request batching vs one request at a time.

The same app runs twice as `python app.py`, side by side: as shipped (concurrent requests share forward
passes, up to 16) and with STUDIO_MAX_BATCH=1 (each endpoint takes one request at a time, batches of one),
the baseline. Sixteen threads, each a client of Gradio's queue API over plain HTTP (what the page speaks,
without gradio_client's 50 ms polling, whose CPU would otherwise take a third of these 2 cores from the
server), send the same requests to each, in turns (one at a time, batched, batched, one at a time) so that
drift in the machine's load falls on both.

    .venv/bin/python -m bench throughput [--tasks text_classification] [--requests 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import common
from bench.common import API_NAMES, ASSETS, Table, median, ms, percentile, progress

CLIENTS = 16
TASKS = ("text_classification", "ner", "image_classification")
# Requests each client sends per round, per task (four rounds: about the same time per task on 2 CPU cores).
REQUESTS = {"text_classification": 3, "ner": 2, "image_classification": 1}
SPEEDUP_GOAL = 2.5
SLOWDOWN_LIMIT = 3.0


def inputs_for(task: str, count: int) -> list[Any]:
    """Real inputs of varied size: news text cut to a sentence or two (30-300 characters, what a sentiment or
    entity model is usually sent), or the example pictures."""
    if task == "image_classification":
        pictures = sorted(ASSETS.glob("*.png"))
        return [pictures[i % len(pictures)] for i in range(count)]
    return common.news_texts(count, seed=2, min_chars=30, max_chars=300)


def solo_latencies(app: common.AppServer, task: str, items: list[Any], count: int = 6) -> list[float]:
    """Latencies of single requests on an otherwise idle server, after warming it up (the model loads)."""
    client = common.PlainClient(app.url)
    api = API_NAMES[task]
    for item in items[:2]:
        client.predict(api, *client.args(task, item))
    latencies = []
    for item in items[:count]:
        started = time.perf_counter()
        client.predict(api, *client.args(task, item))
        latencies.append(time.perf_counter() - started)
    client.close()
    return latencies


def forward_ceiling(task: str, ref: str, items: list[Any], reps: int = 3) -> float:
    """How much faster one batched predict() of CLIENTS inputs is than CLIENTS single ones, in this process:
    what batching can gain at most on this machine, before any HTTP."""
    import importlib

    module = importlib.import_module(f"tasks.{task}")
    model = module.load(ref, "cpu")
    inputs = items[:CLIENTS]
    if task == "image_classification":
        inputs = [module.open_image(str(path), 10**9) for path in inputs]
    module.predict(model, inputs[:2])
    singles, batches = [], []
    for _ in range(reps):
        started = time.perf_counter()
        for item in inputs:
            module.predict(model, [item])
        singles.append(time.perf_counter() - started)
        started = time.perf_counter()
        module.predict(model, inputs)
        batches.append(time.perf_counter() - started)
    return median(singles) / median(batches)


def load_round(app: common.AppServer, task: str, items: list[Any], per_client: int) -> dict:
    """CLIENTS threads, each with its own HTTP client and session, sending per_client requests one after another."""
    api = API_NAMES[task]
    clients = [common.PlainClient(app.url) for _ in range(CLIENTS)]
    latencies: dict[int, float] = {}
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        for j in range(per_client):
            index = i * per_client + j
            started = time.perf_counter()
            clients[i].predict(api, *clients[i].args(task, items[index]))
            ended = time.perf_counter()
            with lock:
                latencies[index] = ended - started
                spans.append((started, ended))

    import psutil

    server, here = psutil.Process(app.process.pid), psutil.Process()
    cpu_before = (sum(server.cpu_times()[:2]), sum(here.cpu_times()[:2]))
    common.run_threads(CLIENTS, send)
    for client in clients:
        client.close()
    cpu = (sum(server.cpu_times()[:2]) - cpu_before[0], sum(here.cpu_times()[:2]) - cpu_before[1])
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return {"latencies": list(latencies.values()), "wall": wall, "requests": len(latencies), "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=TASKS)
    parser.add_argument("--requests", type=int, default=None, help="requests per client per round")
    args = parser.parse_args(argv)
    common.start_results("throughput")
    common.configure_threads()
    refs = common.build_models(progress)
    results: dict[str, dict] = {}
    ceilings = {}
    for task in args.tasks:
        progress(f"throughput: {task}: the forward-pass ceiling, in this process, before any server starts")
        ceilings[task] = forward_ceiling(task, refs[task], inputs_for(task, CLIENTS))
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        config = common.write_config(Path(tmp) / "models.toml", refs, max_loaded_models=8)
        progress("throughput: starting the app twice: batched, and one request at a time (STUDIO_MAX_BATCH=1)")
        batched = common.AppServer(config, env={"STUDIO_MAX_BATCH": str(max_batch())})
        single = common.AppServer(config, env={"STUDIO_MAX_BATCH": "1"})
        with batched, single:
            for task in args.tasks:
                per_client = args.requests or REQUESTS[task]
                items = inputs_for(task, CLIENTS * per_client)
                progress(f"throughput: {task}: loading, then single requests on each idle server")
                solo = solo_latencies(single, task, items) + solo_latencies(batched, task, items)
                rounds: dict[str, list[dict]] = {"batched": [], "single": []}
                # ABBA: the machine's load drifts, so each side gets an early and a late turn.
                for turn, (name, app) in enumerate(
                    [("single", single), ("batched", batched), ("batched", batched), ("single", single)]
                ):
                    progress(f"throughput: {task}: round {turn + 1} of 4 ({name}), {CLIENTS} x {per_client} requests")
                    rounds[name].append(load_round(app, task, items, per_client))
                results[task] = {"solo": solo, "ceiling": ceilings[task], **{k: _merge(v) for k, v in rounds.items()}}
    report(args.tasks, results)
    return 0


def _merge(rounds: list[dict]) -> dict:
    return {
        "latencies": [x for r in rounds for x in r["latencies"]],
        "wall": sum(r["wall"] for r in rounds),
        "requests": sum(r["requests"] for r in rounds),
        "server_cpu": sum(r["cpu"][0] for r in rounds),
        "client_cpu": sum(r["cpu"][1] for r in rounds),
    }


def max_batch() -> int:
    from studio.batching import MAX_BATCH_SIZE

    return MAX_BATCH_SIZE if MAX_BATCH_SIZE > 1 else 16


def report(tasks: list[str], results: dict) -> None:
    table = Table(
        f"Throughput with {CLIENTS} concurrent clients: request batching vs one request at a time",
        [
            "Task",
            "Requests per side",
            "One at a time (req/s)",
            "Batched (req/s)",
            "Speedup",
            "Latency one at a time (median / p95 / max, ms)",
            "Latency batched (median / p95 / max, ms)",
            "Slowest batched / median one at a time",
            "Alone, idle server (median, ms)",
            "Ceiling: 16 single forwards / one batch of 16",
        ],
    )
    verdicts = []
    for task in tasks:
        b, u = results[task]["batched"], results[task]["single"]
        speedup = (b["requests"] / b["wall"]) / (u["requests"] / u["wall"])
        slowest = max(b["latencies"]) / median(u["latencies"])

        def spread(latencies: list[float]) -> str:
            return f"{ms(median(latencies))} / {ms(percentile(latencies, 95))} / {ms(max(latencies))}"

        table.add(
            task,
            b["requests"],
            f"{u['requests'] / u['wall']:.2f}",
            f"{b['requests'] / b['wall']:.2f}",
            f"{speedup:.2f}x",
            spread(u["latencies"]),
            spread(b["latencies"]),
            f"{slowest:.2f}x",
            ms(median(results[task]["solo"])),
            f"{results[task]['ceiling']:.2f}x",
        )
        if task == "text_classification":
            verdicts.append(
                f"Goal, text classification: speedup >= {SPEEDUP_GOAL}x: {common.mark(speedup >= SPEEDUP_GOAL)} "
                f"({speedup:.2f}x); no request slower than {SLOWDOWN_LIMIT:.0f}x the unbatched latency: "
                f"{common.mark(slowest <= SLOWDOWN_LIMIT)} (slowest {slowest:.2f}x). The forward-pass ceiling below "
                f"is {results[task]['ceiling']:.2f}x on this CPU, and the app's batching reaches "
                f"{speedup / results[task]['ceiling']:.0%} of it."
            )
    for verdict in verdicts:
        table.note(verdict)
    shares = []
    for task in tasks:
        b = results[task]["batched"]
        share = b["client_cpu"] / max(1e-9, b["client_cpu"] + b["server_cpu"])
        shares.append(f"{task} {share:.0%}")
    table.note(
        "The 16 clients run in the benchmark's own process, on the same 2 cores: of the CPU time the "
        "app and its clients used in the batched rounds, the clients took " + ", ".join(shares) + "."
    )
    table.note(
        "Ceiling = the time of 16 single predict() calls over one predict() of the same 16 inputs, in one process "
        "with no server: the most request batching can gain on this CPU. A CPU batch saves the per-pass costs "
        "(Python dispatch, streaming the weights from memory) but not the arithmetic per token, which dominates "
        "here; images are all 197 tokens, so they gain least."
    )
    table.note(
        "Both servers run at once, as shipped and with STUDIO_MAX_BATCH=1 (concurrency 1, batches of 1), and take "
        "turns (one at a time, batched, batched, one at a time), so drift in the machine's load falls on both. "
        "'Slowest batched / median one at a time' compares the slowest batched request with a typical request "
        "under the same load without batching. With 16 clients on 2 cores every request waits behind the others' "
        "work, so both far exceed the latency of a request alone."
    )
    table.note("Inputs: BBC News text cut to 30-300 characters (log-uniform); the example PNGs (ViT-B/16, 224 px).")
    table.show("throughput")


if __name__ == "__main__":
    sys.exit(main())
