"""Batch runs: a whole file through a task's model, in length-sorted chunks, with progress and per-row errors.

Each task that runs on files says what differs in a `TaskBatch` (batch/specs.py): what it reads (a table of
texts, a zip of pictures, recordings), which predict, what fields the results add, which metrics score it.
Everything else — chunking, progress, bad rows, writing CSV and JSONL — is here, once; the files themselves are
read by studio/files/. The app runs it in a child process (`python -m batch.evaluate`, batch/ui.py); tests,
benchmarks and the CLI call it directly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.config import Limits
from studio.errors import UserError
from studio.files.rows import Rows
from studio.files.safe_csv import write_csv
from studio.i18n import language, say

log = logging.getLogger(__name__)

PREVIEW_ROWS = 20
REPORT_EVERY_S = 0.5
# A row's error, in its "error" column: in the language of the run (texts of the translation table).
EMPTY_TEXT = "empty text"
MODEL_FAILED = "the model could not process this row"

Report = Callable[[dict], None]


@dataclass(frozen=True)
class TaskBatch:
    """What one task's batch run needs that the others do not."""

    task: str  # the config section and tab: "text_classification"
    load: Callable[..., Any]  # the task's load(model_ref, device): what studio.load calls
    api_name: str  # "batch_classify_text"
    family: str  # which metrics score it: "classification", "entities", "translation"
    fields: tuple[str, ...]  # the columns its results add, e.g. ("prediction", "score")
    # (model, inputs, limits) -> per input a dict of `fields` (and "error" for a row it could not run)
    predict_rows: Callable[[Any, list[str], Limits], list[dict]]
    model_labels: Callable[[Any], list[str]] | None = None  # classification: the labels the model can answer
    # classification: whether the model gives each text several labels ("a;b" in prediction), scored as sets
    is_multi_label: Callable[[Any], bool] | None = None
    what: str = "texts"  # what a row holds, for messages
    reads: str = "table"  # "table" of texts; "pictures" (a zip) or "recordings" (files or a zip): file paths
    # Inputs per predict call: enough to batch well, few enough that progress moves and a bad row is cheap to find.
    chunk_rows: int = 64
    # (rows, results, output folder) -> {name: path} of more files to download, such as the subtitles' zip
    write_extras: Callable[[Rows, list[dict], Path], dict[str, str]] | None = None


def run(
    spec: TaskBatch,
    model: Any,
    inputs: list[str],
    report: Report = lambda event: None,
    limits: Limits = Limits(),
    progress_offset: int = 0,
    progress_total: int | None = None,
) -> list[dict]:
    """Each input's result fields (with "error": "" or what was wrong with the row), in input order.

    Inputs run in chunks of similar length, longest first, so each chunk pads little and a slow file shows
    its true pace early. An empty input is an error of its row; a chunk that fails is retried row by row,
    so one row the model cannot take never costs the others.
    """
    chunk_rows, max_chars = spec.chunk_rows, limits.max_text_chars
    results: list[dict | None] = [None] * len(inputs)
    todo = []
    for i, text in enumerate(inputs):
        if not text.strip():
            results[i] = {**dict.fromkeys(spec.fields, None), "error": say(EMPTY_TEXT)}
        else:
            todo.append(i)
    todo.sort(key=lambda i: len(inputs[i]), reverse=True)
    total = progress_total if progress_total is not None else len(inputs)
    done = len(inputs) - len(todo)
    started = last = time.monotonic()
    for start in range(0, len(todo), chunk_rows):
        chunk = todo[start : start + chunk_rows]
        for i, fields in zip(chunk, _predict_chunk(spec, model, [inputs[i][:max_chars] for i in chunk], limits)):
            results[i] = fields
        done += len(chunk)
        now = time.monotonic()
        if now - last >= REPORT_EVERY_S or start + chunk_rows >= len(todo):
            last = now
            report(_progress(progress_offset + done, total, now - started, done))
    if not todo:
        report(_progress(progress_offset + done, total, 0.0, done))
    return [r if r is not None else {"error": say(MODEL_FAILED)} for r in results]


def _predict_chunk(spec: TaskBatch, model: Any, texts: list[str], limits: Limits) -> list[dict]:
    try:
        return [{"error": "", **fields} for fields in spec.predict_rows(model, texts, limits)]
    except Exception as e:
        if len(texts) == 1:
            if isinstance(e, UserError):  # what is wrong with the input, said as the tab would say it
                return [{**dict.fromkeys(spec.fields, None), "error": e.in_language(language())}]
            log.exception("%s failed on a row", spec.task)
            return [{**dict.fromkeys(spec.fields, None), "error": say(MODEL_FAILED)}]
        log.warning("a chunk of %d rows failed; retrying them one by one", len(texts))
        return [fields for text in texts for fields in _predict_chunk(spec, model, [text], limits)]


def _progress(done: int, total: int, elapsed: float, done_here: int) -> dict:
    rate = done_here / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    return {"event": "progress", "done": done, "total": total, "elapsed": round(elapsed, 2), "eta": round(eta, 1)}


def result_columns(rows: Rows, spec: TaskBatch) -> dict[str, str]:
    """Each result field's column name: its own, unless the input already has a column of that name."""
    names = {}
    for name in (*spec.fields, "error"):
        column = name
        while column in rows.columns:
            column = f"model_{column}"
        names[name] = column
    return names


def write_results(rows: Rows, spec: TaskBatch, results: list[dict], csv_path: Path, jsonl_path: Path) -> None:
    """The input's columns plus the result fields, as CSV (nested values as JSON; no cell a spreadsheet would run
    as a formula) and as JSONL (every value exactly)."""
    names = result_columns(rows, spec)
    header = [*rows.columns, *names.values()]
    table = [
        {**record, **{names[k]: result.get(k) for k in names}}
        for record, result in zip(rows.records, results, strict=True)
    ]
    write_csv(csv_path, header, ([_cell(row[column]) for column in header] for row in table))
    with open(jsonl_path, "w", encoding="utf-8") as jsonl:
        jsonl.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
