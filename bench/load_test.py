"""Load test: concurrent clients send mixed requests to all five inference tasks while a fine-tune runs.

Prints a Markdown report: errors (goal: zero), p50/p95 latency per task, the fine-tune's outcome, and the app's
resident memory at start, once every model is loaded, and at the end (goal: no growth beyond the loaded
models). Bounded in requests and in time, and loopback only. By default it builds the tiny test models
(tests/tiny_models.py), writes a config for them and starts the app itself, so it runs anywhere:

    .venv/bin/python -m bench.load_test                           # 16 clients, 500 requests, at most 10 minutes
    .venv/bin/python -m bench.load_test --clients 4 --requests 60 --max-seconds 120
    .venv/bin/python -m bench.load_test --url http://127.0.0.1:7860/   # an app already running here

Exit status 0 when every request and the fine-tune succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# After the path, so that the script runs from anywhere.
from bench.common import API_NAMES, ASSETS, RESULTS, free_port, percentile  # noqa: E402

# The mix of requests: mostly the fast text tasks, as on a real page, but every task often.
MIX = ["text_classification"] * 3 + ["ner"] * 2 + ["translation"] * 2 + ["speech"] * 2 + ["image_classification"] * 2
TEXTS = [
    "This movie was a delight from the first scene to the last.",
    "Angela Merkel met Emmanuel Macron in Berlin to talk about the European Union.",
    "The weather is lovely today. Shall we go for a walk?",
    "The battery died after two days and support never answered my emails.",
    "Apple is opening a new office in London next year, Tim Cook said.",
    "Машинный перевод 🚀 — مرحبا — 東京",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# ---- A client that speaks Gradio's queue protocol over one keep-alive connection ----


class Client:
    """One browser's worth of requests: its own session, uploads, and the queue's event stream."""

    def __init__(self, url: str):
        import httpx

        self.url = url
        self.http = httpx.Client(timeout=600)
        config = self.http.get(url + "config").json()
        self.fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
        endpoints = self.http.get(url + "gradio_api/info").json()["named_endpoints"]
        # Inputs a request leaves out take their defaults, as gradio_client does.
        self.defaults = {
            name.lstrip("/"): [p.get("parameter_default") for p in e["parameters"]] for name, e in endpoints.items()
        }
        self.session = uuid.uuid4().hex

    def upload(self, path: Path) -> dict:
        response = self.http.post(self.url + "gradio_api/upload", files=[("files", (path.name, path.read_bytes()))])
        response.raise_for_status()
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def predict(self, api_name: str, *data: Any) -> list:
        """The outputs of one call; raises RuntimeError with the app's message when it fails."""
        name = api_name.lstrip("/")
        data = [*data, *self.defaults[name][len(data) :]]
        body = {"data": data, "fn_index": self.fn_index[name], "session_hash": self.session}
        joined = self.http.post(
            self.url + "gradio_api/queue/join", json={**body, "event_data": None, "trigger_id": None}
        )
        if joined.status_code != 200:
            raise RuntimeError(f"HTTP {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": self.session}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event_id or message.get("msg") != "process_completed":
                    continue
                if not message.get("success"):
                    raise RuntimeError((message.get("output") or {}).get("error") or "failed without a message")
                return message["output"]["data"]
        raise RuntimeError("the event stream ended without a result")

    def request(self, task: str, i: int) -> list:
        if task == "speech":
            return self.predict(API_NAMES[task], self.upload(sorted(ASSETS.glob("*.wav"))[i % 2]))
        if task == "image_classification":
            images = sorted(ASSETS.glob("*.png"))
            return self.predict(API_NAMES[task], self.upload(images[i % len(images)]))
        return self.predict(API_NAMES[task], TEXTS[i % len(TEXTS)])


# ---- The app under test ----


