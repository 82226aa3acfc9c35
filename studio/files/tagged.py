"""Tagged sentences for entity recognition: CoNLL (a token and its tag a line; for Chinese, a character a line)
or JSONL (tokens and tags, or a text and its entities as character offsets), in IOB1, IOB2/BIO, BIOES or BMES,
read into IOB2."""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import DataError, UserError
from studio.files.classes import MIN_PER_CLASS
from studio.files.tables import file_size, read_text
from studio.i18n import word
from studio.languages import CJK_CHARS

CONLL_SUFFIXES = (".conll", ".txt", ".iob", ".bio", ".tsv")
JSONL_SUFFIXES = (".jsonl",)
MIN_SENTENCES = 10
# As many sentences holding an entity as a classifier needs examples of a class: fewer teach nothing but O.
MIN_TAGGED_SENTENCES = MIN_PER_CLASS
MAX_BYTES = 200 * 2**20


# The last column's name in a TSV export with a header row ("token<TAB>tag").
HEADER_NAMES = {"tag", "tags", "label", "labels", "ner", "ner_tag", "ner_tags", "entity"}


# Words of a text given with character offsets: each Chinese character (Chinese puts no spaces between words, so
# entity recognisers read it a character at a time), runs of other letters and digits, and each other non-space
# character.
WORD = re.compile(f"[{CJK_CHARS}]|[^\\W{CJK_CHARS}]+|[^\\w\\s]")
_TAG = re.compile(r"([BIMESLU])-(\S+)")


# BILOU's last and unit tags, and BMES's middle tag (People's Daily and MSRA files), are BIOES's end, single and
# inside tags.
_BIOES_PREFIX = {"L": "E", "U": "S", "M": "I"}
EXAMPLE_TOKENS = '{"tokens": ["Ada", "lived", "in", "London"], "tags": ["B-PER", "O", "O", "B-LOC"]}'
EXAMPLE_OFFSETS = '{"text": "Ada lived in London", "entities": [{"start": 13, "end": 19, "label": "LOC"}]}'
EXAMPLE_ENTITY = '{"start": 13, "end": 19, "label": "LOC"}'


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


