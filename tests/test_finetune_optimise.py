"""A run's faster CPU copy (ONNX Runtime, int8 weights): the CLI's JSON line, the labels it gives, loading it in its
tab and over HTTP, and the refusals (twice at once, kinds it cannot copy, a validation split that is gone)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from finetune.optimise import copy_path, optimise
from studio.errors import UserError
from tests.conftest import ROOT
from tests.test_finetune import run_cli, train_tiny_text_run

SAMPLE = ROOT / "assets" / "support_tickets.csv"
TEXTS = [
    "I was charged twice for my subscription this month.",
    "My parcel still has not arrived after two weeks.",
    "The app crashes every time I open the settings page.",
    "Please refund the extra payment on my card.",
    "The courier left the box at the wrong address.",
    "I cannot log in since the last update.",
]


@pytest.fixture(scope="module")
def tiny_run(tiny_models, tmp_path_factory) -> Path:
    """A finished text run of the tiny model on the support tickets, one epoch."""
    return train_tiny_text_run(tiny_models, tmp_path_factory.mktemp("optimise") / "runs" / "tickets")


@pytest.fixture(scope="module")
def tiny_copy(tiny_run) -> tuple[Path, dict]:
    """The copy, made from the command line as a user makes it; its one JSON line."""
    done = run_cli("optimise", str(tiny_run))
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return copy_path(tiny_run), json.loads(lines[0])


def test_the_cli_prints_one_json_line_and_writes_the_copy_beside_the_run(tiny_run, tiny_copy):
    copy, line = tiny_copy
    assert set(line) >= {"speedup", "accuracy_before", "accuracy_after", "model"}
    assert line["model"] == "tickets (int8)"
    assert copy == tiny_run.parent / "tickets-int8" and Path(line["path"]) == copy
    assert {p.name for p in copy.iterdir()} >= {"model.onnx", "config.json", "tokenizer.json", "metrics.json"}
    assert not (copy / "model.safetensors").exists(), "the copy holds the ONNX model, not the float weights again"
    saved = json.loads((copy / "metrics.json").read_text())
    assert saved["optimised_from"] == "tickets" and saved["label"] == "tickets (int8)"
    assert saved["measurement"]["speedup"] == line["speedup"] > 0
    assert saved["measurement"]["validation_rows"] == len((tiny_run / "validation.jsonl").read_text().splitlines())
    assert "texts/s" in (copy / "README.md").read_text()


def test_the_copy_gives_the_originals_labels_and_scores(tiny_run, tiny_copy):
    from tasks import text_classification

    copy, _ = tiny_copy
    original = text_classification.load(str(tiny_run), "cpu")
    faster = text_classification.load(str(copy), "cpu")
    before, after = text_classification.predict(original, TEXTS), text_classification.predict(faster, TEXTS)
    assert [set(row) for row in after] == [set(row) for row in before] == [{"billing", "shipping", "technical"}] * 6
    for b, a in zip(before, after):
        assert max(abs(b[label] - a[label]) for label in b) < 0.02, (b, a)
        assert next(iter(a)) == next(iter(b)), "the same top label for every test text"


def test_asking_again_gives_the_copy_made_before(tiny_run, tiny_copy):
    _, line = tiny_copy
    again = optimise(tiny_run)
    assert again["existing"] is True and again["speedup"] == line["speedup"]


def test_the_copy_is_offered_in_its_tab_after_a_restart(tiny_run, tiny_copy, tiny_models, tmp_path):
    from finetune.tab import register_runs
    from studio.config import load_config
    from studio.runtime import Studio
    from tasks import text_classification
    from tests.conftest import write_config

    copy, _ = tiny_copy
    studio = Studio(load_config(write_config(tmp_path / "models.toml", tiny_models, tiny_run.parent)))
    register_runs(studio)
    choices = studio.choices("text_classification")
    assert choices["tickets (int8)"] == str(copy) and choices["tickets"] == str(tiny_run)
    loaded, note = studio.load("text_classification", "tickets (int8)", text_classification.load)
    assert note == ""
    assert type(loaded.model.model).__name__ == "OnnxModel"
    assert set(loaded.model.batcher(TEXTS[0])) == {"billing", "shipping", "technical"}


def test_two_copies_of_one_run_are_not_made_at_once(tiny_run):
    variant_copy = copy_path(tiny_run, "onnx")
    shutil.rmtree(variant_copy, ignore_errors=True)
    measuring, release = threading.Event(), threading.Event()
    made: dict = {}

    def slow_report(line: str) -> None:
        if line.startswith("measuring"):
            measuring.set()
            release.wait(60)

    first = threading.Thread(target=lambda: made.update(optimise(tiny_run, "onnx", report=slow_report)))
    first.start()
    try:
        assert measuring.wait(120), "the first copy got as far as measuring"
        with pytest.raises(UserError, match="already being made"):
            optimise(tiny_run, "onnx", report=lambda line: None)
    finally:
        release.set()
        first.join(120)
    assert made["model"] == "tickets (ONNX)" and (variant_copy / "model.onnx").is_file()
    assert made["agreement"] == 1.0, "float32 ONNX gives the same labels as float32 PyTorch"


def test_what_cannot_be_copied_is_refused_in_one_sentence(tiny_run, tiny_copy, tmp_path):
    copy, _ = tiny_copy
    with pytest.raises(UserError, match="already a faster CPU copy"):
        optimise(copy)
    with pytest.raises(UserError, match="not a finished fine-tuning run"):
        optimise(tmp_path / "nothing-here")
    images = tmp_path / "clothes"
    shutil.copytree(tiny_run, images)
    metrics = json.loads((images / "metrics.json").read_text())
    (images / "metrics.json").write_text(json.dumps({**metrics, "task": "image"}))
    with pytest.raises(UserError, match="entity recognisers only, not yet of image classifiers"):
        optimise(images)
    gone = tmp_path / "gone"
    shutil.copytree(tiny_run, gone)
    (gone / "validation.jsonl").unlink()
    (gone / "metrics.json").write_text(json.dumps({**metrics, "config": {**metrics["config"], "data": "/no/t.csv"}}))
    with pytest.raises(UserError, match="data file /no/t.csv is gone"):
        optimise(gone)
    assert not copy_path(gone).exists()


def test_a_run_without_its_saved_split_is_measured_on_its_data_split_again(tiny_run, tmp_path):
    from finetune.optimise import validation_split

    older = tmp_path / "older"
    shutil.copytree(tiny_run, older)
    (older / "validation.jsonl").unlink()  # as runs from before it was saved
    result = json.loads((older / "metrics.json").read_text())
    assert validation_split(older, result) == validation_split(tiny_run, result)


def test_the_app_makes_the_copy_and_serves_it_over_http(client, live_app, tiny_run):
    _, studio = live_app
    runs = Path(studio.config.runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tiny_run, runs / "http-tickets")
    table, name, _text_models, _entity_models = client.predict("http-tickets", api_name="/optimise_run")
    assert name == "http-tickets (int8)"
    assert "texts/s" in table and "× the throughput" in table
    result = client.predict(TEXTS[1], name, api_name="/classify_text")
    assert {c["label"] for c in result["confidences"]} == {"billing", "shipping", "technical"}
    with pytest.raises(Exception, match="There is no finished run named"):
        client.predict("../../etc", api_name="/optimise_run")


def test_a_real_minilm_run_keeps_its_labels_and_accuracy(tmp_path):
    """MiniLM-L6 (offline pack) trained for a few steps on BBC News: the copy agrees with it and is faster."""
    from finetune.news_sample import bbc_news, write_csv
    from studio import pack

    if not pack.is_installed("minilm-l6"):
        pytest.skip("the offline pack's MiniLM-L6 is not installed")
    try:
        rows = bbc_news(per_topic=24, seed=3, max_chars=400)
    except UserError as e:
        pytest.skip(str(e))
    data = write_csv(tmp_path / "news.csv", rows)
    output = tmp_path / "runs" / "news"
    done = run_cli(
        "--data", str(data), "--model", "pack:minilm-l6", "--output", str(output), "--epochs", "1",
        "--batch-size", "16", "--max-length", "96", "--val-split", "0.25",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    measured = optimise(output, report=lambda line: None)
    assert measured["validation_rows"] == 30
    assert measured["agreement"] >= 0.9, measured
    assert abs(measured["accuracy_after"] - measured["accuracy_before"]) <= 0.1, measured
    assert measured["speedup"] > 1.0, measured


@pytest.fixture(scope="module")
def entity_run(tmp_path_factory) -> Path:
    """A finished entity run of the tiny tagger on the sample tickets, one epoch."""
    from tests.tiny_models import build_token_classifier

    root = tmp_path_factory.mktemp("optimise-entities")
    tagger = build_token_classifier(root / "tagger")
    output = root / "runs" / "ticket-entities"
    done = run_cli(
        "--task", "entities", "--data", str(ROOT / "assets" / "ticket_entities.conll"), "--model", str(tagger),
        "--output", str(output), "--epochs", "1", "--max-length", "64", "--batch-size", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return output


def test_an_entity_run_gets_a_copy_that_tags_as_it_does(entity_run, tiny_models, tmp_path):
    from finetune.tab import register_runs
    from studio.config import load_config
    from studio.runtime import Studio
    from tasks import ner
    from tests.conftest import write_config

    measured = optimise(entity_run, report=lambda line: None)
    assert measured["metric"] == "entity F1" and measured["model"] == "ticket-entities (int8)"
    assert set(measured) >= {"f1_before", "f1_after", "accuracy_before", "accuracy_after", "speedup"}
    assert measured["validation_rows"] == len((entity_run / "validation.jsonl").read_text().splitlines())
    assert measured["agreement"] >= 0.95, measured  # of the validation words' tags
    assert abs(measured["f1_after"] - measured["f1_before"]) <= 0.05, measured

    copy = copy_path(entity_run)
    original, faster = ner.load(str(entity_run), "cpu"), ner.load(str(copy), "cpu")
    assert type(faster.model).__name__ == "OnnxModel"
    text = "My Pixel 7 from order 48213 never reached Leeds"
    spans = [[(e["entity_group"], e["start"], e["end"]) for e in ner.predict(m, [text])[0]] for m in (original, faster)]
    assert spans[0] == spans[1]

    studio = Studio(load_config(write_config(tmp_path / "models.toml", tiny_models, entity_run.parent)))
    register_runs(studio)
    assert studio.choices("ner")["ticket-entities (int8)"] == str(copy)
