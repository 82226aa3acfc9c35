"""Batch runs: rows per second through the app's 'Run on a file' job against calling predict in a loop in-process.

The model is the text benchmark's stand-in for DistilBERT SST-2 (its architecture and size, random weights); the
file is real BBC News text cut to 30-400 characters. Three ways through the same rows:

- predict in a loop: this process, the model loaded once, `text_classification.predict(model, [text])` per row;
- the batch job's own pace: rows / the child's predict time (length-sorted chunks of 64, no loading);
- the batch job end to end: /batch_classify_text over HTTP, from upload to the results file, including the
  child process's start and its loading of the model.

    .venv/bin/python -m bench batch [-- --rows 1000]
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
    started = time.perf_counter()
    loop = [text_classification.predict(model, [text])[0] for text in texts]
    loop_seconds = time.perf_counter() - started
    del model

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


def _job_seconds(status: str) -> float:
    """The child's predict time, from the run's closing status line ("Done: 1,000 rows in 12.3 s ...")."""
    found = re.search(r"rows in ([0-9.]+) s", status)
    return float(found.group(1)) if found else 0.0