@dataclass
class App:
    url: str
    pid: int | None = None
    process: subprocess.Popen | None = None
    folder: tempfile.TemporaryDirectory | None = None
    log: Path | None = None

    def rss_mb(self) -> float | None:
        """The app process's own resident memory (the fine-tune's child is not counted), in MiB."""
        if self.pid is None:
            return None
        import psutil

        return psutil.Process(self.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.folder is not None:
            self.folder.cleanup()


def start_tiny_app(clients: int) -> App:
    """Build the tiny models, write a config for them, and start `python app.py` on a free loopback port."""
    from tests.tiny_models import build_all

    folder = tempfile.TemporaryDirectory(prefix="studio-load-")
    root = Path(folder.name)
    progress("building the tiny models")
    models = build_all(root / "models")
    config = root / "models.toml"
    sections = "".join(
        f'[{task}]\ndefault = "{models[task]}"\n' for task in ("text_classification", "ner", "translation", "speech")
    )
    config.write_text(
        f"""[app]
runs_dir = "{root / "runs"}"
queue_size = {max(64, 4 * clients)}

{sections}[image_classification]
default = "{models["image_classification"]}"

[finetune]
default = "{models["text_classification"]}"
""",
        encoding="utf-8",
    )
    port = free_port()
    log = open(root / "app.log", "w")  # noqa: SIM115 (kept for the app's lifetime)
    process = subprocess.Popen(
        [sys.executable, "app.py", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = App(f"http://127.0.0.1:{port}/", process.pid, process, folder, root / "app.log")
    wait_for(app, root / "app.log")
    return app


def wait_for(app: App, log: Path, timeout_s: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(app.url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if app.process.poll() is not None or time.monotonic() > deadline:
            app.stop()
            raise SystemExit(f"the app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def progress(text: str) -> None:
    print(f"[load] {text}", file=sys.stderr, flush=True)


# ---- The run ----


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, task: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[task].append(seconds)
            if error is not None:
                self.errors[task].append(error)


def run_clients(url: str, clients: int, requests: int, deadline: float, results: Results, mix: list[str]) -> None:
    """`clients` threads share `requests` requests in `mix` order until all are sent or the deadline passes."""
    counter = itertools.count()

    def client_loop() -> None:
        client = Client(url)
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= requests:
                return
            task = mix[i % len(mix)]
            started = time.perf_counter()
            try:
                client.request(task, i)
                error = None
            except Exception as e:  # noqa: BLE001 (every failure is a finding to report)
                error = f"{type(e).__name__}: {e}"
            results.add(task, time.perf_counter() - started, error)

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 30)


def start_finetune(url: str, rows: int, epochs: int) -> dict:
    """One /finetune in the background, on the sample tickets repeated to `rows` rows; its outcome lands in the dict."""
    from gradio_client import Client as GradioClient
    from gradio_client import handle_file

    outcome: dict[str, Any] = {"status": "running"}
    lines = (ASSETS / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    data = Path(tempfile.mkdtemp(prefix="studio-load-data-")) / "tickets.csv"
    body = lines[1:] * (rows // max(1, len(lines) - 1) + 1)
    data.write_text("\n".join([lines[0], *body[:rows]]) + "\n", encoding="utf-8")

    def train() -> None:
        started = time.perf_counter()
        try:
            job = GradioClient(url, verbose=False).submit(handle_file(str(data)), epochs=epochs, api_name="/finetune")
            job.result(timeout=3600)
            # The last outputs may leave the status as it was; the run is done once a status said so.
            statuses = [o[0] for o in job.outputs() if o and isinstance(o[0], str)]
            done = any(status.startswith("Done in") for status in statuses)
            outcome.update(status="done" if done else f"ended: {statuses[-1] if statuses else 'no status'}")
        except Exception as e:  # noqa: BLE001
            outcome.update(status=f"failed: {type(e).__name__}: {e}")
        outcome["seconds"] = time.perf_counter() - started

    outcome["thread"] = threading.Thread(target=train, daemon=True)
    outcome["thread"].start()
    return outcome


def report(args: argparse.Namespace, results: Results, memory: dict, finetune: dict | None, seconds: float) -> str:
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(len(v) for v in results.errors.values())
    out = [
        f"### Load test: {args.clients} clients, {total} requests in {seconds:.0f} s"
        + (", one fine-tune alongside" if finetune else ""),
        "",
        f"{os.cpu_count()} CPU cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"{'tiny test models' if not args.url else args.url}.",
        "",
        "| task | requests | errors | p50 (ms) | p95 (ms) | max (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for task, api_name in API_NAMES.items():
        values = results.latencies.get(task, [])
        out.append(
            f"| {api_name} | {len(values)} | {len(results.errors.get(task, []))} | "
            f"{percentile(values, 50) * 1000:,.0f} | {percentile(values, 95) * 1000:,.0f} | "
            f"{max(values, default=float('nan')) * 1000:,.0f} |"
        )
    everything = [v for values in results.latencies.values() for v in values]
    out.append(
        f"| **all** | {total} | {errors} | {percentile(everything, 50) * 1000:,.0f} | "
        f"{percentile(everything, 95) * 1000:,.0f} | {max(everything, default=float('nan')) * 1000:,.0f} |"
    )
    out.append("")
    if finetune:
        out.append(f"- Fine-tune: {finetune['status']} in {finetune.get('seconds', float('nan')):.0f} s.")
    if memory.get("start") is not None:
        growth = memory["end"] - memory["loaded"]
        out.append(
            f"- App resident memory: {memory['start']:,.0f} MiB at start, {memory['loaded']:,.0f} MiB with every "
            f"model loaded, {memory['end']:,.0f} MiB at the end ({growth:+,.0f} MiB after the models loaded)."
        )
    for task, messages in results.errors.items():
        for message in sorted(set(messages))[:5]:
            out.append(f"- Error in {API_NAMES[task]} ({messages.count(message)}x): {message[:300]}")
    out.append(f"- Result: {'zero errors' if errors == 0 else f'{errors} errors'}.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_test", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an app already running on this machine (default: start one on tiny models)")
    parser.add_argument("--pid", type=int, help="with --url: the app's process id, to measure its memory")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sending after this long")
    parser.add_argument("--tasks", nargs="+", choices=list(API_NAMES), help="only these tasks (default: all five)")
    parser.add_argument("--no-finetune", action="store_true", help="do not train alongside")
    parser.add_argument("--finetune-rows", type=int, default=600)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS / "load_test.md")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 10_000 or not 0 < args.max_seconds <= 3600:
        parser.error("keep it bounded: 1-64 clients, 1-10,000 requests, at most 3,600 seconds")
    if args.url:
        args.url = args.url.rstrip("/") + "/"
        if urlparse(args.url).hostname not in LOOPBACK:
            parser.error("the load test runs against this machine only (127.0.0.1, localhost or ::1)")
        app = App(args.url, args.pid)
    else:
        app = start_tiny_app(args.clients)

    try:
        memory: dict[str, float | None] = {"start": app.rss_mb()}
        progress("warming up: one request per task loads every model")
        warm = Client(app.url)
        for i, task in enumerate(args.tasks or API_NAMES):
            warm.request(task, i)
        time.sleep(1.0)
        memory["loaded"] = app.rss_mb()
        finetune = None if args.no_finetune else start_finetune(app.url, args.finetune_rows, args.finetune_epochs)
        progress(f"{args.clients} clients, {args.requests} requests, at most {args.max_seconds:.0f} s")
        results = Results()
        started = time.monotonic()
        mix = [task for task in MIX if task in (args.tasks or API_NAMES)]
        run_clients(app.url, args.clients, args.requests, started + args.max_seconds, results, mix)
        seconds = time.monotonic() - started
        if finetune:
            progress("waiting for the fine-tune to finish")
            finetune["thread"].join(timeout=1800)
        time.sleep(1.0)
        memory["end"] = app.rss_mb()
    finally:
        if app.log is not None:  # kept beside the report: the server's side of any error
            shutil.copyfile(app.log, args.output.with_suffix(".app.log"))
        app.stop()

    text = report(args, results, memory, finetune, seconds)
    print(text)
    args.output.write_text(text, encoding="utf-8")
    failed = sum(len(v) for v in results.errors.values()) or (finetune and finetune["status"] != "done")
    sent = sum(len(v) for v in results.latencies.values())
    return 1 if failed or sent < args.requests else 0


if __name__ == "__main__":
    sys.exit(main())
