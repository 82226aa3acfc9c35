"""Batch runs: a whole file through a task's model, in length-sorted chunks, with progress and per-row errors.

Each task that runs on files says what differs in a `TaskBatch` (its module's `BATCH`): what it reads (a table
of texts, a zip of pictures, recordings), which predict, what fields the results add, which metrics score it.
Everything else — reading the file, chunking, progress, bad rows, writing CSV and JSONL — is here, once
(pictures and recordings are read in studio/batch_media.py). The app runs it in a child process
(`python -m studio.evaluate`, studio/batch_ui.py); tests, benchmarks and the CLI call it directly.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.config import Limits
from studio.errors import UserError, encodable

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt")
# Entities: tagged sentences, as the Fine-tune tab reads them, are their own references.
TAGGED_SUFFIXES = (".conll", ".iob", ".bio")
PREVIEW_ROWS = 20
REPORT_EVERY_S = 0.5
EMPTY_TEXT = "empty text"
MODEL_FAILED = "the model could not process this row"

Report = Callable[[dict], None]


@dataclass
class Rows:
    """The input file as rows: its own columns, and the inputs and references taken from them, in file order."""

    columns: list[str]
    records: list[dict[str, str]]
    inputs: list[str]  # texts, or (pictures, recordings) the paths of the files to run
    references: list[Any] | None = None  # None: no reference column, so no evaluation
    text_column: str = "text"
    reference_column: str | None = None
    words: list[list[str]] | None = None  # tagged sentences: each text's words (the text is them joined by spaces)


@dataclass(frozen=True)
class TaskBatch:
    """What one task's batch run needs that the others do not."""

    task: str  # the config section and tab: "text_classification"
    api_name: str  # "batch_classify_text"
    family: str  # which metrics score it: "classification", "entities", "translation"
    fields: tuple[str, ...]  # the columns its results add, e.g. ("prediction", "score")
    # (model, inputs, limits) -> per input a dict of `fields` (and "error" for a row it could not run)
    predict_rows: Callable[[Any, list[str], Limits], list[dict]]
    model_labels: Callable[[Any], list[str]] | None = None  # classification: the labels the model can answer
    what: str = "texts"  # what a row holds, for messages
    reads: str = "table"  # "table" of texts; "pictures" (a zip) or "recordings" (files or a zip): file paths
    # Inputs per predict call: enough to batch well, few enough that progress moves and a bad row is cheap to find.
    chunk_rows: int = 64
    # (rows, results, output folder) -> {name: path} of more files to download, such as the subtitles' zip
    write_extras: Callable[[Rows, list[dict], Path], dict[str, str]] | None = None


def spec_for(task: str) -> TaskBatch:
    """The batch spec of a task module (tasks/<task>.py's BATCH)."""
    module = importlib.import_module(f"tasks.{task}")
    spec = getattr(module, "BATCH", None)
    if spec is None:
        raise UserError(f"The task '{task}' cannot run on files yet; choose text_classification.")
    return spec


