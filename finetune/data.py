"""The data step of fine-tuning a text classifier: take the text and label columns of a table (read by
studio/files/tables.py), check the rows, split them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import DataError, encodable
from studio.files.classes import check_class_sizes
from studio.files.tables import is_missing, label_value, natural_order

if TYPE_CHECKING:
    import pandas

MIN_ROWS = 10
# A validation file is only scored on, and splitting needs one example of each label on each side.
MIN_PER_LABEL_TO_SCORE = 2
MAX_COLUMNS_NAMED = 10


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with their label names, cleaned and checked, in file order."""

    texts: list[str]
    labels: list[str]
    label_names: list[str]
    dropped_empty: int = 0
    dropped_unlabelled: int = 0


def prepare(df: pandas.DataFrame, text_column: str, label_column: str, training: bool = True) -> LabelledTexts:
    """Take the text and label columns, drop rows missing either, and check there is enough to learn from.

    A validation file (training=False) needs fewer examples of each label: it is not trained on.
    """
    columns = list(df.columns)
    for name in (text_column, label_column):
        if name not in columns:
            available = _quoted(columns, MAX_COLUMNS_NAMED) if columns else "none"
            raise DataError(f"There is no column named '{name}'; the columns are {available}, so pick one of those.")
        if columns.count(name) > 1:
            raise DataError(f"There are {columns.count(name)} columns named '{name}'; rename them so each is unique.")
    if text_column == label_column:
        raise DataError(
            f"The text column and the label column are both '{text_column}'; pick a different column for each."
        )
    texts: list[str] = []
    labels: list[str] = []
    dropped_empty = dropped_unlabelled = 0
    for raw_text, raw_label in zip(df[text_column].tolist(), df[label_column].tolist()):
        # A JSON file can hold lone surrogates, which no tokenizer or UTF-8 file accepts.
        text, label = encodable(_text_value(raw_text)), encodable(label_value(raw_label))
        if not text:
            dropped_empty += 1
        elif not label:
            dropped_unlabelled += 1
        else:
            texts.append(text)
            labels.append(label)
    if len(texts) < MIN_ROWS:
        dropped = []
        if dropped_empty:
            dropped.append(f"{dropped_empty} had an empty text")
        if dropped_unlabelled:
            dropped.append(f"{dropped_unlabelled} had no label")
        note = f" ({' and '.join(dropped)})" if dropped else ""
        rows = "row has" if len(texts) == 1 else "rows have"
        raise DataError(
            f"Only {len(texts)} {rows} both a text and a label{note}; "
            f"fine-tuning needs at least {MIN_ROWS}, so add more labelled rows."
        )
    counts = Counter(labels)
    if len(counts) == 1:
        raise DataError(f"Every row has the label '{labels[0]}'; a classifier needs at least two different labels.")
    if training:
        check_class_sizes(counts, "examples", "label")
    else:
        check_class_sizes(counts, "examples", "label", MIN_PER_LABEL_TO_SCORE, "in a validation file")
    return LabelledTexts(texts, labels, natural_order(counts), dropped_empty, dropped_unlabelled)


def split(data: LabelledTexts, val_fraction: float = 0.2, seed: int = 0) -> tuple[LabelledTexts, LabelledTexts]:
    """Split into stratified train and validation sets, each holding every label; train keeps the dropped counts."""
    if not 0 < val_fraction <= 0.5:
        raise DataError(f"The validation fraction is {val_fraction}; set it above 0 and at most 0.5.")
    counts = Counter(data.labels)
    check_class_sizes(counts, "examples", "label", MIN_PER_LABEL_TO_SCORE, "to be split into training and validation")
    from sklearn.model_selection import train_test_split

    # Every label has at least two rows, so a validation set of this size leaves each label one for training.
    val_size = max(math.ceil(len(data.labels) * val_fraction), len(counts))
    train, val = train_test_split(
        list(range(len(data.labels))), test_size=val_size, random_state=seed, stratify=data.labels
    )
    # Stratifying only rounds proportions, so a rare label can land wholly on one side.
    for label in counts:
        if not any(data.labels[i] == label for i in val):
            _move_first(label, data.labels, train, val)
        elif not any(data.labels[i] == label for i in train):
            _move_first(label, data.labels, val, train)
    return _subset(data, train, data.dropped_empty, data.dropped_unlabelled), _subset(data, val)


def summary(data: LabelledTexts) -> dict[str, Any]:
    """Row count, examples per label and how many rows were dropped, for display."""
    counts = Counter(data.labels)
    return {
        "rows": len(data.texts),
        "labels": {name: counts[name] for name in data.label_names},
        "dropped_empty": data.dropped_empty,
        "dropped_unlabelled": data.dropped_unlabelled,
    }


def _quoted(names: list[Any], limit: int) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value.strip() else ""
    return "" if is_missing(value) else str(value)


def _move_first(label: str, labels: list[str], source: list[int], target: list[int]) -> None:
    index = next(i for i in source if labels[i] == label)
    source.remove(index)
    target.append(index)


def _subset(
    data: LabelledTexts, indices: list[int], dropped_empty: int = 0, dropped_unlabelled: int = 0
) -> LabelledTexts:
    return LabelledTexts(
        [data.texts[i] for i in indices],
        [data.labels[i] for i in indices],
        list(data.label_names),
        dropped_empty,
        dropped_unlabelled,
    )
