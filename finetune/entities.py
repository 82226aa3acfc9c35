"""What is particular to fine-tuning an entity recogniser: sentences of tagged words, a token-classification head.

The data is CoNLL (a token and its tag per line), JSONL of tokens and tags, or JSONL of texts with character-offset
entities (Chinese a character a word); IOB1, IOB2 (BIO), BIOES and BMES tags are all read into IOB2. Sentences
longer than the model's window are read in overlapping windows, each a training example, and every word is scored
once, in the first window that labels it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from finetune.data import shuffled_split
from finetune.train import Built, Prepared, TrainConfig
from studio.capitals import CAPITALS, capitalised, reads_capitals
from studio.errors import DataError
from studio.files.tagged import TaggedSentences, entity_spans, read_sentences, repair
from studio.metrics import entity_metrics

TAB_TASK = "ner"  # where the app serves its runs
LIBRARY = "transformers"
PIPELINE_TAG = "token-classification"
# The epoch kept, and early stopping, go by entity F1: the token loss, nearly all of it on O words, rises from
# overconfidence while F1 still climbs (BBC News entities: the loss was lowest at epoch 2, F1 highest at epoch 4).
KEEP_BEST_BY = "f1"
# Measured (bench/finetune_entities.py, BBC News): F1 still climbed at epoch 8; early stopping ends flat runs sooner.
EPOCHS = 8

MAX_TYPES_NAMED = 5
MISTAKES_SHOWN = 10
SENTENCE_CHARS = 300


def default_learning_rate(model: Any) -> float:
    """A step size for the encoder's size; token heads take larger steps than text's sentence heads.

    MiniLM-L6's was measured (bench/finetune_entities.py: 3e-4 beat 1e-4 and 5e-4 on BBC News entities); the
    larger sizes' are the usual values for fine-tuning BERT base and large on CoNLL-2003.
    """
    hidden_size = model.config.hidden_size
    if hidden_size <= 384:
        return 3e-4
    if hidden_size <= 768:
        return 5e-5
    return 3e-5


def load_data(cfg: TrainConfig) -> Prepared:
    """Read, check and split the user's sentences (or use their validation file)."""
    train = read_sentences(cfg.data, max_rows=cfg.max_rows)
    if cfg.validation:
        val = read_sentences(cfg.validation, cfg.max_rows, min_sentences=1, what="The validation file", min_tagged=1)
        unknown = sorted(set(entity_types(val)) - set(entity_types(train)))
        if unknown:
            named = ", ".join(unknown[:MAX_TYPES_NAMED])
            raise DataError("The validation file has entity types the training file lacks ({types}).", types=named)
    else:
        train, val = split(train, cfg.val_split, cfg.seed)
    types = entity_types(train)
    counts = {"train": {**summary(train, types), "encoding": train.encoding}, "validation": summary(val, types)}
    return Prepared(train, val, types, counts)


def split(data: TaggedSentences, val_fraction: float = 0.2, seed: int = 0) -> tuple[TaggedSentences, TaggedSentences]:
    """A seeded shuffle of the sentences cut into train and validation; train keeps the dropped count."""
    train, val = shuffled_split(len(data.words), val_fraction, seed)
    return _subset(data, train, data.dropped_empty), _subset(data, val)


def entity_types(data: TaggedSentences) -> list[str]:
    """The entity types the sentences hold, sorted."""
    return sorted({tag[2:] for sentence in data.tags for tag in sentence if tag != "O"})


def summary(data: TaggedSentences, types: list[str]) -> dict[str, Any]:
    """Sentence and word counts, entities per type and the tag scheme, for display."""
    counts = Counter(kind for sentence in data.tags for kind, _, _ in entity_spans(sentence))
    return {
        "rows": len(data.words),
        "words": sum(len(words) for words in data.words),
        "labels": {kind: counts[kind] for kind in types},
        "scheme": data.scheme,
        "dropped_empty": data.dropped_empty,
    }


def tag_names(types: list[str]) -> list[str]:
    """The model's labels: O, then B- and I- of each type."""
    return ["O", *(f"{prefix}-{kind}" for kind in types for prefix in ("B", "I"))]


