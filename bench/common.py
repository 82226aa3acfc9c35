"""What every benchmark shares: real-sized models, a config for them, the app as a subprocess, clients, tables.

No Hub here, so the text, NER, translation and ViT models are built once, with random weights, in the real
on-disk formats and at the real sizes of the app's default models (`build_models`); Whisper base,
EfficientNet-Lite0 and MiniLM-L6 are the offline pack's real weights. Random weights cost exactly what
trained ones cost to run; only their outputs are meaningless.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
RESULTS = ROOT / "bench" / "results"
# Bump when a built model changes, so cached copies are rebuilt.
MODELS_VERSION = "3"

TASKS = ("text_classification", "ner", "translation", "speech", "image_classification")
# What the app's defaults are, and what stands in for each here.
STAND_INS = {
    "text_classification": "DistilBERT base (SST-2's architecture), random weights, MiniLM's uncased 30,522 vocab",
    "ner": "BERT base token classifier (dslim/bert-base-NER's size), random weights, 9 CoNLL labels",
    "translation": "Marian with opus-mt-en-de's sizes (d_model 512, 6+6 layers, 58,101 tokens), random weights",
    "speech": "Whisper base, real weights (offline pack)",
    "image_classification": "ViT-B/16 224 (timm vit_base_patch16_224), random weights",
}
API_NAMES = {
    "text_classification": "/classify_text",
    "ner": "/recognize_entities",
    "translation": "/translate",
    "speech": "/transcribe",
    "image_classification": "/classify_image",
}
MARIAN_VOCAB = 58_101  # Helsinki-NLP/opus-mt-en-de's vocabulary size


# ----------------------------------------------------------------------------------------------- models


def models_dir() -> Path:
    """Where the benchmark models live: $STUDIO_BENCH_MODELS, else <STUDIO_CACHE>/bench."""
    from studio import pack

    return Path(os.environ.get("STUDIO_BENCH_MODELS") or pack.cache_dir() / "bench")


def build_models(log: Callable[[str], None] = print) -> dict[str, str]:
    """Task -> model reference for the benchmark models, building any that are missing (a minute, once)."""
    root = models_dir()
    builders = {
        "text_classification": _build_text_classifier,
        "ner": _build_token_classifier,
        "translation": _build_translator,
        "image_classification": _build_vit_base,
    }
    refs = {}
    for task, build in builders.items():
        folder = root / task
        stamp = folder / ".bench-version"
        if not (stamp.is_file() and stamp.read_text() == MODELS_VERSION):
            log(f"building the {task} benchmark model in {folder} (once)")
            temporary = root / f".{task}.{os.getpid()}.tmp"
            shutil.rmtree(temporary, ignore_errors=True)
            build(temporary)
            (temporary / ".bench-version").write_text(MODELS_VERSION)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(temporary, folder)
        refs[task] = str(folder)
    refs["speech"] = "pack:whisper-base"
    refs["image_efficientnet"] = "pack:efficientnet-lite0"
    return refs


def _minilm_tokenizer() -> Any:
    from transformers import AutoTokenizer

    from studio import pack

    tokenizer = AutoTokenizer.from_pretrained(str(pack.resolve("minilm-l6")))
    tokenizer.model_max_length = 512
    return tokenizer


def _build_text_classifier(folder: Path) -> None:
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    labels = ["NEGATIVE", "POSITIVE"]
    # distilbert-base-uncased's config, as distilbert-base-uncased-finetuned-sst-2-english has it.
    config = DistilBertConfig(
        vocab_size=30522,
        dim=768,
        n_layers=6,
        n_heads=12,
        hidden_dim=3072,
        max_position_embeddings=512,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(0)
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    _minilm_tokenizer().save_pretrained(folder)


def _build_token_classifier(folder: Path) -> None:
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from tests.tiny_models import NER_LABELS

    # BertConfig's defaults are bert-base: 768 hidden, 12 layers, 12 heads, 3072 intermediate.
    config = BertConfig(id2label=dict(enumerate(NER_LABELS)), label2id={label: i for i, label in enumerate(NER_LABELS)})
    torch.manual_seed(0)
    BertForTokenClassification(config).save_pretrained(folder)
    _minilm_tokenizer().save_pretrained(folder)


def _build_translator(folder: Path) -> None:
    """tests.tiny_models' Marian at opus-mt-en-de's sizes: SentencePiece trained on BBC News text (8,000 pieces,
    so that sentences split into about as many tokens as opus-mt's), the vocabulary padded to 58,101 entries."""
    from finetune.news_sample import bbc_news
    from tests.tiny_models import GERMAN_SENTENCES, _train_sentencepiece, write_marian

    sentences = [s for row in bbc_news(per_topic=120, max_chars=None) for s in row["text"].split(". ")]
    spm_bytes = _train_sentencepiece(sentences + GERMAN_SENTENCES, vocab_size=8000)
    write_marian(
        folder,
        spm_bytes,
        d_model=512,
        layers=6,
        heads=8,
        ffn_dim=2048,
        max_length=512,
        generation={"num_beams": 4},
        vocab_size=MARIAN_VOCAB,
    )


def _build_vit_base(folder: Path) -> None:
    import timm
    import torch

    torch.manual_seed(0)
    model = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=1000)
    timm.models.save_for_hf(model, folder, safe_serialization=True)


