"""A file to run a model over, as rows: a table of texts (with a reference column to score against), one text a
line, or tagged sentences that are their own references."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import DataError, UserError, encodable
from studio.files.tables import file_size, guess_columns, read_table, read_text
from studio.files.tagged import read_sentences
from studio.i18n import word

TEXT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt")


# Entities: tagged sentences, as the Fine-tune tab reads them, are their own references.
TAGGED_SUFFIXES = (".conll", ".iob", ".bio")


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
    path = Path(path)
    suffix = path.suffix.lower()
    if tagged and (suffix in TAGGED_SUFFIXES or (suffix == ".jsonl" and _tagged_jsonl(path))):
        return _read_tagged(path, max_rows)
    if suffix not in TEXT_SUFFIXES:
        if path.suffix and tagged:
            raise DataError(
                "A '{suffix}' file cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file, "
                "or CoNLL (.conll) to score entities.",
                suffix=path.suffix,
            )
        if path.suffix:
            raise DataError(
                "A '{suffix}' file cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file.",
                suffix=path.suffix,
            )
        if tagged:
            raise DataError(
                "A file without an extension cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file, "
                "or CoNLL (.conll) to score entities."
            )
        raise DataError(
            "A file without an extension cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file."
        )
    if tagged and (reference_column or "").strip():
        raise DataError(
            "Entities are scored against tagged sentences, not a column; upload CoNLL (.conll: a word and its tag "
            "a line) or JSONL of tokens and tags, and leave Reference column empty."
        )
    size = file_size(path)
    if size > max_bytes:
        raise DataError(
            "The file is {size:,} MB; the limit is {limit:,} MB, so upload a smaller one.",
            size=-(-size // 2**20),
            limit=max_bytes // 2**20,
        )
    if size == 0:
        raise DataError("The file is empty; upload a file with one text per row.")
    text_column = (text_column or "").strip() or None
    reference_column = (reference_column or "").strip() or None
    if suffix == ".txt":
        content, _ = read_text(path)
        lines = content.lstrip("\ufeff").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line.removesuffix("\r") for line in lines]
        if len(lines) > max_rows:
            raise DataError(
                "The file has {lines:,} lines; the limit is {limit:,} rows, so run a smaller file.",
                lines=len(lines),
                limit=max_rows,
            )
        if reference_column or (text_column and text_column != "text"):
            raise DataError("A TXT file has one text a line and no other columns; for references upload a CSV file.")
        records = [{"text": line} for line in lines]
        return Rows(["text"], records, [encodable(line) for line in lines])
    df = read_table(path, max_rows=max_rows, max_bytes=max_bytes)
    columns = [str(c) for c in df.columns]
    if text_column is None:
        text_column, _ = guess_columns(df)
        if text_column is None:
            raise DataError("Could not tell which column holds the texts; choose it in Text column.")
    for name in (text_column, reference_column):
        if name is not None and name not in columns:
            raise DataError(
                "There is no column named '{name}'; the columns are {columns}, so pick one.",
                name=name[:80],
                columns=_listed(columns),
            )
    if reference_column == text_column:
        raise DataError(
            "The text column and the reference column are both '{column}'; pick another for one.", column=text_column
        )
    records = [{c: encodable(_cell(v)) for c, v in zip(columns, values)} for values in df.itertuples(index=False)]
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
    sentences = read_sentences(path, max_rows=max_rows, min_sentences=1, min_tagged=1)
    texts = [" ".join(words) for words in sentences.words]
    records = [{"text": text, "tags": " ".join(tags)} for text, tags in zip(texts, sentences.tags)]
    return Rows(["text", "tags"], records, texts, list(sentences.tags), "text", "tags", list(sentences.words))


def _listed(names: list[str], limit: int = 10) -> Any:
    """'a', 'b', 'c'; past `limit`, how many more: a field said in its message's language."""
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    if len(names) > limit:
        return UserError("{shown} and {more} more", shown=shown, more=len(names) - limit)
    return shown or word("none")


def _cell(value: Any) -> str:
    """A cell as text; a list (a JSON file's ["sport", "politics"]) as JSON, which label sets are read from."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return json.dumps([_cell(item) for item in value], ensure_ascii=False)
    return str(value)
