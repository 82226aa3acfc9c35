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
from studio.errors import DataError
from studio.files.pictures import read_images
from studio.files.tables import guess_columns, read_table

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
    guessed_text, guessed_label = guess_columns(df)
    text_column, label_column = (text_column or guessed_text or "").strip(), (label_column or guessed_label or "")
    for column in (text_column, label_column):
        if column not in df.columns:
            raise DataError(
                "The file has no column '{column}'; choose the text and label columns among: {columns}.",
                column=column,
                columns=", ".join(map(str, df.columns)),
            )
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
) -> tuple[Path, int, int]:
    """The user's table with the page's corrections applied, written as a CSV at `output`: each edited row's label
    replaced by the one to use, the rows marked to drop left out. `edits` is the preview as the user left it (its
    first column the row in the file, its last two the label to use and whether to drop). Returns the file, the
    labels changed and the rows dropped."""
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
    changed, dropped = 0, set()
    for values in edits.itertuples(index=False):
        row, use, drop = int(values[0]), str(values[-2] or "").strip(), _ticked(values[-1])
        if not 0 <= row < len(df):
            raise DataError("Row {row} is not in the file; check the labels again, then correct them.", row=row)
        if drop:
            dropped.add(row)
        elif use and use != str(df.at[df.index[row], label_column]).strip():
            df.at[df.index[row], label_column] = use
            changed += 1
    kept = df.drop(index=[df.index[row] for row in sorted(dropped)])
    write_csv(output, [str(c) for c in kept.columns], kept.fillna("").astype(str).values.tolist())
    return output, changed, len(dropped)


def _ticked(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"true", "1", "yes", "✓"}