def write_config(path: Path, refs: dict[str, str], max_loaded_models: int = 8) -> Path:
    """A models.toml whose defaults are the benchmark models."""
    lines = [
        "[app]",
        f"max_loaded_models = {max_loaded_models}",
        f'runs_dir = "{path.parent / "runs"}"',
        "",
    ]
    for task in TASKS:
        lines += [f"[{task}]", f'default = "{refs[task]}"', f"[{task}.choices]", f'"bench" = "{refs[task]}"']
        if task == "image_classification":
            lines.append(f'"EfficientNet-Lite0" = "{refs["image_efficientnet"]}"')
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- inputs


def news_texts(count: int, seed: int = 0, min_chars: int = 60, max_chars: int = 400) -> list[str]:
    """Real English text: BBC News articles cut at a word boundary to a seeded, log-uniform random length."""
    from finetune.news_sample import bbc_news

    rows = bbc_news(per_topic=max(1, count // 5 + 1), seed=seed, max_chars=None)
    rng = random.Random(seed)
    texts = []
    for row in rows[:count]:
        texts.append(cut_text(row["text"], rng, min_chars, max_chars))
    return texts


def cut_text(text: str, rng: random.Random, min_chars: int, max_chars: int) -> str:
    """`text` cut at a word boundary near a log-uniform random length, as real inputs vary."""
    import math

    target = int(math.exp(rng.uniform(math.log(min_chars), math.log(max_chars))))
    if len(text) <= target:
        return text
    space = text.rfind(" ", 0, target + 1)
    return text[: space if space > 0 else target].rstrip()


def configure_threads() -> None:
    """The thread settings the app uses, so that the direct baseline runs under the same ones."""
    from studio.device import configure_threads as configure

    configure()


# ----------------------------------------------------------------------------------------------- the app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(**extra: str) -> dict[str, str]:
    """The environment the app and the baselines run in: offline, no analytics."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def run_json(module: str, *args: str) -> Any:
    """`python -m module args...` in a fresh process with the benchmarks' environment: the JSON it prints last."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=bench_env(), capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_timed(command: list[str]) -> float:
    """Run a command in the repo; its wall time in seconds, or exit with the end of its stderr when it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def news_train_and_held_out(per_topic: int, held_out_per_topic: int) -> tuple[list[dict], list[dict]]:
    """BBC News rows {"text", "label"} (finetune/news_sample.py): per_topic of each topic to train on, and
    held_out_per_topic other articles of each to test on."""
    from collections import defaultdict

    from finetune.news_sample import bbc_news

    by_topic = defaultdict(list)
    for row in bbc_news(per_topic=per_topic + held_out_per_topic, seed=0):
        by_topic[row["label"]].append(row)
    train = [row for rows in by_topic.values() for row in rows[:per_topic]]
    held_out = [row for rows in by_topic.values() for row in rows[per_topic:]]
    return train, held_out


@dataclass
class AppServer:
    """`python app.py --config ... --port ...` as a subprocess: started, waited for, measured, stopped."""

    config: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    startup_seconds: float = 0.0
    process: subprocess.Popen | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout_s: float = 120.0) -> AppServer:
        """Start the app; returns once GET / answers 200, with `startup_seconds` from process start."""
        self._log = tempfile.NamedTemporaryFile("w+", prefix="studio-app-", suffix=".log", delete=False)  # noqa: SIM115
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--config", str(self.config), "--port", str(self.port), "--host", "127.0.0.1"],
            cwd=ROOT,
            env=bench_env(**self.env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.startup_seconds = wait_for_http(self.url, started, timeout_s, self.process, self.log_text)
        except BaseException:  # __exit__ never runs when __enter__ raises, and the app has its own session
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        if self._log is None:
            return ""
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def load_seconds(self) -> dict[str, float]:
        """Each model's load time as the app logged it, keyed by task."""
        found = {}
        for task, _ref, seconds in re.findall(r"loaded (\S+) model (.+?) on \S+ in ([\d.]+) s", self.log_text()):
            found[task] = float(seconds)
        return found

    def rss_mb(self) -> float:
        """Resident memory of the app process (and any children), in MiB."""
        return rss_mb(self.process.pid)


def wait_for_http(
    url: str, started: float, timeout_s: float, process: subprocess.Popen, log: Callable[[], str] = lambda: ""
) -> float:
    """Seconds from `started` to the first HTTP 200 from `url`."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode} before serving:\n{log()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"no HTTP 200 from {url} after {timeout_s:.0f} s:\n{log()[-3000:]}")
        time.sleep(0.02)


@contextlib.contextmanager
def script_server(source: str, timeout_s: float = 120.0) -> Iterator[tuple[str, float]]:
    """`python -c source PORT` serving on a free port: (its URL, seconds from start to first HTTP 200)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", source, str(port)],
        env=bench_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        yield url, wait_for_http(url, started, timeout_s, process)
    finally:
        process.terminate()
        process.wait(timeout=15)


def rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20


def gradio_client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def client_args(task: str, item: Any) -> tuple:
    """gradio_client arguments for one request of a task."""
    if task in {"speech", "image_classification"}:
        from gradio_client import handle_file

        return (handle_file(str(item)),)
    return (item,)


class PlainClient:
    """Gradio's queue API over plain HTTP with keep-alive: what gradio_client does, without its 50 ms polling.

    Also returns Gradio's own measure of how long the event's function ran on the server.
    """

    def __init__(self, url: str):
        import httpx

        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=None)
        config = self.http.get(f"{self.url}/config").json()
        self.fn_index = {
            f"/{d['api_name']}": d["id"] for d in config["dependencies"] if d.get("api_name") and "id" in d
        }
        info = self.http.get(f"{self.url}/gradio_api/info", params={"serialize": "False"}).json()
        # Every input after the ones given takes its default, as gradio_client fills them in.
        self.defaults = {
            name: [p.get("parameter_default") for p in endpoint["parameters"]]
            for name, endpoint in info["named_endpoints"].items()
        }
        self.session = uuid.uuid4().hex

    def upload(self, path: str | Path) -> dict:
        path = Path(path)
        with path.open("rb") as f:
            response = self.http.post(f"{self.url}/gradio_api/upload", files=[("files", (path.name, f))])
        response.raise_for_status()
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def predict(self, api_name: str, *data: Any) -> tuple[Any, float]:
        """(outputs, server-side seconds) of one call; raises RuntimeError with the app's message on failure."""
        defaults = self.defaults.get(api_name, [])
        payload = {
            "data": [*data, *defaults[len(data) :]],
            "fn_index": self.fn_index[api_name],
            "session_hash": self.session,
            "event_data": None,
            "trigger_id": None,
        }
        joined = self.http.post(f"{self.url}/gradio_api/queue/join", json=payload)
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        with self.http.stream("GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": self.session}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event_id or message.get("msg") != "process_completed":
                    continue
                output = message.get("output") or {}
                if not message.get("success", False):
                    raise RuntimeError(output.get("error") or "the app failed")
                return output["data"], float(output.get("duration") or 0.0)
        raise RuntimeError("the event stream ended without a result")

    def args(self, task: str, item: Any) -> tuple:
        if task in {"speech", "image_classification"}:
            return (self.upload(item),)
        return (item,)

    def close(self) -> None:
        self.http.close()


# ----------------------------------------------------------------------------------------------- numbers


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "n/a"


def mark(ok: bool) -> str:
    return "yes" if ok else "NO"


# ----------------------------------------------------------------------------------------------- tables


class Table:
    """A Markdown table that prints itself and is saved under bench/results/."""

    def __init__(self, title: str, headers: Sequence[str]):
        self.title = title
        self.headers = list(headers)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: Any) -> None:
        self.rows.append([str(c) for c in cells])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        widths = [max([len(h)] + [len(r[i]) for r in self.rows]) for i, h in enumerate(self.headers)]

        def line(cells: Iterable[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

        out = [f"### {self.title}", "", line(self.headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(row) for row in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def show(self, name: str) -> None:
        self.note(f"Machine: {machine()}.")
        text = self.render()
        print("\n" + text, flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / f"{name}.md").open("a", encoding="utf-8") as f:
            f.write(text + "\n")


def start_results(name: str) -> None:
    """Begin this benchmark's results file afresh, stamped with when and where it ran."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(f"<!-- {time.strftime('%Y-%m-%d %H:%M:%S')}, {machine()} -->\n\n")


def machine() -> str:
    """One line about the machine: cores, load, and the torch build."""
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return f"{os.cpu_count()} CPU cores, load average {load} (1, 5, 15 min), Python {sys.version.split()[0]}"


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run target(i) in `count` threads released together; their results in order, re-raising the first error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as e:  # noqa: BLE001 (re-raised below, in the caller's thread)
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
