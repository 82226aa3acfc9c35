"""Cold start and first-request load time: the app against a bare Gradio app and a bare library process.

Cold start is process start to the first HTTP 200 of `python app.py`, against a one-textbox Gradio app (the
floor: importing Gradio and serving its page). First request: for each task a fresh app gets its first
request (the model loads then) and the app's log says how long the load itself took; the baseline is a
fresh Python process that imports the library, loads the same model and runs it once.

    .venv/bin/python -m bench startup [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common
from bench.common import API_NAMES, ASSETS, TASKS, Table, median, progress

GOAL_S = 10.0
BARE_GRADIO = """
import sys, gradio as gr
with gr.Blocks() as demo:
    text = gr.Textbox()
    gr.Button().click(lambda t: t, text, text)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""
FIRST_INPUT = {
    "text_classification": "The battery died after two days and support never answered my emails.",
    "ner": "Angela Merkel met Emmanuel Macron in Berlin.",
    "translation": "The weather is lovely today.",
    "speech": ASSETS / "speech_jfk.wav",
    "image_classification": ASSETS / "traffic_light.png",
}


def bare_gradio_start() -> float:
    with common.script_server(BARE_GRADIO) as (_, seconds):
        return seconds


# What direct_first(keep=True) loaded, kept alive for the memory benchmark.
KEPT: list[Any] = []


def direct_first(task: str, ref: str, keep: bool = False) -> dict[str, float]:
    """In this (fresh) process: seconds to import the library, load the model, and run it once."""
    started = time.perf_counter()
    from studio.hf import local_or_hub

    source = local_or_hub(ref)
    item: Any = FIRST_INPUT[task]
    if task in {"text_classification", "ner", "translation"}:
        import torch
        import transformers

        imported = time.perf_counter()
        if task == "ner":
            model = transformers.pipeline("token-classification", model=source, aggregation_strategy="simple")
            loaded = time.perf_counter()
            model(item)
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            auto = (
                transformers.AutoModelForSequenceClassification
                if task == "text_classification"
                else transformers.AutoModelForSeq2SeqLM
            )
            model = auto.from_pretrained(source).eval()
            loaded = time.perf_counter()
            with torch.inference_mode():
                encoded = tokenizer([item], return_tensors="pt")
                if task == "translation":
                    n = encoded["input_ids"].shape[1]
                    model.generate(**encoded, num_beams=4, max_new_tokens=2 * n + 16)
                else:
                    model(**encoded).logits.softmax(-1)
    elif task == "speech":
        import whisper

        imported = time.perf_counter()
        model = whisper.load_model(source, device="cpu")
        loaded = time.perf_counter()
        whisper.transcribe(model, str(item), fp16=False)
    else:
        import timm
        import torch
        from PIL import Image
        from timm.data import create_transform, resolve_data_config

        imported = time.perf_counter()
        model = timm.create_model(f"local-dir:{source}", pretrained=True).eval()
        transform = create_transform(**resolve_data_config(model=model))
        loaded = time.perf_counter()
        with Image.open(item) as image, torch.inference_mode():
            model(transform(image.convert("RGB")).unsqueeze(0)).softmax(-1).topk(5)
    done = time.perf_counter()
    if keep:
        KEPT.append(model)
    return {"import": imported - started, "load": loaded - imported, "first": done - loaded, "total": done - started}


def direct_first_in_subprocess(task: str, ref: str) -> dict[str, float]:
    started = time.perf_counter()
    timings = common.run_json("bench.startup", "--direct-first", task, ref)
    timings["process"] = time.perf_counter() - started
    return timings


def app_first(config: Path, task: str) -> dict[str, float]:
    """A fresh app: cold start, its first request of `task` (which loads the model), then a warm one."""
    with common.AppServer(config) as app:
        client = common.gradio_client(app.url)
        api = API_NAMES[task]
        started = time.perf_counter()
        client.predict(*common.client_args(task, FIRST_INPUT[task]), api_name=api)
        first = time.perf_counter() - started
        started = time.perf_counter()
        client.predict(*common.client_args(task, FIRST_INPUT[task]), api_name=api)
        warm = time.perf_counter() - started
        return {"start": app.startup_seconds, "first": first, "warm": warm, "load": app.load_seconds().get(task, 0.0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=TASKS)
    parser.add_argument("--direct-first", nargs=2, metavar=("TASK", "REF"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.direct_first:
        print(json.dumps(direct_first(*args.direct_first)), flush=True)
        return 0

    common.start_results("startup")
    refs = common.build_models(progress)
    bare, apps, directs = [], {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        config = common.write_config(Path(tmp) / "models.toml", refs)
        for task in args.tasks:
            progress(f"startup: bare Gradio, then a fresh app and its first {task} request, then the bare library")
            bare.append(bare_gradio_start())
            apps[task] = app_first(config, task)
            directs[task] = direct_first_in_subprocess(task, refs[task])
    report(bare, apps, directs)
    return 0


def report(bare: list[float], apps: dict[str, dict], directs: dict[str, dict]) -> None:
    starts = [a["start"] for a in apps.values()]
    cold = Table(
        "Cold start: process start to first HTTP 200 (s)",
        ["Process", "Runs", "Median", "Slowest", f"Goal < {GOAL_S:.0f} s"],
    )
    cold.add("python app.py (all six tabs, no model loaded)", len(starts), f"{median(starts):.1f}",
             f"{max(starts):.1f}", common.mark(max(starts) < GOAL_S))  # fmt: skip
    cold.add("bare Gradio app (one textbox)", len(bare), f"{median(bare):.1f}", f"{max(bare):.1f}", "")
    cold.note(
        f"The app takes {median(starts) / median(bare):.2f}x the bare Gradio app's start: importing Gradio and "
        "serving the page is most of it; torch, transformers, timm and whisper are imported on first use."
    )
    first = Table(
        "First request per task on a fresh app vs a fresh library process (s)",
        ["Task", "App: first request", "of which model load (app log)", "App: warm request",
         "Library: import + load + first call", "import / load / first call", "App first / library"],
    )  # fmt: skip
    for task, app in apps.items():
        direct = directs[task]
        first.add(
            task,
            f"{app['first']:.1f}",
            f"{app['load']:.1f}",
            f"{app['warm']:.2f}",
            f"{direct['total']:.1f}",
            f"{direct['import']:.1f} / {direct['load']:.1f} / {direct['first']:.1f}",
            f"{app['first'] / direct['total']:.2f}x",
        )
    first.note(
        "The app's first request of a task imports that task's libraries (on the first task of a fresh app, torch "
        "too), loads the model and runs it, like the library process; the library column leaves out the Python "
        "interpreter's own start."
    )
    cold.show("startup")
    first.show("startup")


if __name__ == "__main__":
    sys.exit(main())