def read_rows(
    path: str | Path,
    text_column: str | None = None,
    reference_column: str | None = None,
    max_rows: int = 100_000,
    max_bytes: int = 200 * 2**20,
    tagged: bool = False,
) -> Rows:
    """Read a CSV, TSV, JSON, JSONL, Parquet or TXT (one text a line) file, checking the columns named.

    An empty `text_column` is guessed; an empty `reference_column` means no evaluation. With `tagged`, a CoNLL
    file or a JSONL file of tagged sentences (as the Fine-tune tab reads them) is its own reference.
    """
    from finetune.data import guess_columns, read_table, read_text

    path = Path(path)
    suffix = path.suffix.lower()
    if tagged and (suffix in TAGGED_SUFFIXES or (suffix == ".jsonl" and _tagged_jsonl(path))):
        return _read_tagged(path, max_rows)
    if suffix not in TEXT_SUFFIXES:
        kind = f"A '{path.suffix}' file" if path.suffix else "A file without an extension"
        tagged_too = ", or CoNLL (.conll) to score entities" if tagged else ""
        raise UserError(f"{kind} cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file{tagged_too}.")
    if tagged and (reference_column or "").strip():
        raise UserError(
            "Entities are scored against tagged sentences, not a column; upload CoNLL (.conll: a word and its tag "
            "a line) or JSONL of tokens and tags, and leave Reference column empty."
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"The file '{path.name}' does not exist any more; upload it again.") from None
    if size > max_bytes:
        raise UserError(
            f"The file is {-(-size // 2**20):,} MB; the limit is {max_bytes // 2**20:,} MB, so upload a smaller one."
        )
    if size == 0:
        raise UserError("The file is empty; upload a file with one text per row.")
    text_column = (text_column or "").strip() or None
    reference_column = (reference_column or "").strip() or None
    if suffix == ".txt":
        content, _ = read_text(path)
        lines = content.lstrip("\ufeff").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line.removesuffix("\r") for line in lines]
        if len(lines) > max_rows:
            raise UserError(
                f"The file has {len(lines):,} lines; the limit is {max_rows:,} rows, so run a smaller file."
            )
        if reference_column or (text_column and text_column != "text"):
            raise UserError("A TXT file has one text a line and no other columns; for references upload a CSV file.")
        records = [{"text": line} for line in lines]
        return Rows(["text"], records, [encodable(line) for line in lines])
    df = read_table(path, max_rows=max_rows, max_bytes=max_bytes)
    columns = [str(c) for c in df.columns]
    if text_column is None:
        text_column, _ = guess_columns(df)
        if text_column is None:
            raise UserError("Could not tell which column holds the texts; choose it in Text column.")
    for name in (text_column, reference_column):
        if name is not None and name not in columns:
            raise UserError(f"There is no column named '{name[:80]}'; the columns are {_listed(columns)}, so pick one.")
    if reference_column == text_column:
        raise UserError(f"The text column and the reference column are both '{text_column}'; pick another for one.")
    records = [{c: encodable(str(v)) for c, v in zip(columns, values)} for values in df.itertuples(index=False)]
    inputs = [record[text_column] for record in records]
    references = [record[reference_column].strip() for record in records] if reference_column else None
    return Rows(columns, records, inputs, references, text_column, reference_column)


def _tagged_jsonl(path: Path) -> bool:
    """Whether a JSONL file holds tagged sentences ({"tokens", "tags"} or {"text", "entities"})."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            first = next((line for line in f if line.strip()), "")
        record = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and ("tags" in record or "entities" in record)


def _read_tagged(path: Path, max_rows: int) -> Rows:
    from finetune.entities import read_sentences

    sentences = read_sentences(path, max_rows=max_rows, min_sentences=1)
    texts = [" ".join(words) for words in sentences.words]
    records = [{"text": text, "tags": " ".join(tags)} for text, tags in zip(texts, sentences.tags)]
    return Rows(["text", "tags"], records, texts, list(sentences.tags), "text", "tags", list(sentences.words))


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
            results[i] = {**dict.fromkeys(spec.fields, None), "error": EMPTY_TEXT}
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
    return [r if r is not None else {"error": MODEL_FAILED} for r in results]


def _predict_chunk(spec: TaskBatch, model: Any, texts: list[str], limits: Limits) -> list[dict]:
    try:
        return [{"error": "", **fields} for fields in spec.predict_rows(model, texts, limits)]
    except Exception as e:
        if len(texts) == 1:
            if isinstance(e, UserError):  # what is wrong with the input, said as the tab would say it
                return [{**dict.fromkeys(spec.fields, None), "error": str(e)}]
            log.exception("%s failed on a row", spec.task)
            return [{**dict.fromkeys(spec.fields, None), "error": MODEL_FAILED}]
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
    """The input's columns plus the result fields, as CSV (nested values as JSON) and as JSONL."""
    import csv

    names = result_columns(rows, spec)
    header = [*rows.columns, *names.values()]
    with open(csv_path, "w", encoding="utf-8", newline="") as csv_file, open(jsonl_path, "w", encoding="utf-8") as js:
        writer = csv.writer(csv_file)
        writer.writerow(header)
        for record, result in zip(rows.records, results, strict=True):
            row = {**record, **{names[k]: result.get(k) for k in names}}
            writer.writerow([_cell(row[column]) for column in header])
            js.write(json.dumps(row, ensure_ascii=False) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _listed(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown or "none"
