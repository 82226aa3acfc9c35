"""How many examples each class needs (a label of a table, a folder of pictures, an entity type), one rule for all.

Below MIN_PER_CLASS a class is refused: a model cannot learn it from the few the validation split leaves, nor be
scored on it. Below COMFORTABLE_PER_CLASS training goes ahead, but each class is scored on fewer than four validation
examples (at the default share of 0.2), so one answer moves its recall by a quarter or more.
"""

from __future__ import annotations

from collections.abc import Mapping

from studio.errors import DataError
from studio.files.tables import natural_order

MIN_PER_CLASS = 5
COMFORTABLE_PER_CLASS = 20
CLASSES_NAMED = 5


def check_class_sizes(
    counts: Mapping[str, int],
    noun: str,
    kind: str = "class",
    minimum: int = MIN_PER_CLASS,
    purpose: str = "to train on",
    notes: Mapping[str, str] | None = None,
) -> None:
    """Refuse when a class has fewer than `minimum` examples, giving each such class's count (and its note)."""
    short = [name for name in natural_order(counts) if counts[name] < minimum]
    if not short:
        return
    them = "it" if len(short) == 1 else "them"
    raise DataError(
        f"Each {kind} needs at least {minimum} {noun} {purpose}; {_counted(short, counts, notes or {})}, "
        f"so add {noun} of {them} or remove {them}."
    )


def few_examples_note(counts: Mapping[str, int], noun: str, kind: str = "class") -> str:
    """A warning that the validation metrics will be unreliable when a class has few examples; "" when none has."""
    few = [name for name in natural_order(counts) if counts[name] < COMFORTABLE_PER_CLASS]
    if not few:
        return ""
    return (
        f"With fewer than {COMFORTABLE_PER_CLASS} {noun} per {kind} ({_counted(few, counts, {})}) the validation "
        f"metrics rest on few examples and will be unreliable; add {noun} to trust them."
    )


def _counted(names: list[str], counts: Mapping[str, int], notes: Mapping[str, str]) -> str:
    """'a' has 2, 'b' has 3 and 'c' has 1; past CLASSES_NAMED, how many more."""
    said = [f"'{name}' has {counts[name]}{notes.get(name, '')}" for name in names[:CLASSES_NAMED]]
    if len(names) > CLASSES_NAMED:
        return f"{', '.join(said)} and {len(names) - CLASSES_NAMED} more have fewer"
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
