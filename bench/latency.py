"""Warm latency per task: the app's endpoint over HTTP against the direct library call, same model, same inputs.

The app runs as `python app.py` in a subprocess and is called two ways: through gradio_client (what the README
documents) and through Gradio's queue API over plain HTTP (the same requests, without gradio_client's 50 ms
result polling). Gradio reports how long each event's function ran on the server, which splits the time
into the model, the app's own code, and Gradio's queue and HTTP. The direct calls run in a third process that
does nothing else and times them itself. A one-line Gradio echo app gives the floor that any Gradio endpoint
pays. Requests of the three kinds take turns, so load from other processes on the machine falls on all of them
alike.

    .venv/bin/python -m bench latency [--tasks ner translation] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import common
from bench.common import API_NAMES, ASSETS, Table, median, ms, percentile, progress, ratio
from studio import compute

# Rows of the table: (row name, task whose endpoint serves it, which model).
ROWS = (
    ("text_classification", "text_classification", "text_classification"),
    ("ner", "ner", "ner"),
    ("translation", "translation", "translation"),
    ("speech", "speech", "speech"),
    ("image_classification", "image_classification", "image_classification"),
    ("image (EfficientNet-Lite0)", "image_classification", "image_efficientnet"),
)
# The targets: plain HTTP within 1.15x of the direct call where the model takes 100 ms or more; below that,
# where Gradio's own ~11 ms floor alone is a large share, the app's own code within 10 ms.
GOAL = 1.15
SLOW_MODEL_S = 0.100
GOAL_OWN_CODE_S = 0.010
ECHO_APP = """
import sys, gradio as gr
with gr.Blocks() as demo:
    text, out = gr.Textbox(), gr.Textbox()
    image = gr.Image(type="filepath")
    gr.Button().click(lambda t: t, text, out, api_name="echo_text")
    gr.Button().click(lambda p: "ok" if p else "", image, out, api_name="echo_image")
demo.queue(default_concurrency_limit=2)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""


def inputs_for(task: str) -> list[Any]:
    """A few real inputs per task; requests cycle through them."""
    if task in {"text_classification", "ner"}:
        return common.news_texts(8, seed=1, min_chars=80, max_chars=300)
    if task == "translation":
        # One sentence each, so the app's sentence splitting makes the same single batch as the direct call.
        return [
            "The weather is lovely today.",
            "Machine translation has improved a lot.",
            "The museum opens at nine in the morning.",
        ]
    if task == "speech":
        return [ASSETS / "speech_jfk.wav"]
    return [ASSETS / "traffic_light.png", ASSETS / "tennis_ball.png", ASSETS / "crossword.png"]


@dataclass
class Baseline:
    """How the raw library gets a task's result, with the same options as the app's defaults."""

    direct: Callable[[Any], Any]  # the library's own call, doing all the work the app's defaults ask for
    in_process: Callable[[Any], Any]  # the app's predict() on the same model object, no server
    how: str
    # The library's call with its own defaults, where the app's defaults ask for more (word timings, say):
    # direct - model_alone is the work a user asked for, not overhead.
    model_alone: Callable[[Any], Any] | None = None
    asked_for: str = ""


