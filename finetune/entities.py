"""What is particular to fine-tuning an entity recogniser: sentences of tagged words, a token-classification head.

The data is CoNLL (a token and its tag per line), JSONL of tokens and tags, or JSONL of texts with character-offset
entities; IOB1, IOB2 (BIO) and BIOES tags are all read into IOB2. Sentences longer than the model's window are read
in overlapping windows, each a training example, and every word is scored once, in the first window that labels it.
"""

from __future__ import annotations

import json
import math
import random
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.data import DataError, read_text
from finetune.train import Built, Prepared, TrainConfig

TAB_TASK = "ner"  # where the app serves its runs
LIBRARY = "transformers"
PIPELINE_TAG = "token-classification"
# The epoch kept, and early stopping, go by entity F1: the token loss, nearly all of it on O words, rises from
# overconfidence while F1 still climbs (BBC News entities: the loss was lowest at epoch 2, F1 highest at epoch 4).
KEEP_BEST_BY = "f1"
# Measured (bench/finetune_entities.py, BBC News): F1 still climbed at epoch 8; early stopping ends flat runs sooner.
EPOCHS = 8
# An uncased base (the pack's MiniLM-L6) cannot see capital letters, which names lean on. Such a run marks each
# sub-token that holds a capital with token type 1, in training and wherever the model is used; its config.json
# says so under this key (BBC News entities: F1 0.687 without, 0.730 with).
CAPITALS = "capitals_as_token_type"

CONLL_SUFFIXES = (".conll", ".txt", ".iob", ".bio", ".tsv")
JSONL_SUFFIXES = (".jsonl",)
MIN_SENTENCES = 10
MAX_BYTES = 200 * 2**20
MAX_TYPES_NAMED = 5
MISTAKES_SHOWN = 10
# The last column's name in a TSV export with a header row ("token<TAB>tag").
HEADER_NAMES = {"tag", "tags", "label", "labels", "ner", "ner_tag", "ner_tags", "entity"}
SENTENCE_CHARS = 300
# Words of a text given with character offsets: runs of letters and digits, and each other non-space character.
WORD = re.compile(r"\w+|[^\w\s]")
_TAG = re.compile(r"([BIESLU])-(\S+)")
# BILOU's last and unit tags are BIOES's end and single tags.
_BIOES_PREFIX = {"L": "E", "U": "S"}
EXAMPLE_TOKENS = '{"tokens": ["Ada", "lived", "in", "London"], "tags": ["B-PER", "O", "O", "B-LOC"]}'
EXAMPLE_OFFSETS = '{"text": "Ada lived in London", "entities": [{"start": 13, "end": 19, "label": "LOC"}]}'


@dataclass(frozen=True)
class TaggedSentences:
    """Sentences as words with one IOB2 tag each ("O", "B-PER", "I-PER"), in file order."""

    words: list[list[str]]
    tags: list[list[str]]
    scheme: str = "IOB2"  # the scheme the file was written in
    dropped_empty: int = 0
    encoding: str = "UTF-8"


@dataclass
class _Raw:
    """One sentence as the file wrote it, with where it came from for messages."""

    words: list[str]
    tags: list[str]
    line: int  # CoNLL: the line of its first token; JSONL: its line
    conll: bool
    iob2: bool = False  # built from character offsets, so already IOB2


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
        val = read_sentences(cfg.validation, max_rows=cfg.max_rows, min_sentences=1, what="The validation file")
        unknown = sorted(set(entity_types(val)) - set(entity_types(train)))
        if unknown:
            named = ", ".join(unknown[:MAX_TYPES_NAMED])
            raise DataError(f"The validation file has entity types the training file lacks ({named}).")
    else:
        train, val = split(train, cfg.val_split, cfg.seed)
    types = entity_types(train)
    counts = {"train": {**summary(train, types), "encoding": train.encoding}, "validation": summary(val, types)}
    return Prepared(train, val, types, counts)


