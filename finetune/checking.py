"""Check the labels of an uploaded file (finetune/label_check.py), read as fine-tuning reads it: a table of texts and
labels, or a zip of labelled pictures. The page, the API's /check_labels and `python -m finetune check-labels`
all come here."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from finetune.label_check import IMAGE_BASE, TEXT_BASE, LabelCheck, check_image_labels, check_text_labels
from finetune.train import file_sha256
from studio.errors import DataError
from studio.files.pictures import labels_table, read_images
from studio.files.tables import guess_columns, read_table, text_and_label_columns

PREVIEW_ROWS = 20


def is_picture_zip(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".zip"


def check_file(
    path: str | Path,
    text_column: str = "",
    label_column: str = "",
    base: str = "",
    device: str = "cpu",
    max_rows: int = 200_000,
    progress: Callable[[float], None] | None = None,
) -> LabelCheck:
    """Every labelled row of the file, checked, most suspicious first; `row` is its 0-based position in the file
    (for a zip: in its labels table, or in the sorted list of its pictures)."""
    if is_picture_zip(path):
        return _check_pictures(Path(path), base or IMAGE_BASE, device, max_rows, progress)
    return _check_table(Path(path), text_column, label_column, base or TEXT_BASE, device, max_rows, progress)


def _check_table(
    path: Path,
    text_column: str,
    label_column: str,
    base: str,
    device: str,
    max_rows: int,
    progress: Callable[[float], None] | None,
) -> LabelCheck:
    df = read_table(path, max_rows=max_rows)
    text_column, label_column = text_and_label_columns(df, text_column, label_column)
    labels = [str(label).strip() for label in df[label_column].fillna("")]
    labelled = [row for row, label in enumerate(labels) if label]  # a row without a label has nothing to check
    texts = df[text_column].fillna("").astype(str).tolist()
    checked = check_text_labels(
        [texts[r] for r in labelled], [labels[r] for r in labelled], base, device, progress=progress
    )
    return _in_file_rows(checked, labelled)


def _check_pictures(
    path: Path, base: str, device: str, max_rows: int, progress: Callable[[float], None] | None
) -> LabelCheck:
    images = read_images(path, max_rows, training=False)
    with tempfile.TemporaryDirectory(prefix="model-studio-check-") as folder, zipfile.ZipFile(images.archive) as zipped:
        pictures = []
        for index, member in enumerate(images.files):
            # Numbered, not named after the member: a name in a zip may be anything.
            picture = Path(folder) / f"{index}{PurePosixPath(member).suffix.lower()}"
            picture.write_bytes(zipped.read(member))
            pictures.append(picture)
        return check_image_labels(pictures, images.labels, base, device, names=images.files, progress=progress)


def _in_file_rows(checked: LabelCheck, file_rows: list[int]) -> LabelCheck:
    for record in checked.rows:
        record.row = file_rows[record.row]
    return checked


def preview(checked: LabelCheck, headers: list[str], rows: int = PREVIEW_ROWS) -> Any:
    """The most suspicious rows as the page shows them, under `headers` (row, text or file, label, suggested label,
    confidence, suspect, then the two a user edits: the label to use, prefilled with the suggestion of a suspect
    row, and whether to drop the row)."""
    import pandas as pd

    shown = []
    for r in checked.rows[:rows]:
        confidence = "" if r.confidence is None else f"{r.confidence:.0%}"
        use = r.suggested_label if r.suspect else r.label
        shown.append(
            [r.row, r.item[:200], r.label, r.suggested_label, confidence, "✓" if r.suspect else "", use, False]
        )
    return pd.DataFrame(shown, columns=headers)


def corrected(
    path: str | Path, label_column: str, edits: Any, output: Path, max_rows: int = 200_000
) -> tuple[Path, dict]:
    """The user's file with the page's corrections applied, written at `output`: each edited row's label replaced by
    the one to use, the rows marked to drop left out. A table becomes a CSV; a zip of pictures a zip of the kept
    pictures with a labels.csv of file,label. `edits` is the preview as the user left it (its first column the row,
    its last two the label to use and whether to drop). Returns the file and the corrections as a run records them:
    the file they were made from (name, SHA-256), the labels changed (row, from, to) and the rows dropped."""
    if is_picture_zip(path):
        labels, write = _zip_labels(Path(path), max_rows)
    else:
        labels, write = _table_labels(Path(path), label_column, max_rows)
    changes, dropped = {}, set()
    for values in edits.itertuples(index=False):
        row, use, drop = _row_number(values[0]), str(values[-2] or "").strip(), _ticked(values[-1])
        if not 0 <= row < len(labels):
            raise DataError("Row {row} is not in the file; check the labels again, then correct them.", row=row)
        if drop:
            dropped.add(row)
        elif use and use != labels[row]:
            changes[row] = use
    write(output, changes, dropped)
    record = {
        "of": {"file": Path(path).name, "sha256": file_sha256(path)},
        "changed": [
            {"row": row, "from": labels[row], "to": to} for row, to in sorted(changes.items()) if row not in dropped
        ],
        "dropped": sorted(dropped),
    }
    return output, record


def _table_labels(path: Path, label_column: str, max_rows: int) -> tuple[list[str], Callable]:
    """A table's labels in file order, and how to write it again with new labels and without some rows."""
    from studio.files.safe_csv import write_csv

    df = read_table(path, max_rows=max_rows)
    _, guessed_label = guess_columns(df)
    label_column = (label_column or guessed_label or "").strip()
    if label_column not in df.columns:
        raise DataError(
            "The file has no column '{column}'; choose the text and label columns among: {columns}.",
            column=label_column,
            columns=", ".join(map(str, df.columns)),
        )

    def write(output: Path, changes: dict[int, str], dropped: set[int]) -> None:
        table = df.copy()
        table[label_column] = table[label_column].astype(object)
        for row, label in changes.items():
            table.at[table.index[row], label_column] = label
        kept = table.drop(index=[table.index[row] for row in sorted(dropped)])
        write_csv(output, [str(c) for c in kept.columns], kept.fillna("").astype(str).values.tolist())

    return [_cell(df, row, label_column) for row in range(len(df))], write


def _cell(df: Any, row: int, column: str) -> str:
    value = df.at[df.index[row], column]
    return "" if value is None or value != value else str(value).strip()  # NaN is not equal to itself


def _zip_labels(path: Path, max_rows: int) -> tuple[list[str], Callable]:
    """A zip's pictures' labels, in the order the check numbers them, and how to write a zip of the kept pictures
    with a labels.csv of their (new) labels."""
    images = read_images(path, max_rows, training=False)

    def write(output: Path, changes: dict[int, str], dropped: set[int]) -> None:
        kept = [row for row in range(len(images.files)) if row not in dropped]
        table = labels_table((images.files[row], changes.get(row, images.labels[row])) for row in kept)
        with zipfile.ZipFile(images.archive) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as target:
            for row in kept:  # pictures are compressed already
                target.writestr(images.files[row], source.read(images.files[row]))
            target.writestr("labels.csv", table)

    return list(images.labels), write


def _row_number(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise DataError("A row number in the table is not a number; check the labels again.") from None


def _ticked(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"true", "1", "yes", "✓"}