def direct_call(task: str, ref: str) -> Baseline:
    """The raw library's way to get the task's result with the app's default options, and the app's predict().

    Both share one copy of the model, loaded by the task module, so they run the very same weights.
    """
    import torch

    if task == "text_classification":
        from tasks import text_classification

        loaded = text_classification.load(ref, "cpu")
        tokenizer, model = loaded.tokenizer, loaded.model

        def classify(text: str) -> dict:
            with torch.inference_mode():
                encoded = tokenizer([text], truncation=True, return_tensors="pt")
                scores = model(**encoded).logits.softmax(-1)[0].tolist()
            return {model.config.id2label[i]: s for i, s in enumerate(scores)}

        return Baseline(
            classify,
            lambda text: text_classification.predict(loaded, [text])[0],
            "tokenizer + model forward + softmax under torch.inference_mode",
        )
    if task == "ner":
        from transformers import pipeline

        from tasks import ner

        loaded = ner.load(ref, "cpu")
        # "first", as the app tags a word by its first sub-token (ner.predict); both read long texts in windows.
        tagger = pipeline(
            "token-classification",
            model=loaded.model,
            tokenizer=loaded.tokenizer,
            aggregation_strategy="first",
            stride=ner.WINDOW_STRIDE,
        )
        return Baseline(
            tagger,
            lambda text: ner.predict(loaded, [text])[0],
            f'transformers.pipeline("token-classification", aggregation_strategy="first", stride={ner.WINDOW_STRIDE})',
        )
    if task == "translation":
        from tasks import translation

        loaded = translation.load(ref, "cpu")
        tokenizer, model = loaded.tokenizer, loaded.model

        def translate(text: str) -> str:
            with torch.inference_mode():
                encoded = tokenizer([text], truncation=True, return_tensors="pt")
                limit = translation._max_new_tokens(encoded["input_ids"].shape[1], model.config)
                generated = model.generate(**encoded, num_beams=4, max_new_tokens=limit)
            return tokenizer.batch_decode(generated, skip_special_tokens=True)[0]

        return Baseline(
            translate,
            lambda text: translation.predict(loaded, text),
            "tokenizer + model.generate(num_beams=4, max_new_tokens=2*source+16) + decode",
        )
    if task == "speech":
        return speech_baseline(ref)
    from PIL import Image

    from tasks import image_classification

    loaded = image_classification.load(ref, "cpu")

    def classify_image(path: Path) -> Any:
        with Image.open(path) as image:
            batch = loaded.transform(image.convert("RGB")).unsqueeze(0)
        with torch.inference_mode():
            return loaded.model(batch).softmax(-1).topk(5)

    return Baseline(
        classify_image,
        lambda path: image_classification.predict(loaded, [image_classification.open_image(str(path), 10**9)])[0],
        "PIL open + timm transform + model forward + softmax top-5 under torch.inference_mode",
    )


def speech_baseline(ref: str) -> Baseline:
    """faster-whisper, the engine the app runs on a CPU, on the same model object, with the app's default decoding.

    The app's default (timestamps on) asks Whisper for word timings, which pin each segment to its speech: the
    library's call with its own defaults (beam 5, no word timings) is the model alone.
    """
    from tasks import speech

    loaded = speech.load(ref, "cpu")
    engine = loaded.model
    options = speech.decoding_options(timestamps=True)
    options["log_prob_threshold"] = options.pop("logprob_threshold")
    options["temperature"] = list(options["temperature"])

    def transcribe(path: Path, **chosen: Any) -> str:
        segments, _ = engine.transcribe(str(path), vad_filter=False, **chosen)
        return "".join(s.text for s in segments).strip()

    def in_process(path: Path) -> dict:
        return speech.predict(loaded, speech.load_audio(str(path), 10**6))

    return Baseline(
        lambda path: transcribe(path, **options),
        in_process,
        f"faster-whisper WhisperModel.transcribe(path), language detected, beam {speech.BEAM_SIZE}, word timings on "
        "(the app's default timestamps), int8 on CPU",
        model_alone=transcribe,
        asked_for="word timings (the Timestamps box, on by default), which pin segments to speech",
    )


def echo_floor(seconds: float) -> dict[str, dict[str, float]]:
    """The round trip of a Gradio endpoint that does nothing, for text and for an uploaded image."""
    with common.script_server(ECHO_APP) as (url, _):
        client, plain = common.gradio_client(url), common.PlainClient(url)
        floors = {}
        for kind, api, item in (
            ("text", "/echo_text", "hello"),
            ("file", "/echo_image", ASSETS / "traffic_light.png"),
        ):
            task = "text_classification" if kind == "text" else "image_classification"
            times: dict[str, list[float]] = {"gradio_client": [], "plain": []}
            deadline = time.perf_counter() + seconds
            for i in range(40):
                if i >= 10 and time.perf_counter() > deadline:
                    break
                args = common.client_args(task, item)
                started = time.perf_counter()
                client.predict(*args, api_name=api)
                times["gradio_client"].append(time.perf_counter() - started)
                started = time.perf_counter()
                plain.predict(api, *plain.args(task, item))
                times["plain"].append(time.perf_counter() - started)
            floors[kind] = {k: median(v[2:]) for k, v in times.items()}
        plain.close()
        return floors


