"""Texts with several labels each: reading them, splitting them, and choosing each label's threshold.

A label cell holds labels separated by ";" ("sport;politics") or a JSON list (["sport", "politics"]); a table may
instead have one 0/1 column per label, named together as the label column ("sport,politics,tech"). The model scores
each label on its own (a sigmoid); each label's threshold is the one that gives it the best F1 on the validation
split, and is folded into the classifier's bias, so that the saved model says "yes" to a label above 0.5, wherever it
is served.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from finetune.data import MIN_ROWS, LabelledTexts, check_columns, shuffled_split, subset, text_value, too_few_rows
from studio.errors import DataError, encodable
from studio.files.classes import check_class_sizes
from studio.files.tables import LABEL_SEPARATOR, is_missing, label_set, label_value, natural_order
from studio.i18n import word
from studio.metrics import multi_label_scores, precision_recall_f1

if TYPE_CHECKING:
    import pandas

SEPARATOR = LABEL_SEPARATOR
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]  # the thresholds tried for each label


def is_multi_label(values: list[Any], label_column: str = "") -> bool:
    """Whether a label column (or several 0/1 columns, named with commas) gives texts several labels."""
    if "," in label_column:
        return True
    for value in values:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
            return True
        if isinstance(value, str) and (SEPARATOR in value or value.strip().startswith("[")) and label_set(value):
            return True
    return False


def joined(labels: list[str]) -> str:
    return SEPARATOR.join(labels)


def prepare_multi(df: pandas.DataFrame, text_column: str, label_column: str, training: bool = True) -> LabelledTexts:
    """The texts and their label sets (each kept as its labels joined by ";"), checked like single labels are."""
    columns = [name.strip() for name in label_column.split(",")] if "," in label_column else [label_column]
    check_columns(df, text_column, *columns)
    if len(columns) > 1:  # one 0/1 column per label
        cells = [joined([name for name in columns if _is_yes(row[name])]) for _, row in df[columns].iterrows()]
        df = df.assign(__labels__=cells)
        label_column = "__labels__"
    texts: list[str] = []
    labels: list[str] = []
    dropped_empty = dropped_unlabelled = 0
    for raw_text, raw_labels in zip(df[text_column].tolist(), df[label_column].tolist()):
        text, cell = encodable(text_value(raw_text)), label_set(raw_labels)
        if not text:
            dropped_empty += 1
        elif not cell:
            dropped_unlabelled += 1
        else:
            texts.append(text)
            labels.append(joined(cell))
    if len(texts) < MIN_ROWS:
        raise too_few_rows(len(texts), dropped_empty, dropped_unlabelled)
    counts = label_counts(labels)
    if len(counts) == 1:
        raise DataError(
            "Every row has the label '{label}'; a classifier needs at least two different labels.",
            label=next(iter(counts)),
        )
    if training:
        check_class_sizes(counts, word("examples"), word("label"))
    return LabelledTexts(texts, labels, natural_order(counts), dropped_empty, dropped_unlabelled)


def label_counts(labels: list[str]) -> Counter[str]:
    """How many texts have each label."""
    return Counter(label for cell in labels for label in cell.split(SEPARATOR))


def split_multi(data: LabelledTexts, val_fraction: float, seed: int) -> tuple[LabelledTexts, LabelledTexts]:
    """A random split in which every label is on both sides (a text of it moved over where one side lacks it)."""
    train, val = shuffled_split(len(data.texts), val_fraction, seed)
    for label in data.label_names:
        has = lambda i, label=label: label in data.labels[i].split(SEPARATOR)  # noqa: E731
        for source, target in ((train, val), (val, train)):
            if not any(has(i) for i in target) and sum(has(i) for i in source) > 1:
                moved = next(i for i in source if has(i))
                source.remove(moved)
                target.append(moved)
    return subset(data, train, data.dropped_empty, data.dropped_unlabelled), subset(data, val)


def multi_hot(cell: str, index: dict[str, int]) -> list[float]:
    row = [0.0] * len(index)
    for label in cell.split(SEPARATOR):
        if label in index:
            row[index[label]] = 1.0
    return row


def tune_thresholds(probabilities: list[list[float]], targets: list[list[float]]) -> list[float]:
    """For each label, the threshold with the best F1 on these rows (nearest 0.5 among equals)."""
    thresholds = []
    for j in range(len(targets[0]) if targets else 0):
        column = [(row[j], target[j] > 0.5) for row, target in zip(probabilities, targets)]
        best = max(THRESHOLDS, key=lambda t: (_f1(column, t), -abs(t - 0.5)))
        thresholds.append(best)
    return thresholds


def decide(probabilities: list[list[float]], thresholds: list[float]) -> list[list[bool]]:
    return [[p >= t for p, t in zip(row, thresholds)] for row in probabilities]


def micro_f1(predicted: list[list[bool]], targets: list[list[float]]) -> float:
    pairs = [(p, t > 0.5) for row, target in zip(predicted, targets) for p, t in zip(row, target)]
    tp = sum(p and t for p, t in pairs)
    return precision_recall_f1(tp, sum(p and not t for p, t in pairs), sum(t and not p for p, t in pairs))["f1"]


def multi_label_metrics(
    predicted: list[list[bool]], targets: list[list[float]], label_names: list[str], thresholds: list[float]
) -> dict:
    """The run's scores (studio.metrics.multi_label_scores) with each label's tuned threshold."""
    truth = [[t > 0.5 for t in row] for row in targets]
    return {
        **multi_label_scores(predicted, truth, label_names),
        "thresholds": dict(zip(label_names, thresholds)),
        "validation_rows": len(truth),
    }


def fold_thresholds(model: Any, thresholds: list[float]) -> None:
    """Move each label's threshold into the classifier's bias: sigmoid(z - logit(t)) passes 0.5 where sigmoid(z)
    passes t."""
    import torch

    heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == len(thresholds)]
    with torch.no_grad():
        heads[-1].bias -= torch.tensor([math.log(t / (1 - t)) for t in thresholds], dtype=heads[-1].bias.dtype)


def _is_yes(value: Any) -> bool:
    if is_missing(value):
        return False
    return label_value(value).lower() in {"1", "true", "yes", "y"}


def _f1(column: list[tuple[float, bool]], threshold: float) -> float:
    tp = sum(p >= threshold and t for p, t in column)
    fp = sum(p >= threshold and not t for p, t in column)
    fn = sum(p < threshold and t for p, t in column)
    return precision_recall_f1(tp, fp, fn)["f1"]
