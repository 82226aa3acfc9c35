"""Batch runs: rows per second through the app's 'Run on a file' job against calling predict in a loop in-process.

The model is the text benchmark's stand-in for DistilBERT SST-2 (its architecture and size, random weights); the
file is real BBC News text cut to 30-400 characters. Three ways through the same rows:

- predict in a loop: this process, the model loaded once, `text_classification.predict(model, [text])` per row;
- the batch job's own pace: rows / the child's predict time (length-sorted chunks of 64, no loading);
- the batch job end to end: /batch_classify_text over HTTP, from upload to the results file, including the
  child process's start and its loading of the model.

And the batch runner against the raw model: batch/runner.py run() with the text classification spec against the
model's own batched forward (tokenizer + forward + softmax, the same length-sorted chunks of the spec's size), on
the same model object and texts in this process. The goal is a runner at 0.9x the raw pace or better.

    .venv/bin/python -m bench batch [-- --rows 1000] [--no-http]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from bench import common
from bench.common import Table, progress

RUNNER_GOAL = 0.9


def text_model() -> str:
    """The text benchmark model (built once, shared with the other benchmarks)."""
    folder = common.models_dir() / "text_classification"
    stamp = folder / ".bench-version"
    if not (stamp.is_file() and stamp.read_text() == common.MODELS_VERSION):
        progress(f"building the text_classification benchmark model in {folder} (once)")
        temporary = folder.parent / f".text_classification.{os.getpid()}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        common._build_text_classifier(temporary)
        stamp_file = temporary / ".bench-version"
        stamp_file.write_text(common.MODELS_VERSION)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(temporary, folder)
    return str(folder)


def write_config(path: Path, model: str) -> Path:
    # The other tasks are never loaded here; their sections only have to exist.
    others = "".join(f'[{task}]\ndefault = "unused"\n' for task in common.TASKS if task != "text_classification")
    path.write_text(f'[app]\nruns_dir = "{path.parent / "runs"}"\n[text_classification]\ndefault = "{model}"\n{others}')
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench batch")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--no-http", action="store_true", help="only the in-process rows, not the app's job")
    parser.add_argument("--rounds", type=int, default=3, help="turns each of the runner and the raw model take")
    args = parser.parse_args(argv)
    common.start_results("batch")
    model_ref = text_model()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    texts = common.news_texts(args.rows, seed=3, min_chars=30, max_chars=400)
    data = work / "news.csv"
    with open(data, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)

    progress(f"predict in a loop over {len(texts)} rows, in this process")
    common.configure_threads()
    from tasks import text_classification

    model = text_classification.load(model_ref, "cpu")
    text_classification.predict(model, texts[:4])  # warm up
    agree = show_runner_against_raw(model, texts, args.rounds)
    if args.no_http:
        shutil.rmtree(work, ignore_errors=True)
        return 0 if agree == len(texts) else 1
    started = time.perf_counter()
    loop = [text_classification.predict(model, [text])[0] for text in texts]
    loop_seconds = time.perf_counter() - started

    progress("the same rows through /batch_classify_text")
    config = write_config(work / "models.toml", model_ref)
    with common.AppServer(config).start() as app:
        from gradio_client import Client, handle_file

        client = Client(app.url, verbose=False)

        started = time.perf_counter()
        _, results_csv, *_, status = client.predict(handle_file(str(data)), "text", "", api_name="/batch_classify_text")
        end_to_end = time.perf_counter() - started
        client.close()
    with open(results_csv, encoding="utf-8", newline="") as f:
        results = list(csv.DictReader(f))
    same = sum(r["prediction"] == next(iter(p)) for r, p in zip(results, loop))
    job_seconds = _job_seconds(status)

    rows = len(texts)
    table = Table(
        f"Batch run of {rows:,} BBC News texts (30-400 characters), DistilBERT-size classifier, CPU",
        ["way", "seconds", "rows/s", "vs the loop"],
    )
    table.add(
        "predict in a loop (in-process, one row a call)", f"{loop_seconds:.1f}", f"{rows / loop_seconds:.1f}", "1.00x"
    )
    if job_seconds:
        table.add(
            "batch job, its own pace (chunks of 64, length-sorted)",
            f"{job_seconds:.1f}",
            f"{rows / job_seconds:.1f}",
            f"{loop_seconds / job_seconds:.2f}x",
        )
    table.add(
        "batch job end to end over HTTP (process start, model load, files)",
        f"{end_to_end:.1f}",
        f"{rows / end_to_end:.1f}",
        f"{loop_seconds / end_to_end:.2f}x",
    )
    table.note(f"{same:,} of {rows:,} predictions agree between the loop and the batch job (the same model).")
    table.show("batch")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if same == rows else 1


def show_runner_against_raw(model: object, texts: list[str], rounds: int) -> int:
    """The table of the batch runner against the raw model; returns how many top labels agree."""
    progress(f"batch runner against the raw model's batched forward, {rounds} turns each")
    runner_seconds, raw_seconds, agree = runner_against_raw(model, texts, rounds)
    rows = len(texts)
    versus_raw = Table(
        f"Batch runner against the raw model, {rows:,} texts in one process (goal >= {RUNNER_GOAL:.2f}x raw pace)",
        ["way", "seconds (median)", "rows/s", "pace vs raw", "goal"],
    )
    versus_raw.add(
        "raw model: tokenizer + forward + softmax", f"{raw_seconds:.2f}", f"{rows / raw_seconds:.1f}", "1.00x", ""
    )
    pace = raw_seconds / runner_seconds
    versus_raw.add(
        "batch/runner.py run(), text classification spec",
        f"{runner_seconds:.2f}",
        f"{rows / runner_seconds:.1f}",
        f"{pace:.2f}x",
        common.mark(pace >= RUNNER_GOAL),
    )
    versus_raw.note(
        f"Both take the texts longest first in chunks of {chunk_rows()} on the same model object, turn about; "
        f"{agree:,} of {rows:,} top labels agree."
    )
    versus_raw.show("batch")
    return agree


def runner_against_raw(model: object, texts: list[str], rounds: int) -> tuple[float, float, int]:
    """Median seconds of the batch runner and of the raw batched forward over `texts`, and how many labels agree."""
    import statistics

    from batch.runner import run
    from batch.specs import spec_for

    spec = spec_for("text_classification")
    raw(model, texts[:8], spec.chunk_rows)  # warm up
    ways = {"runner": lambda: run(spec, model, texts), "raw": lambda: raw(model, texts, spec.chunk_rows)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    answers: dict[str, list] = {}
    for turn in range(rounds):
        # Each goes first in turn, so a burst of load elsewhere falls on both alike.
        for name in sorted(ways, reverse=turn % 2 == 1):
            started = time.perf_counter()
            answers[name] = ways[name]()
            times[name].append(time.perf_counter() - started)
    ours, theirs = answers["runner"], answers["raw"]
    agree = sum(r["prediction"] == label for r, label in zip(ours, theirs))
    return statistics.median(times["runner"]), statistics.median(times["raw"]), agree


def chunk_rows() -> int:
    from batch.specs import spec_for

    return spec_for("text_classification").chunk_rows


def raw(model: object, texts: list[str], chunk_rows: int) -> list[str]:
    """Each text's top label by the model's own batched forward: longest first, padded chunks of `chunk_rows`."""
    import torch

    tokenizer, network = model.tokenizer, model.model
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    labels = [""] * len(texts)
    for start in range(0, len(order), chunk_rows):
        chunk = order[start : start + chunk_rows]
        encoded = tokenizer([texts[i] for i in chunk], truncation=True, padding=True, return_tensors="pt")
        with torch.inference_mode():
            best = network(**encoded).logits.softmax(-1).argmax(-1).tolist()
        for i, label in zip(chunk, best):
            labels[i] = network.config.id2label[label]
    return labels


def _job_seconds(status: str) -> float:
    """The child's predict time, from the run's closing status line ("Done: 1,000 rows in 12.3 s ...")."""
    found = re.search(r"rows in ([0-9.]+) s", status)
    return float(found.group(1)) if found else 0.0