def measure(row: str, task: str, model_key: str, refs: dict, app: common.AppServer, seconds: float) -> dict:
    """Interleaved repeated requests: direct call, app via gradio_client, app via plain HTTP."""
    api = API_NAMES[task]
    ref = refs[model_key]
    items = inputs_for(task)
    progress(f"latency: {row}: loading the direct model in a process of its own")
    baseline = BaselineProcess(task, ref)
    client, plain = common.gradio_client(app.url), common.PlainClient(app.url)

    def via_client(item: Any) -> Any:
        return client.predict(*common.client_args(task, item), ref, api_name=api)

    def via_plain(item: Any) -> tuple[Any, float]:
        return plain.predict(api, *plain.args(task, item), ref)

    def in_baseline(name: str) -> Callable[[Any], float]:
        return lambda item: baseline.call(name, items.index(item))

    calls = [("direct", in_baseline("direct")), ("client", via_client), ("plain", via_plain)]
    calls.append(("predict", in_baseline("predict")))
    if baseline.has_model_alone:
        calls.append(("model_alone", in_baseline("model_alone")))
    progress(f"latency: {row}: warming up (the app loads its model on the first request)")
    first_app = common.timed(lambda: via_client(items[0]))[0]
    for item in items[:2]:
        for name, call in calls:
            if name != "client":
                call(item)
    single = baseline.call("direct", 0)
    # Bounded time per row: fewer rounds for slow models (at least 5, so one burst of load elsewhere on the
    # machine cannot make the median).
    reps = max(5, min(40, int(seconds / max(1e-3, len(calls) * single))))
    progress(f"latency: {row}: {reps} rounds of {len(calls)} requests (about {reps * single * len(calls):.0f} s)")
    times: dict[str, list[float]] = {name: [] for name, _ in calls}
    times["server"] = []
    for i in range(reps):
        item = items[i % len(items)]
        turn = i % len(calls)
        for name, call in calls[turn:] + calls[:turn]:
            started = time.perf_counter()
            result = call(item)
            seconds_taken = time.perf_counter() - started
            # The baseline process times its own calls, leaving out the pipe.
            times[name].append(result if name in BASELINE_CALLS else seconds_taken)
            if name == "plain":
                times["server"].append(result[1])
    plain.close()
    baseline.close()
    return {
        "row": row,
        "task": task,
        "how": baseline.how,
        "asked_for": baseline.asked_for,
        "reps": reps,
        "first_app": first_app,
        **times,
    }


BASELINE_CALLS = ("direct", "predict", "model_alone")