def read_sentences(
    path: str | Path, max_rows: int = 200_000, min_sentences: int = MIN_SENTENCES, what: str = "The file"
) -> TaggedSentences:
    """Read a CoNLL or JSONL file of tagged sentences, in any encoding, into IOB2 tags, checking it as training will."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONLL_SUFFIXES + JSONL_SUFFIXES:
        kind = f"A '{path.suffix}' file" if path.suffix else "A file without an extension"
        raise DataError(
            f"{kind} cannot be read as entities; upload CoNLL ({', '.join(CONLL_SUFFIXES)}: a token and its tag "
            "per line) or JSONL (.jsonl: tokens and tags, or a text and its entities)."
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"The file '{path.name}' does not exist any more; upload it again.") from None
    if size > MAX_BYTES:
        raise DataError(
            f"{what} is {math.ceil(size / 2**20):,} MB; the limit is {MAX_BYTES // 2**20:,} MB, "
            "so upload a smaller sample."
        )
    text, encoding = read_text(path) if size else ("", "UTF-8")
    if not text.strip():
        raise DataError(
            f"{what} is empty; upload a CoNLL or JSONL file with at least {min_sentences} tagged sentences."
        )
    raw = _read_conll(text, max_rows) if suffix in CONLL_SUFFIXES else _read_jsonl(text, max_rows)
    dropped = sum(1 for sentence in raw if not sentence.words)
    raw = [sentence for sentence in raw if sentence.words]
    if len(raw) < min_sentences:
        sentences = "sentence" if len(raw) == 1 else "sentences"
        separate = " (separate sentences with a blank line)" if suffix in CONLL_SUFFIXES else ""
        raise DataError(
            f"{what} has only {len(raw)} {sentences}; fine-tuning needs at least {min_sentences}, "
            f"so add more tagged sentences{separate}."
        )
    scheme, tags = _to_iob2(raw)
    if not any(tag != "O" for sentence in tags for tag in sentence):
        raise DataError(
            f"{what} has no entities, every tag is O; tag the names with B- and I- tags (such as B-PER, I-PER) "
            "so there is something to learn."
        )
    return TaggedSentences([sentence.words for sentence in raw], tags, scheme, dropped, encoding)


def split(data: TaggedSentences, val_fraction: float = 0.2, seed: int = 0) -> tuple[TaggedSentences, TaggedSentences]:
    """A seeded shuffle of the sentences cut into train and validation; train keeps the dropped count."""
    if not 0 < val_fraction <= 0.5:
        raise DataError(f"The validation fraction is {val_fraction}; set it above 0 and at most 0.5.")
    order = list(range(len(data.words)))
    random.Random(seed).shuffle(order)
    val_size = max(1, math.ceil(len(order) * val_fraction))
    val, train = order[:val_size], order[val_size:]
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


def entity_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, first word, end word) of each entity in valid IOB2 tags."""
    spans: list[tuple[str, int, int]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append((tag[2:], i, i + 1))
        elif tag.startswith("I-") and spans and spans[-1][2] == i and spans[-1][0] == tag[2:]:
            spans[-1] = (spans[-1][0], spans[-1][1], i + 1)
    return spans


def build(cfg: TrainConfig, data: Prepared, device: Any) -> Built:
    """The pretrained encoder with a new token-classification head; the sentences cut into windows once."""
    from transformers import AutoConfig, AutoModelForTokenClassification, DataCollatorForTokenClassification

    from finetune.text import usable_max_length
    from studio.hf import from_pretrained

    names = tag_names(data.label_names)
    label2id = {name: i for i, name in enumerate(names)}
    tokenizer = _word_tokenizer(cfg.model)
    max_length = usable_max_length(cfg.max_length, tokenizer, from_pretrained(AutoConfig, cfg.model))
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
    return [_capitalised(text[start:end]) for start, end in offsets]


def _capitalised(chars: str) -> int:
    return int(any(c.isupper() for c in chars))


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
            f"The max length is {max_length} tokens, too few for a window of words; "
            f"set it to at least {max_length - content + 8}."
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
                0 if w is None else _capitalised(words[sentence][w][start:end])
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


def repair(tags: list[str]) -> list[str]:
    """An I- tag that continues no entity of its type starts one, as the Named entities tab groups tokens."""
    fixed = []
    for tag in tags:
        if tag.startswith("I-") and (not fixed or fixed[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        fixed.append(tag)
    return fixed


def entity_metrics(true: list[list[str]], predicted: list[list[str]], types: list[str]) -> dict:
    """seqeval's strict entity scores (exact span and type) per type, micro and macro; word accuracy; a word-level
    confusion matrix of types with O."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(true, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    micro, macro = report["micro avg"], report["macro avg"]
    words = sum(len(sentence) for sentence in true)
    correct = sum(t == p for ts, ps in zip(true, predicted) for t, p in zip(ts, ps))
    kinds = types or sorted({tag[2:] for sentence in true for tag in sentence if tag != "O"})
    labels = ["O", *kinds]
    index = {kind: i for i, kind in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for ts, ps in zip(true, predicted):
        for t, p in zip(ts, ps):
            matrix[index.get(t[2:] or "O", 0)][index.get(p[2:] or "O", 0)] += 1
    return {
        "precision": _round(micro["precision"]),
        "recall": _round(micro["recall"]),
        "f1": _round(micro["f1-score"]),
        "macro": {
            "precision": _round(macro["precision"]),
            "recall": _round(macro["recall"]),
            "f1": _round(macro["f1-score"]),
        },
        "per_type": {
            kind: {
                "precision": _round(report.get(kind, {}).get("precision", 0.0)),
                "recall": _round(report.get(kind, {}).get("recall", 0.0)),
                "f1": _round(report.get(kind, {}).get("f1-score", 0.0)),
                "support": int(report.get(kind, {}).get("support", 0)),
            }
            for kind in kinds
        },
        "token_accuracy": _round(correct / max(1, words)),
        "labels": list(kinds),
        "confusion_matrix": matrix,
        "confusion_labels": labels,
        "validation_rows": len(true),
    }


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
            f"'{model_ref}' has no fast tokenizer, which entity training needs to match words to tokens; "
            "choose another base model, such as bert-base-cased."
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


def _read_conll(text: str, max_rows: int) -> list[_Raw]:
    sentences: list[_Raw] = []
    current: _Raw | None = None
    # Split on newlines only: a token may hold U+2028 and the other characters str.splitlines breaks at.
    for number, line in enumerate(text.lstrip("\ufeff").split("\n"), 1):
        cells = line.split()
        if not cells or cells[0] == "-DOCSTART-" or (number == 1 and cells[-1].lower() in HEADER_NAMES):
            current = None
            continue
        if len(cells) == 1:
            raise DataError(
                f"Line {number} has only '{_short(cells[0])}', not a token and its tag; put the tag after the "
                "token, separated by a space or a tab."
            )
        if current is None:
            if len(sentences) == max_rows:
                raise _too_many(max_rows)
            current = _Raw([], [], number, conll=True)
            sentences.append(current)
        current.words.append(cells[0])
        current.tags.append(cells[-1])
    return sentences


def _read_jsonl(text: str, max_rows: int) -> list[_Raw]:
    sentences: list[_Raw] = []
    for number, line in enumerate(text.lstrip("\ufeff").split("\n"), 1):
        if not line.strip():
            continue
        if len(sentences) == max_rows:
            raise _too_many(max_rows)
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            raise DataError(
                f"Line {number} is not valid JSON ({reason}); each line must be one object such as {EXAMPLE_TOKENS}."
            ) from None
        if isinstance(record, dict) and "tokens" in record and "tags" in record:
            sentences.append(_from_tokens(record, number))
        elif isinstance(record, dict) and "text" in record and "entities" in record:
            sentences.append(_from_offsets(record, number))
        else:
            raise DataError(
                f'Line {number} has neither "tokens" and "tags" nor "text" and "entities"; each line must '
                f"look like {EXAMPLE_TOKENS} or {EXAMPLE_OFFSETS}."
            )
    return sentences


def _from_tokens(record: dict, number: int) -> _Raw:
    tokens, tags = record["tokens"], record["tags"]
    for name, values in (("tokens", tokens), ("tags", tags)):
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise DataError(f'Line {number}\'s "{name}" is not a list of strings; write it like {EXAMPLE_TOKENS}.')
    if len(tokens) != len(tags):
        raise DataError(
            f"Line {number} has {len(tokens)} tokens but {len(tags)} tags; give each token exactly one tag."
        )
    return _Raw(list(tokens), [tag.strip() for tag in tags], number, conll=False)


def _from_offsets(record: dict, number: int) -> _Raw:
    text, entities = record["text"], record["entities"]
    if not isinstance(text, str) or not isinstance(entities, list):
        raise DataError(
            f'Line {number} needs "text" to be a string and "entities" a list; write it like {EXAMPLE_OFFSETS}.'
        )
    matches = list(WORD.finditer(text))
    words = [m.group() for m in matches]
    starts, ends = [m.start() for m in matches], [m.end() for m in matches]
    tags = ["O"] * len(words)
    spans = []
    for entity in entities:
        fields = entity if isinstance(entity, dict) else {}
        start, end, label = fields.get("start"), fields.get("end"), fields.get("label")
        if not (_is_int(start) and _is_int(end) and isinstance(label, str) and label.strip()):
            raise DataError(
                f"Line {number} has an entity without a whole-number start and end and a label; write each like "
                '{"start": 13, "end": 19, "label": "LOC"}.'
            )
        spans.append((start, end, label.strip()))
    spans.sort()
    previous = None
    for start, end, label in spans:
        where = f"Line {number} has the entity {start}–{end} ({label})"
        if start < 0 or end > len(text):
            raise DataError(
                f"{where} outside its text of {len(text)} characters; entity offsets must lie within the text."
            )
        if end <= start:
            raise DataError(f"{where}, which ends before it starts; give each entity an end after its start.")
        if previous and start < previous[1]:
            raise DataError(
                f"Line {number} has overlapping entities {previous[0]}–{previous[1]} ({previous[2]}) and "
                f"{start}–{end} ({label}); each character can be in one entity only, so keep one of them."
            )
        previous = (start, end, label)
        first, last = bisect_right(ends, start), bisect_left(starts, end) - 1
        if first > last:
            raise DataError(f"{where} covering no word ('{_short(text[start:end])}'); remove it or fix its offsets.")
        for edge, word in ((start, first), (end, last)):
            if starts[word] < edge < ends[word]:
                side = "starts" if edge == start else "ends"
                raise DataError(
                    f"{where} '{_short(text[start:end])}', which {side} inside the word '{_short(words[word])}'; "
                    "set its offsets on word boundaries."
                )
        tags[first : last + 1] = [f"B-{label}"] + [f"I-{label}"] * (last - first)
    return _Raw(words, tags, number, conll=False, iob2=True)


def _to_iob2(raw: list[_Raw]) -> tuple[str, list[list[str]]]:
    """Detect the file's tag scheme and rewrite every sentence's tags in IOB2."""
    parsed = [
        [("O", "") if tag == "O" else (tag[0], tag[2:]) for tag in sentence.tags]
        if sentence.iob2
        else [_parse_tag(tag, sentence, i) for i, tag in enumerate(sentence.tags)]
        for sentence in raw
    ]
    written = [(sentence, tags) for sentence, tags in zip(raw, parsed) if not sentence.iob2]
    prefixes = {prefix for _, tags in written for prefix, _ in tags}
    b_starts = i_starts = 0
    for _, tags in written:
        for i, (prefix, kind) in enumerate(tags):
            starts = i == 0 or tags[i - 1][1] != kind or tags[i - 1][0] in {"E", "S"}
            b_starts += prefix == "B" and starts
            i_starts += prefix == "I" and starts
    if prefixes & {"E", "S"}:
        scheme = "BIOES"
    elif i_starts > b_starts:
        scheme = "IOB1"  # B- only separates two entities of one type; an entity starts with I-
    else:
        scheme = "IOB2"
    converted = []
    for sentence, tags in zip(raw, parsed):
        out: list[str] = []
        for i, (prefix, kind) in enumerate(tags):
            if prefix == "O":
                out.append("O")
                continue
            continues = bool(out) and out[-1] != "O" and out[-1][2:] == kind and tags[i - 1][0] not in {"E", "S"}
            if prefix in {"B", "S"} or (prefix in {"I", "E"} and not continues and scheme == "IOB1"):
                out.append(f"B-{kind}")
            elif continues:
                out.append(f"I-{kind}")
            else:
                starts = "B- (or S- for one word)" if scheme == "BIOES" else "B-"
                raise DataError(
                    f"{_where(sentence, i)} is tagged {sentence.tags[i]} with no {kind} entity before it; in a "
                    f"{scheme if scheme == 'BIOES' else 'BIO'} file every entity starts with {starts}, so make it "
                    f"B-{kind}."
                )
        converted.append(out)
    return (scheme if prefixes - {"O"} else "IOB2"), converted


def _parse_tag(tag: str, sentence: _Raw, i: int) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    match = _TAG.fullmatch(tag)
    if not match:
        raise DataError(
            f"{_where(sentence, i)} has the tag '{_short(tag)}', which is neither O nor B-, I-, E- or S- and a type; "
            "write tags such as B-PER, I-PER and O."
        )
    prefix, kind = match.groups()
    return _BIOES_PREFIX.get(prefix, prefix), kind


def _where(sentence: _Raw, i: int) -> str:
    """Where token i of a sentence is in the file, for a message: "Line 57 ('Berlin')"."""
    token = _short(sentence.words[i])
    if sentence.conll:
        return f"Line {sentence.line + i} ('{token}')"
    return f"Token {i + 1} ('{token}') of line {sentence.line}"


def _subset(data: TaggedSentences, indices: list[int], dropped_empty: int = 0) -> TaggedSentences:
    return TaggedSentences(
        [data.words[i] for i in indices], [data.tags[i] for i in indices], data.scheme, dropped_empty, data.encoding
    )


def _too_many(max_rows: int) -> DataError:
    return DataError(
        f"The file has more than {max_rows:,} sentences; the limit is {max_rows:,}, so upload a smaller sample."
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _round(value: float) -> float:
    return round(float(value), 5)