def read_sentences(
    path: str | Path,
    max_rows: int = 200_000,
    min_sentences: int = MIN_SENTENCES,
    what: str = "The file",
    min_tagged: int = MIN_TAGGED_SENTENCES,
) -> TaggedSentences:
    """Read a CoNLL or JSONL file of tagged sentences, in any encoding, into IOB2 tags, checking it as training will.

    A file only scored on passes min_sentences=1 and min_tagged=1: one sentence, one entity. `what` the file is
    called in messages is a word of the translation table ("The file", "The validation file").
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONLL_SUFFIXES + JSONL_SUFFIXES:
        suffixes = ", ".join(CONLL_SUFFIXES)
        if path.suffix:
            raise DataError(
                "A '{suffix}' file cannot be read as entities; upload CoNLL ({suffixes}: a token and its tag "
                "per line) or JSONL (.jsonl: tokens and tags, or a text and its entities).",
                suffix=path.suffix,
                suffixes=suffixes,
            )
        raise DataError(
            "A file without an extension cannot be read as entities; upload CoNLL ({suffixes}: a token and its tag "
            "per line) or JSONL (.jsonl: tokens and tags, or a text and its entities).",
            suffixes=suffixes,
        )
    file = word(what)
    size = file_size(path)
    if size > MAX_BYTES:
        raise DataError(
            "{what} is {size:,} MB; the limit is {limit:,} MB, so upload a smaller sample.",
            what=file,
            size=math.ceil(size / 2**20),
            limit=MAX_BYTES // 2**20,
        )
    text, encoding = read_text(path) if size else ("", "UTF-8")
    if not text.strip():
        raise DataError(
            "{what} is empty; upload a CoNLL or JSONL file with at least {minimum} tagged sentences.",
            what=file,
            minimum=min_sentences,
        )
    raw = _read_conll(text, max_rows) if suffix in CONLL_SUFFIXES else _read_jsonl(text, max_rows)
    dropped = sum(1 for sentence in raw if not sentence.words)
    raw = [sentence for sentence in raw if sentence.words]
    if len(raw) < min_sentences:
        raise _too_few(file, len(raw), min_sentences, conll=suffix in CONLL_SUFFIXES)
    scheme, tags = _to_iob2(raw)
    tagged = sum(1 for sentence in tags if any(tag != "O" for tag in sentence))
    if not tagged:
        raise DataError(
            "{what} has no entities, every tag is O; tag the names with B- and I- tags (such as B-PER, I-PER) "
            "so there is something to learn.",
            what=file,
        )
    if tagged < min_tagged:
        if tagged == 1:
            raise DataError(
                "{what} has entities in only {count} sentence; fine-tuning needs at least {minimum} sentences "
                "with entities, so tag the names in more sentences.",
                what=file,
                count=tagged,
                minimum=min_tagged,
            )
        raise DataError(
            "{what} has entities in only {count} sentences; fine-tuning needs at least {minimum} sentences "
            "with entities, so tag the names in more sentences.",
            what=file,
            count=tagged,
            minimum=min_tagged,
        )
    return TaggedSentences([sentence.words for sentence in raw], tags, scheme, dropped, encoding)


def _too_few(what: str, count: int, minimum: int, conll: bool) -> DataError:
    """Too few sentences: one whole sentence for each case, as the translation table holds them."""
    fields = {"what": what, "count": count, "minimum": minimum}
    if count == 1 and conll:
        return DataError(
            "{what} has only {count} sentence; fine-tuning needs at least {minimum}, "
            "so add more tagged sentences (separate sentences with a blank line).",
            **fields,
        )
    if count == 1:
        return DataError(
            "{what} has only {count} sentence; fine-tuning needs at least {minimum}, so add more tagged sentences.",
            **fields,
        )
    if conll:
        return DataError(
            "{what} has only {count} sentences; fine-tuning needs at least {minimum}, "
            "so add more tagged sentences (separate sentences with a blank line).",
            **fields,
        )
    return DataError(
        "{what} has only {count} sentences; fine-tuning needs at least {minimum}, so add more tagged sentences.",
        **fields,
    )


def entity_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, first word, end word) of each entity in valid IOB2 tags."""
    spans: list[tuple[str, int, int]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append((tag[2:], i, i + 1))
        elif tag.startswith("I-") and spans and spans[-1][2] == i and spans[-1][0] == tag[2:]:
            spans[-1] = (spans[-1][0], spans[-1][1], i + 1)
    return spans


def repair(tags: list[str]) -> list[str]:
    """An I- tag that continues no entity of its type starts one, as the Named entities tab groups tokens."""
    fixed = []
    for tag in tags:
        if tag.startswith("I-") and (not fixed or fixed[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        fixed.append(tag)
    return fixed


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
                "Line {number} has only '{cell}', not a token and its tag; put the tag after the "
                "token, separated by a space or a tab.",
                number=number,
                cell=_short(cells[0]),
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
            reason = error.msg if isinstance(error, json.JSONDecodeError) else word("nested too deeply")
            raise DataError(
                "Line {number} is not valid JSON ({reason}); each line must be one object such as {example}.",
                number=number,
                reason=reason,
                example=EXAMPLE_TOKENS,
            ) from None
        if isinstance(record, dict) and "tokens" in record and "tags" in record:
            sentences.append(_from_tokens(record, number))
        elif isinstance(record, dict) and "text" in record and "entities" in record:
            sentences.append(_from_offsets(record, number))
        else:
            raise DataError(
                'Line {number} has neither "tokens" and "tags" nor "text" and "entities"; each line must '
                "look like {tokens} or {offsets}.",
                number=number,
                tokens=EXAMPLE_TOKENS,
                offsets=EXAMPLE_OFFSETS,
            )
    return sentences


def _from_tokens(record: dict, number: int) -> _Raw:
    tokens, tags = record["tokens"], record["tags"]
    for name, values in (("tokens", tokens), ("tags", tags)):
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise DataError(
                'Line {number}\'s "{name}" is not a list of strings; write it like {example}.',
                number=number,
                name=name,
                example=EXAMPLE_TOKENS,
            )
    if len(tokens) != len(tags):
        raise DataError(
            "Line {number} has {tokens} tokens but {tags} tags; give each token exactly one tag.",
            number=number,
            tokens=len(tokens),
            tags=len(tags),
        )
    return _Raw(list(tokens), [tag.strip() for tag in tags], number, conll=False)


def _from_offsets(record: dict, number: int) -> _Raw:
    text, entities = record["text"], record["entities"]
    if not isinstance(text, str) or not isinstance(entities, list):
        raise DataError(
            'Line {number} needs "text" to be a string and "entities" a list; write it like {example}.',
            number=number,
            example=EXAMPLE_OFFSETS,
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
                "Line {number} has an entity without a whole-number start and end and a label; write each like "
                "{example}.",
                number=number,
                example=EXAMPLE_ENTITY,
            )
        spans.append((start, end, label.strip()))
    spans.sort()
    previous = None
    for start, end, label in spans:
        entity = {"number": number, "start": start, "end": end, "label": label}
        if start < 0 or end > len(text):
            raise DataError(
                "Line {number} has the entity {start}–{end} ({label}) outside its text of {length} characters; "
                "entity offsets must lie within the text.",
                **entity,
                length=len(text),
            )
        if end <= start:
            raise DataError(
                "Line {number} has the entity {start}–{end} ({label}), which ends before it starts; "
                "give each entity an end after its start.",
                **entity,
            )
        if previous and start < previous[1]:
            raise DataError(
                "Line {number} has overlapping entities {first_start}–{first_end} ({first_label}) and "
                "{start}–{end} ({label}); each character can be in one entity only, so keep one of them.",
                **entity,
                first_start=previous[0],
                first_end=previous[1],
                first_label=previous[2],
            )
        previous = (start, end, label)
        first, last = bisect_right(ends, start), bisect_left(starts, end) - 1
        if first > last:
            raise DataError(
                "Line {number} has the entity {start}–{end} ({label}) covering no word ('{text}'); "
                "remove it or fix its offsets.",
                **entity,
                text=_short(text[start:end]),
            )
        for edge, inside in ((start, first), (end, last)):
            if starts[inside] < edge < ends[inside]:
                split = {**entity, "text": _short(text[start:end]), "word": _short(words[inside])}
                if edge == start:
                    raise DataError(
                        "Line {number} has the entity {start}–{end} ({label}) '{text}', which starts inside the "
                        "word '{word}'; set its offsets on word boundaries.",
                        **split,
                    )
                raise DataError(
                    "Line {number} has the entity {start}–{end} ({label}) '{text}', which ends inside the "
                    "word '{word}'; set its offsets on word boundaries.",
                    **split,
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
        middles = any(tag.startswith("M-") for sentence, _ in written for tag in sentence.tags)
        scheme = "BMES" if middles else "BIOES"
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
                starts = "B- (or S- for one word)" if scheme in {"BIOES", "BMES"} else "B-"
                raise DataError(
                    "{where} is tagged {tag} with no {kind} entity before it; in a {scheme} file every entity starts "
                    "with {starts}, so make it B-{kind}.",
                    where=_where(sentence, i),
                    tag=sentence.tags[i],
                    kind=kind,
                    scheme=scheme if scheme in {"BIOES", "BMES"} else "BIO",
                    starts=word(starts) if scheme in {"BIOES", "BMES"} else starts,
                )
        converted.append(out)
    return (scheme if prefixes - {"O"} else "IOB2"), converted


def _parse_tag(tag: str, sentence: _Raw, i: int) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    match = _TAG.fullmatch(tag)
    if not match:
        raise DataError(
            "{where} has the tag '{tag}', which is neither O nor B-, I-, E- or S- and a type; "
            "write tags such as B-PER, I-PER and O.",
            where=_where(sentence, i),
            tag=_short(tag),
        )
    prefix, kind = match.groups()
    return _BIOES_PREFIX.get(prefix, prefix), kind


def _where(sentence: _Raw, i: int) -> UserError:
    """Where token i of a sentence is in the file, for a message: "Line 57 ('Berlin')" (a phrase of the translation
    table, said in its message's language)."""
    token = _short(sentence.words[i])
    if sentence.conll:
        return UserError("Line {line} ('{token}')", line=sentence.line + i, token=token)
    return UserError("Token {index} ('{token}') of line {line}", index=i + 1, token=token, line=sentence.line)


def _too_many(max_rows: int) -> DataError:
    return DataError(
        "The file has more than {limit:,} sentences; the limit is {limit:,}, so upload a smaller sample.",
        limit=max_rows,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
