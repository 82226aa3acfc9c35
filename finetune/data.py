"""The data step of fine-tuning a text classifier: take the text and label columns of a table (read by
studio/files/tables.py), check the rows, split them."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import DataError, UserError, encodable
from studio.files.classes import check_class_sizes
from studio.files.tables import is_missing, label_value, natural_order
from studio.i18n import word

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
    check_columns(df, text_column, label_column)
    texts: list[str] = []
    labels: list[str] = []
    dropped_empty = dropped_unlabelled = 0
    for raw_text, raw_label in zip(df[text_column].tolist(), df[label_column].tolist()):
        # A JSON file can hold lone surrogates, which no tokenizer or UTF-8 file accepts.
        text, label = encodable(text_value(raw_text)), encodable(label_value(raw_label))
        if not text:
            dropped_empty += 1
        elif not label:
            dropped_unlabelled += 1
        else:
            texts.append(text)
            labels.append(label)
    if len(texts) < MIN_ROWS:
        raise too_few_rows(len(texts), dropped_empty, dropped_unlabelled)
    counts = Counter(labels)
    if len(counts) == 1:
        raise DataError(
            "Every row has the label '{label}'; a classifier needs at least two different labels.", label=labels[0]
        )
    if training:
        check_class_sizes(counts, word("examples"), word("label"))
    else:
        check_class_sizes(counts, word("examples"), word("label"), MIN_PER_LABEL_TO_SCORE, word("in a validation file"))
    return LabelledTexts(texts, labels, natural_order(counts), dropped_empty, dropped_unlabelled)


def too_few_rows(count: int, dropped_empty: int, dropped_unlabelled: int) -> DataError:
    """The error for a table with fewer than MIN_ROWS usable rows, saying why rows were left out."""
    dropped = _dropped(dropped_empty, dropped_unlabelled)
    if count == 1:
        return DataError(
            "Only {count} row has both a text and a label{dropped}; fine-tuning needs at least {minimum}, so "
            "add more labelled rows.",
            count=count,
            dropped=dropped,
            minimum=MIN_ROWS,
        )
    return DataError(
        "Only {count} rows have both a text and a label{dropped}; fine-tuning needs at least {minimum}, so add "
        "more labelled rows.",
        count=count,
        dropped=dropped,
        minimum=MIN_ROWS,
    )


def check_columns(df: pandas.DataFrame, text_column: str, *label_columns: str) -> None:
    """The text and label columns exist, once each, and are different columns."""
    columns = list(df.columns)
    for name in (text_column, *label_columns):
        if name not in columns:
            available = _quoted(columns, MAX_COLUMNS_NAMED) if columns else word("none")
            raise DataError(
                "There is no column named '{name}'; the columns are {available}, so pick one of those.",
                name=name,
                available=available,
            )
        if columns.count(name) > 1:
            raise DataError(
                "There are {count} columns named '{name}'; rename them so each is unique.",
                count=columns.count(name),
                name=name,
            )
    if text_column in label_columns:
        raise DataError(
            "The text column and the label column are both '{name}'; pick a different column for each.",
            name=text_column,
        )


def check_val_fraction(val_fraction: float) -> None:
    if not 0 < val_fraction <= 0.5:
        raise DataError("The validation fraction is {fraction}; set it above 0 and at most 0.5.", fraction=val_fraction)


def shuffled_split(count: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """The positions 0..count-1 shuffled with the seed and cut into (train, validation); validation has at least
    one."""
    check_val_fraction(val_fraction)
    order = list(range(count))
    random.Random(seed).shuffle(order)
    size = max(1, math.ceil(count * val_fraction))
    return order[size:], order[:size]


def split(data: LabelledTexts, val_fraction: float = 0.2, seed: int = 0) -> tuple[LabelledTexts, LabelledTexts]:
    """Split into stratified train and validation sets, each holding every label; train keeps the dropped counts."""
    check_val_fraction(val_fraction)
    counts = Counter(data.labels)
    check_class_sizes(
        counts,
        word("examples"),
        word("label"),
        MIN_PER_LABEL_TO_SCORE,
        word("to be split into training and validation"),
    )
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
    return subset(data, train, data.dropped_empty, data.dropped_unlabelled), subset(data, val)


def summary(data: LabelledTexts) -> dict[str, Any]:
    """Row count, examples per label and how many rows were dropped, for display."""
    counts = Counter(data.labels)
    return {
        "rows": len(data.texts),
        "labels": {name: counts[name] for name in data.label_names},
        "dropped_empty": data.dropped_empty,
        "dropped_unlabelled": data.dropped_unlabelled,
    }


def _quoted(names: list[Any], limit: int) -> Any:
    """'a', 'b', 'c'; past `limit`, how many more (a phrase of the table, said in the message's language)."""
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    if len(names) > limit:
        return UserError("{shown} and {more} more", shown=shown, more=len(names) - limit)
    return shown


def _dropped(empty: int, unlabelled: int) -> Any:
    """Why rows were left out, in brackets after "a text and a label"; "" when none were. A phrase of the table
    (a UserError, which a message quoting it says in its own language)."""
    if empty and unlabelled:
        return UserError(
            " ({empty} had an empty text and {unlabelled} had no label)", empty=empty, unlabelled=unlabelled
        )
    if empty:
        return UserError(" ({empty} had an empty text)", empty=empty)
    if unlabelled:
        return UserError(" ({unlabelled} had no label)", unlabelled=unlabelled)
    return ""


def text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value.strip() else ""
    return "" if is_missing(value) else str(value)


def _move_first(label: str, labels: list[str], source: list[int], target: list[int]) -> None:
    index = next(i for i in source if labels[i] == label)
    source.remove(index)
    target.append(index)


def subset(
    data: LabelledTexts, indices: list[int], dropped_empty: int = 0, dropped_unlabelled: int = 0
) -> LabelledTexts:
    return LabelledTexts(
        [data.texts[i] for i in indices],
        [data.labels[i] for i in indices],
        list(data.label_names),
        dropped_empty,
        dropped_unlabelled,
    )
