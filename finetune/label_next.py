"""Label next (active learning): which unlabelled texts a run is least sure of, to label first, and the training
file with the newly labelled rows added for the next run.

A run learns most from the rows it finds hardest: those where its two likeliest labels are closest (the margin,
top probability minus the second). Labelling the smallest margins first reaches a given accuracy with fewer labels
than labelling at random (Settles, "Active Learning Literature Survey", 2009).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import DataError
from studio.files.safe_csv import write_csv
from studio.files.tables import guess_columns, read_table, text_and_label_columns

PREDICT_CHUNK = 64


@dataclass
class Candidate:
    """An unlabelled row to label: where it is in the file, its text, the run's guess and how unsure it is."""

    row: int
    text: str
    predicted: str
    margin: float  # top probability minus the second: 0 is a coin toss


def margin(scores: dict[str, float]) -> float:
    """How sure a prediction is: its top probability minus the second (1 for a model with one label)."""
    top = sorted(scores.values(), reverse=True)
    return top[0] - (top[1] if len(top) > 1 else 0.0)


def unlabelled_texts(path: str | Path, text_column: str, max_rows: int) -> tuple[list[int], list[str], str]:
    """The file's non-empty texts with their rows, and the text column read (guessed when empty)."""
    df = read_table(path, max_rows=max_rows)
    guessed, _ = guess_columns(df)
    column = (text_column or guessed or (str(df.columns[0]) if len(df.columns) == 1 else "")).strip()
    if column not in df.columns:
        raise DataError(
            "The file has no column '{column}'; choose the text column among: {columns}.",
            column=column,
            columns=", ".join(map(str, df.columns)),
        )
    texts = df[column].fillna("").astype(str).str.strip().tolist()
    rows = [row for row, text in enumerate(texts) if text]
    if not rows:
        raise DataError(
            "The file has no texts in the column '{column}'; upload a file of texts to label.", column=column
        )
    return rows, [texts[row] for row in rows], column


def least_sure(
    rows: list[int],
    texts: list[str],
    predict: Callable[[list[str]], list[dict[str, float]]],
    count: int,
    progress: Callable[[float], None] | None = None,
) -> list[Candidate]:
    """The `count` texts whose prediction is least sure, least sure first."""
    candidates = []
    for start in range(0, len(texts), PREDICT_CHUNK):
        chunk = texts[start : start + PREDICT_CHUNK]
        for row, text, scores in zip(rows[start : start + PREDICT_CHUNK], chunk, predict(chunk)):
            candidates.append(Candidate(row, text, next(iter(scores)), margin(scores)))
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(texts)))
    candidates.sort(key=lambda candidate: (candidate.margin, candidate.row))
    return candidates[:count]


def add_labelled(
    training_file: str | Path,
    text_column: str,
    label_column: str,
    labelled: list[tuple[str, str]],
    output: Path,
    max_rows: int,
) -> Path:
    """The training table with the newly labelled (text, label) rows added at its end, as a CSV at `output`; the
    other columns of the new rows are left empty."""
    df = read_table(training_file, max_rows=max_rows)
    text_column, label_column = text_and_label_columns(df, text_column, label_column)
    columns = [str(c) for c in df.columns]
    rows: list[list[Any]] = df.fillna("").astype(str).values.tolist()
    for text, label in labelled:
        row = [""] * len(columns)
        row[columns.index(str(text_column))], row[columns.index(str(label_column))] = text, label
        rows.append(row)
    write_csv(output, columns, rows)
    return output
