"""The kinds of model fine-tuning trains, by name. Each kind's module says what is particular to it (reading the
data, the model and its head, batching, metrics, saving); the training loop receives the module it runs."""

from __future__ import annotations

from types import ModuleType

from finetune import entities, images, text
from studio.errors import UserError

KINDS: dict[str, ModuleType] = {"text": text, "image": images, "entities": entities}


def kind_named(task: str) -> ModuleType:
    """The module of one kind: "text", "image" or "entities"."""
    kind = KINDS.get(task)
    if kind is None:
        raise UserError("The task '{task}' is unknown; choose one of {tasks}.", task=task, tasks=", ".join(KINDS))
    return kind
