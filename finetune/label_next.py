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


def unlabelled_pictures(path: str | Path, max_rows: int) -> list[str]:
    """The pictures of a zip (in any folders; labels, if any, are ignored), by member name in sorted order."""
    import zipfile

    from studio.files.archives import checked_members
    from studio.files.pictures import IMAGE_SUFFIXES

    try:
        with zipfile.ZipFile(path) as archive:
            members = checked_members(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError("The file is not a zip archive; upload a .zip of the pictures to label.") from None
    names = sorted(m.filename for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise DataError("The zip holds no pictures (JPEG, PNG, WebP or BMP); upload a zip of the pictures to label.")
    if len(names) > max_rows:
        raise DataError(
            "The zip holds {count:,} pictures; the limit is {limit:,}, so upload a smaller sample.",
            count=len(names),
            limit=max_rows,
        )
    return names


def add_labelled_pictures(
    training_zip: str | Path, pictures_zip: str | Path, labelled: list[tuple[str, str]], output: Path, max_rows: int
) -> Path:
    """The training zip with the newly labelled pictures (member of `pictures_zip`, label) added: a zip of every
    picture with a labels.csv of file,label, the new ones under labelled-next/."""
    import zipfile

    from studio.files.pictures import labels_table, read_images

    images = read_images(training_zip, max_rows)
    added = {member: f"labelled-next/{member}" for member, _ in labelled}
    taken = set(images.files)
    for member, name in added.items():  # a name the training zip has already gets a number
        stem, dot, suffix = name.rpartition(".")
        number = 1
        while name in taken:
            name, number = f"{stem}-{number}{dot}{suffix}", number + 1
        added[member] = name
        taken.add(name)
    table = labels_table([*zip(images.files, images.labels), *((added[member], label) for member, label in labelled)])
    with (
        zipfile.ZipFile(images.archive) as training,
        zipfile.ZipFile(pictures_zip) as pictures,
        zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as target,  # pictures are compressed already
    ):
        for name in images.files:
            target.writestr(name, training.read(name))
        for member, _ in labelled:
            target.writestr(added[member], pictures.read(member))
        target.writestr("labels.csv", table)
    return output
