"""How many examples each class needs (a label of a table, a folder of pictures, an entity type), one rule for all.

Below MIN_PER_CLASS a class is refused: a model cannot learn it from the few the validation split leaves, nor be
scored on it. Below COMFORTABLE_PER_CLASS training goes ahead, but each class is scored on fewer than four validation
examples (at the default share of 0.2), so one answer moves its recall by a quarter or more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.errors import DataError, UserError
from studio.files.tables import natural_order
from studio.i18n import Listed, say, word

MIN_PER_CLASS = 5
COMFORTABLE_PER_CLASS = 20
CLASSES_NAMED = 5


def check_class_sizes(
    counts: Mapping[str, int],
    noun: str,
    kind: str = "class",
    minimum: int = MIN_PER_CLASS,
    purpose: str = "to train on",
    notes: Mapping[str, Any] | None = None,
) -> None:
    """Refuse when a class has fewer than `minimum` examples, giving each such class's count (and its note).

    `noun`, `kind` and `purpose` are words of the translation table; a note is a phrase of it (a UserError)."""
    short = [name for name in natural_order(counts) if counts[name] < minimum]
    if not short:
        return
    fields = {
        "kind": word(kind),
        "minimum": minimum,
        "noun": word(noun),
        "purpose": word(purpose),
        "counted": _counted(short, counts, notes or {}),
    }
    if len(short) == 1:
        raise DataError(
            "Each {kind} needs at least {minimum} {noun} {purpose}; {counted}, so add {noun} of it or remove it.",
            **fields,
        )
    raise DataError(
        "Each {kind} needs at least {minimum} {noun} {purpose}; {counted}, so add {noun} of them or remove them.",
        **fields,
    )


def few_examples_note(counts: Mapping[str, int], noun: str, kind: str = "class") -> str:
    """A warning that the validation metrics will be unreliable when a class has few examples, in the request's
    language; "" when none has. `noun` and `kind` are words of the translation table."""
    few = [name for name in natural_order(counts) if counts[name] < COMFORTABLE_PER_CLASS]
    if not few:
        return ""
    return say(
        "With fewer than {comfortable} {noun} per {kind} ({counted}) the validation "
        "metrics rest on few examples and will be unreliable; add {noun} to trust them.",
        comfortable=COMFORTABLE_PER_CLASS,
        noun=word(noun),
        kind=word(kind),
        counted=_counted(few, counts, {}),
    )


def _counted(names: list[str], counts: Mapping[str, int], notes: Mapping[str, Any]) -> Any:
    """'a' has 2, 'b' has 3 and 'c' has 1; past CLASSES_NAMED, how many more: a field said in its message's
    language."""
    said = [
        UserError("'{name}' has {count}{note}", name=name, count=counts[name], note=notes.get(name, ""))
        for name in names[:CLASSES_NAMED]
    ]
    if len(names) > CLASSES_NAMED:
        return UserError(
            "{listed} and {more} more have fewer",
            listed=Listed(said, Listed.COMMA),
            more=len(names) - CLASSES_NAMED,
        )
    return Listed(said)