def build(cfg: TrainConfig, data: Prepared, device: Any) -> Built:
    """The pretrained encoder with a new token-classification head; the sentences cut into windows once."""
    from transformers import AutoConfig, AutoModelForTokenClassification, DataCollatorForTokenClassification

    from studio.hf import from_pretrained, token_limit

    names = tag_names(data.label_names)
    label2id = {name: i for i, name in enumerate(names)}
    tokenizer = _word_tokenizer(cfg.model)
    max_length = min(cfg.max_length, token_limit(tokenizer, from_pretrained(AutoConfig, cfg.model)))
    model = from_pretrained(
        AutoModelForTokenClassification,
        cfg.model,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )
    capitals = reads_capitals(tokenizer, model.config)
    if capitals:
        setattr(model.config, CAPITALS, True)
    train_set, _ = windows(tokenizer, data.train, label2id, max_length, capitals)
    val_set, val_words = windows(tokenizer, data.validation, label2id, max_length, capitals)
    collate = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8 if device.type == "cuda" else None)
    return Built(
        model=model,
        processor=tokenizer,
        train_set=train_set,
        val_set=val_set,
        train_lengths=[len(example["input_ids"]) for example in train_set],
        val_lengths=[len(example["input_ids"]) for example in val_set],
        collate_train=collate,
        collate_eval=collate,
        extra={
            "val_words": val_words,
            "val_tags": data.validation.tags,
            "tag_names": names,
            "val_sentences": data.validation.words,
            "capitals": capitals,
        },
    )


