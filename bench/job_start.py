"""Job start: a batch run or a fine-tune as a new Python process, against the same job forked from the warm helper
(studio/forkserver.py), which has PyTorch, Transformers, scikit-learn and timm imported already.

Each job runs as the app runs it (studio/jobs.py: a child process whose JSON events it reads), on the repository's
sample files and the offline pack's models, alternately one way and the other; the table gives the median seconds
from start to the job's last event. The helper's own memory is what keeping it costs.

    .venv/bin/python -m bench job_start [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import ASSETS, Table, median, progress, rss_mb, start_results

NAME = "job_start"


def jobs(output: Path) -> dict[str, list[str]]:
    """Each job's `python -m` arguments; {out} is a fresh output folder per run."""
    return {
        "Batch run: 45 support tickets (MiniLM-L6 zero-shot, offline)": [
            "batch.evaluate",
            *("--task", "text_classification", "--data", str(ASSETS / "support_tickets.csv")),
            *("--text-column", "text", "--output", "{out}", "--progress", "jsonl"),
        ],
        "Batch run: the sample zip of pictures (EfficientNet-Lite0, offline)": [
            "batch.evaluate",
            *("--task", "image_classification", "--data", str(ASSETS / "fashion_sample.zip")),
            *("--output", "{out}", "--progress", "jsonl"),
        ],
        "Fine-tune: MiniLM-L6 on 45 tickets, 1 epoch": [
            "finetune",
            *("--task", "text", "--data", str(ASSETS / "support_tickets.csv"), "--model", "pack:minilm-l6"),
            *("--epochs", "1", "--output", "{out}", "--progress", "jsonl"),
        ],
    }


def run_job(arguments: list[str], output: Path) -> float:
    """Seconds from start to the job's last event; fails loudly if the job did not finish."""
    from studio import jobs

    command = jobs.python_module(arguments[0], [a.replace("{out}", str(output)) for a in arguments[1:]])
    job = jobs.ChildJob()
    started = time.perf_counter()
    job.start(command)
    last = None
    for event in job.events():
        last = event or last
    seconds = time.perf_counter() - started
    if not last or last.get("event") != "done":
        raise SystemExit(f"{arguments[0]} did not finish: {last}")
    return seconds


def warm_helper() -> int:
    """Start the helper and wait until it is ready; its pid."""
    from studio import forkserver, jobs

    os.environ.pop("STUDIO_WARM_JOBS", None)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    forkserver.start(jobs.python_module("batch.evaluate", ["--help"]), jobs.ROOT, env, 2)  # starts the helper
    deadline = time.monotonic() + 300
    while not (forkserver._helper and forkserver._helper.ready()):
        if time.monotonic() > deadline:
            raise SystemExit("the warm helper did not become ready in 5 minutes")
        time.sleep(0.5)
    return forkserver._helper.process.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench job_start")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    start_results(NAME)
    helper_pid = warm_helper()
    table = Table(
        "Job start: a new process against a fork of the warm helper (median seconds, start to last event)",
        ["Job", "New process", "Forked", "Ratio", "Saved"],
    )
    with tempfile.TemporaryDirectory() as scratch:
        for name, arguments in jobs(Path(scratch)).items():
            times: dict[str, list[float]] = {"new": [], "forked": []}
            for run in range(args.runs):
                for way in ("new", "forked"):
                    os.environ["STUDIO_WARM_JOBS"] = "0" if way == "new" else "1"
                    seconds = run_job(arguments, Path(scratch) / f"{way}-{run}-{len(times[way])}-{abs(hash(name))}")
                    times[way].append(seconds)
                    progress(f"{name}: {way} {seconds:.1f} s")
            new, forked = median(times["new"]), median(times["forked"])
            table.add(name, f"{new:.1f}", f"{forked:.1f}", f"{forked / new:.2f}×", f"{new - forked:.1f} s")
    os.environ.pop("STUDIO_WARM_JOBS", None)
    table.note(f"{args.runs} runs each way, alternating. The helper holds {rss_mb(helper_pid):.0f} MB resident.")
    table.show(NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
