"""Capital letters as token types: how an entity model fine-tuned from an uncased base still reads capitals.

An uncased tokenizer gives "Paris" and "paris" the same ids; a run from such a base marks each sub-token whose
characters hold a capital with token type 1 (BERT's second segment embedding), in training and when it serves.
"""

from __future__ import annotations

from typing import Any

# An uncased base (the pack's MiniLM-L6) cannot see capital letters, which names lean on. Such a run marks each
# sub-token that holds a capital with token type 1, in training and wherever the model is used; its config.json
# says so under this key (BBC News entities: F1 0.687 without, 0.730 with).
CAPITALS = "capitals_as_token_type"


def reads_capitals(tokenizer: Any, config: Any) -> bool:
    """Whether a run from this base marks capitalised sub-tokens with token type 1: a base whose tokenizer
    lowercases ("Paris" and "paris" are the same ids) and whose model has a second token type to use."""
    if getattr(config, "type_vocab_size", 0) < 2 or "token_type_ids" not in tokenizer.model_input_names:
        return False
    return (
        tokenizer("Paris", add_special_tokens=False)["input_ids"]
        == tokenizer("paris", add_special_tokens=False)["input_ids"]
    )


def capital_types(text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """Token type per token: 1 where the characters it stands for hold a capital letter (special tokens: 0)."""
    return [capitalised(text[start:end]) for start, end in offsets]


def capitalised(chars: str) -> int:
    return int(any(c.isupper() for c in chars))