def windows(
    tokenizer: Any, data: TaggedSentences, label2id: dict[str, int], max_length: int, capitals: bool = False
) -> tuple[list[dict], list[tuple[int, list[tuple[int, int]]]]]:
    """Each sentence as one or more overlapping windows of at most max_length tokens, with a label on the first
    sub-token of each word (-100 elsewhere); and, per window, its sentence and its (position, word) pairs.
    With `capitals`, each window's token types mark its capitalised sub-tokens (see CAPITALS)."""
    content = max_length - tokenizer.num_special_tokens_to_add()
    if content < 8:
        from studio.errors import UserError

        raise UserError(
            "The max length is {max_length} tokens, too few for a window of words; set it to at least {least}.",
            max_length=max_length,
            least=max_length - content + 8,
        )
    words = [list(sentence) for sentence in data.words]
    encoded = _encode(tokenizer, words, max_length, content // 4)
    # A word the tokenizer turns into nothing (a zero-width space, a control character) would get no prediction.
    seen: list[set[int]] = [set() for _ in words]
    for i, sentence in enumerate(encoded["overflow_to_sample_mapping"]):
        seen[sentence].update(w for w in encoded.word_ids(i) if w is not None)
    vanished = [(s, w) for s, sentence in enumerate(words) for w in range(len(sentence)) if w not in seen[s]]
    if vanished:
        for s, w in vanished:
            words[s][w] = tokenizer.unk_token
        encoded = _encode(tokenizer, words, max_length, content // 4)

    examples: list[dict] = []
    mapping: list[tuple[int, list[tuple[int, int]]]] = []
    labelled: list[set[int]] = [set() for _ in words]
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded]
    for i, sentence in enumerate(encoded["overflow_to_sample_mapping"]):
        word_ids, offsets = encoded.word_ids(i), encoded["offset_mapping"][i]
        # A word's first sub-token starts at its first character: a window that begins inside a word labels
        # none of it, and a word it starts again in the overlap is labelled there too.
        positions = [
            (p, w)
            for p, w in enumerate(word_ids)
            if w is not None and (p == 0 or word_ids[p - 1] != w) and offsets[p][0] == 0
        ]
        labelled[sentence].update(w for _, w in positions)
        examples.append({key: encoded[key][i] for key in keys})
        mapping.append((sentence, positions))
    # Offsets that never start at 0 (a token with leading spaces in JSONL): the word's first token anywhere.
    for i, (sentence, positions) in enumerate(mapping):
        missing = seen[sentence] - labelled[sentence]
        if missing:
            word_ids = encoded.word_ids(i)
            first = {}
            for p, w in enumerate(word_ids):
                if w in missing and w not in first:
                    first[w] = p
            positions += sorted((p, w) for w, p in first.items())
            positions.sort()
            labelled[sentence].update(first)
    starts = _piece_starts(tokenizer, words)
    for i, (example, (sentence, positions)) in enumerate(zip(examples, mapping)):
        labels = [-100] * len(example["input_ids"])
        for p, w in positions:
            labels[p] = label2id[data.tags[sentence][w]]
        # The Named entities tab reads a text as its tokenizer splits it, which cuts "C-77841" into C, -, 77841:
        # each piece's first sub-token learns to continue the word's entity, so the tab finds the whole of it.
        word_ids, offsets = encoded.word_ids(i), encoded["offset_mapping"][i]
        for p, w in enumerate(word_ids):
            if w is not None and labels[p] == -100 and offsets[p][0] in starts[sentence][w]:
                if p > 0 and word_ids[p - 1] == w and offsets[p - 1][0] == offsets[p][0]:
                    continue  # a second token at the same place (a byte-level prefix): not a new piece
                labels[p] = label2id[_continuation(data.tags[sentence][w])]
        example["labels"] = labels
        if capitals:  # offsets index each token's own word here
            example["token_type_ids"] = [
                0 if w is None else capitalised(words[sentence][w][start:end])
                for w, (start, end) in zip(word_ids, offsets)
            ]
    return examples, mapping


def _piece_starts(tokenizer: Any, words: list[list[str]]) -> list[list[set[int]]]:
    """Where, inside each word, the tokenizer's pre-tokenizer starts a new piece (0, the word's start, excluded)."""
    pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
    cache: dict[str, set[int]] = {}

    def starts(word: str) -> set[int]:
        if word not in cache:
            pieces = pre_tokenizer.pre_tokenize_str(word) if pre_tokenizer is not None else []
            cache[word] = {start for _, (start, _end) in pieces if start > 0}
        return cache[word]

    return [[starts(word) for word in sentence] for sentence in words]


def _continuation(tag: str) -> str:
    return "O" if tag == "O" else f"I-{tag[2:]}"


def forward(model: Any, batch: Any) -> tuple[Any, Any]:
    """Logits [batch, tokens, tags] and labels [batch, tokens] of one batch."""
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    return model(**inputs).logits, batch["labels"]


def headline(built: Built, predictions: list[list[int]], references: list[list[int]]) -> tuple[str, float]:
    true, predicted = built.extra["val_tags"], word_tags(built, predictions)
    return "f1", entity_metrics(true, predicted, [])["f1"]


def evaluation(data: Prepared, built: Built, predictions: list, references: list) -> tuple[dict, list]:
    """Entity-level scores per type and overall, word accuracy, the type confusion matrix, and missed entities."""
    true, predicted = built.extra["val_tags"], word_tags(built, predictions)
    metrics = entity_metrics(true, predicted, data.label_names)
    return metrics, mistakes(data.validation.words, true, predicted)


def validation_rows(data: Prepared, built: Built, predictions: list, references: list) -> list[dict]:
    """Every validation sentence with its true and predicted entities ("words (TYPE)", joined by "; "), for
    comparing runs."""

    def entities(words: list[str], tags: list[str]) -> str:
        return "; ".join(f"{' '.join(words[a:b])} ({kind})" for kind, a, b in entity_spans(tags))

    true, predicted = built.extra["val_tags"], word_tags(built, predictions)
    return [
        {"item": " ".join(words), "true": entities(words, ts), "predicted": entities(words, ps)}
        for words, ts, ps in zip(data.validation.words, true, predicted)
    ]


def word_tags(built: Built, predictions: list[list[int]]) -> list[list[str]]:
    """Each validation word's predicted tag as valid IOB2."""
    return [repair([tag or "O" for tag in sentence]) for sentence in word_predictions(built, predictions)]


def word_predictions(built: Built, predictions: list[list[int]]) -> list[list[str | None]]:
    """Each validation word's predicted tag, from the first window that labelled it (None if none did)."""
    names = built.extra["tag_names"]
    tags: list[list[str | None]] = [[None] * len(sentence) for sentence in built.extra["val_tags"]]
    for (sentence, positions), predicted in zip(built.extra["val_words"], predictions):
        row = tags[sentence]
        for position, word in positions:
            if row[word] is None:
                row[word] = names[predicted[position]]
    return tags


def mistakes(
    words: list[list[str]], true: list[list[str]], predicted: list[list[str]], limit: int = MISTAKES_SHOWN
) -> list[dict]:
    """Validation sentences whose entities the model got wrong: those it missed and those it made up."""
    found = []
    for sentence, ts, ps in zip(words, true, predicted):
        wanted, got = entity_spans(ts), entity_spans(ps)
        missed = [span for span in wanted if span not in got]
        spurious = [span for span in got if span not in wanted]
        if missed or spurious:
            text = " ".join(sentence)
            found.append(
                {
                    "sentence": text if len(text) <= SENTENCE_CHARS else text[: SENTENCE_CHARS - 1] + "…",
                    "missed": "; ".join(f"{' '.join(sentence[a:b])} ({kind})" for kind, a, b in missed),
                    "spurious": "; ".join(f"{' '.join(sentence[a:b])} ({kind})" for kind, a, b in spurious),
                }
            )
            if len(found) == limit:
                break
    return found


def save_model(model: Any, built: Built, folder: Any) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    built.processor.save_pretrained(folder)


def save_extras(folder: Path, built: Built, result: dict) -> None:
    """The validation split as it was, so that a faster copy (finetune/optimise.py) is measured on the same
    sentences after the uploaded file is gone."""
    with open(folder / "validation.jsonl", "w", encoding="utf-8") as f:
        for words, tags in zip(built.extra["val_sentences"], built.extra["val_tags"]):
            f.write(json.dumps({"words": list(words), "tags": list(tags)}, ensure_ascii=False) + "\n")


def usage(path: str, built: Built) -> str:
    """How to use a saved run outside the app, for its model card."""
    if built.extra.get("capitals"):
        return f"""Its base model is uncased, so this run reads capital letters as token type 1: give it token types
as below (a `pipeline` would pass none, and find fewer names).

```python
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{path}")
model = AutoModelForTokenClassification.from_pretrained("{path}")
text = "Ada Lovelace was born in London."
inputs = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
offsets = inputs.pop("offset_mapping")[0].tolist()
inputs["token_type_ids"] = torch.tensor([[int(any(c.isupper() for c in text[a:b])) for a, b in offsets]])
with torch.inference_mode():
    tags = [model.config.id2label[i] for i in model(**inputs).logits.argmax(-1)[0].tolist()]
# Each word takes the tag of its first sub-token, the one it was trained on.
```"""
    return f"""```python
from transformers import pipeline

# "first": each word takes the tag of its first sub-token, the one it was trained on.
find_entities = pipeline("token-classification", model="{path}", aggregation_strategy="first")
find_entities("Ada Lovelace was born in London.")
```"""


def _word_tokenizer(model_ref: str) -> Any:
    """The model's fast tokenizer, set up to take text already split into words."""
    from transformers import AutoTokenizer

    from studio.errors import UserError
    from studio.hf import from_pretrained

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    if not tokenizer.is_fast:
        raise UserError(
            "'{model}' has no fast tokenizer, which entity training needs to match words to tokens; choose another "
            "base model, such as bert-base-cased.",
            model=model_ref,
        )
    # Byte-level BPE (RoBERTa, DeBERTa) marks a word's start with its leading space: without one added, every
    # word of pre-split text would read as the middle of a word.
    pre_tokenizer = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    if "ByteLevel" in json.dumps(pre_tokenizer) and not tokenizer.add_prefix_space:
        tokenizer = from_pretrained(AutoTokenizer, model_ref, add_prefix_space=True)
    return tokenizer


def _encode(tokenizer: Any, words: list[list[str]], max_length: int, stride: int) -> Any:
    return tokenizer(
        words,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )


def _subset(data: TaggedSentences, indices: list[int], dropped_empty: int = 0) -> TaggedSentences:
    return TaggedSentences(
        [data.words[i] for i in indices], [data.tags[i] for i in indices], data.scheme, dropped_empty, data.encoding
    )