class BaselineProcess:
    """The direct and in-process calls, run in a process of their own that does nothing else.

    In the benchmark's own process they shared the interpreter with the HTTP clients' threads and came out slower
    than the app's handler (Marian: 1,221 ms there, 975 ms alone): a baseline must not be slowed by the harness.
    """

    def __init__(self, task: str, ref: str):
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.latency", "--baseline", task, ref],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=common.bench_env(),
            text=True,
        )
        ready = json.loads(self._line())
        self.how, self.asked_for, self.has_model_alone = ready["how"], ready["asked_for"], ready["model_alone"]

    def call(self, name: str, index: int) -> float:
        """Seconds the baseline's `name` call took on input `index` of inputs_for(task), timed in its process."""
        self.process.stdin.write(json.dumps([name, index]) + "\n")
        self.process.stdin.flush()
        return float(self._line())

    def _line(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the baseline process ended (exit code {self.process.wait()})")
        return line

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def serve_baseline(task: str, ref: str) -> int:
    """The baseline process: load the direct model, then time each call asked for on stdin, one a line."""
    import os

    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # what the libraries print stays off the answers
    common.configure_threads()
    # Where the app computes: PyTorch models on a compute thread as the app's own (a second thread running PyTorch
    # here would slow both; studio/compute.py says why), faster-whisper from the thread that asks, as the app's
    # speech tab calls it (CTranslate2 computes on threads of its own).
    run = (lambda fn, *args: fn(*args)) if task == "speech" else compute.run
    baseline = run(direct_call, task, ref)
    items = inputs_for(task)
    calls = {"direct": baseline.direct, "predict": baseline.in_process, "model_alone": baseline.model_alone}
    ready = {"how": baseline.how, "asked_for": baseline.asked_for, "model_alone": baseline.model_alone is not None}
    print(json.dumps(ready), file=answers, flush=True)
    for line in sys.stdin:
        name, index = json.loads(line)
        started = time.perf_counter()
        run(calls[name], items[index])
        print(time.perf_counter() - started, file=answers, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="*", default=[r[0] for r in ROWS], help="rows to measure")
    parser.add_argument("--seconds", type=float, default=20.0, help="about how long each row runs")
    parser.add_argument("--baseline", nargs=2, metavar=("TASK", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline:
        return serve_baseline(*args.baseline)
    common.start_results("latency")
    common.configure_threads()
    refs = compute.in_own_thread(common.build_models, progress)  # a thread that ends, as the app loads
    rows = [r for r in ROWS if r[0] in args.tasks]
    progress("latency: measuring the Gradio floor (an echo app)")
    floor = echo_floor(args.seconds / 2)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        config = common.write_config(Path(tmp) / "models.toml", refs, max_loaded_models=8)
        with common.AppServer(config) as app:
            for row, task, model_key in rows:
                try:
                    results.append(measure(row, task, model_key, refs, app, args.seconds))
                except Exception as e:  # one failing row must not hide the others
                    progress(f"latency: {row} failed: {type(e).__name__}: {e}\n{app.log_text()[-2000:]}")
                    results.append({"row": row, "error": f"{type(e).__name__}: {e}"})
    report(results, floor)
    return 0


def goal_met(direct: float, plain: float, server: float) -> str:
    if direct >= SLOW_MODEL_S:
        return common.mark(plain / direct <= GOAL)
    return common.mark(server - direct <= GOAL_OWN_CODE_S) + " (own code)"


def report(results: list[dict], floor: dict) -> None:
    table = Table(
        "Warm latency, batch of one: app over HTTP vs the direct library call (ms; median, p95 in brackets)",
        [
            "Task",
            "Direct call",
            "App over HTTP (plain)",
            "App via gradio_client",
            "Plain / direct",
            "gradio_client / direct",
            f"Goal: <= {GOAL:.2f}x, or own code <= {GOAL_OWN_CODE_S * 1000:.0f} ms",
        ],
    )
    where = Table(
        "Where the app's time goes (ms, medians): the model, the app's own code, Gradio's queue and HTTP",
        [
            "Task",
            "Model alone",
            "Work asked for",
            "Direct call",
            "App predict() in-process",
            "App handler (server)",
            "App code over direct",
            "Gradio queue + HTTP",
            "gradio_client polling",
            "Handler / direct",
        ],
    )
    for r in results:
        if "error" in r:
            table.add(r["row"], "failed", r["error"][:80], "", "", "", "")
            continue
        direct, plain, client, server = (median(r[k]) for k in ("direct", "plain", "client", "server"))
        table.add(
            r["row"],
            f"{ms(direct)} ({ms(percentile(r['direct'], 95))})",
            f"{ms(plain)} ({ms(percentile(r['plain'], 95))})",
            f"{ms(client)} ({ms(percentile(r['client'], 95))})",
            ratio(plain, direct),
            ratio(client, direct),
            goal_met(direct, plain, server),
        )
        alone = median(r["model_alone"]) if r.get("model_alone") else direct
        where.add(
            r["row"],
            ms(alone),
            f"{(direct - alone) * 1000:+.0f}" if r.get("model_alone") else "none",
            ms(direct),
            ms(median(r["predict"])) if r["predict"] else "n/a",
            ms(server),
            f"{(server - direct) * 1000:+.1f}",
            ms(plain - server),
            ms(client - plain),
            ratio(server, direct),
        )
    for r in results:
        if "error" not in r:
            table.note(f"{r['row']}: {r['reps']} requests each way; direct = {r['how']}.")
            if r["asked_for"]:
                where.note(f"{r['row']}: work asked for = {r['asked_for']}; model alone = the library's own defaults.")
    table.note(
        f"The goal column judges plain HTTP against the direct call where that takes {SLOW_MODEL_S * 1000:.0f} ms or "
        "more, else the app's own code (handler - direct). Direct calls use the app's default options. "
        "Translation: both sides generate with "
        "num_beams=4 and the same max_new_tokens (2 x source tokens + 16, the app's own bound), because a "
        "random-weight model never stops by itself."
    )
    where.note(
        "Floor of any Gradio endpoint on this machine (an echo app): plain HTTP "
        f"{ms(floor['text']['plain'])} ms for text, {ms(floor['file']['plain'])} ms with an image upload; "
        f"gradio_client {ms(floor['text']['gradio_client'])} ms and {ms(floor['file']['gradio_client'])} ms."
    )
    where.note(
        "App predict() in-process = the task module's predict() on the same model object as the direct call, "
        "no server. App handler = Gradio's own measure of the event function (the app's checks, model lookup, request "
        "batcher, pre/post-processing and the forward pass); Gradio queue + HTTP = plain HTTP minus that; "
        "gradio_client polling = gradio_client minus plain HTTP (it checks for results every 50 ms)."
    )
    table.show("latency")
    where.show("latency")


if __name__ == "__main__":
    sys.exit(main())
