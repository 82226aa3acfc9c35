"""Texts with several labels: label cells split on ";" or JSON lists, or 0/1 columns; sigmoid outputs whose tuned
thresholds are folded into the saved model, so that the Text classification tab gives every label scored 0.5 or more."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from finetune.multilabel import is_multi_label, label_set, prepare_multi, split_multi
from tests.conftest import ROOT
from tests.test_finetune import run_cli

SAMPLE = ROOT / "assets" / "support_tickets.csv"


def test_label_cells_are_read_as_sets():
    assert label_set("sport; politics;sport") == ["sport", "politics"]
    assert label_set('["sport", "tech"]') == ["sport", "tech"]
    assert label_set(["a", "b"]) == ["a", "b"] and label_set("") == []
    assert is_multi_label(["a", "a;b"]) and not is_multi_label(["a", "b"]) and is_multi_label([], "a,b")


def test_indicator_columns_and_a_split_that_keeps_every_label_on_both_sides():
    table = pd.DataFrame({"text": [f"text {i}" for i in range(30)], "sport": [i % 2 for i in range(30)]})
    table["money"] = [int(i % 3 == 0) for i in range(30)]
    data = prepare_multi(table, "text", "sport,money")  # a row with neither label is dropped as unlabelled
    assert data.label_names == ["money", "sport"] and data.labels[:3] == ["money", "sport", "sport;money"]
    train, val = split_multi(data, 0.2, 0)
    for side in (train, val):
        assert {label for cell in side.labels for label in cell.split(";")} == {"money", "sport"}


def tickets_with_questions(folder: Path) -> Path:
    """The support tickets, labelled with their team and also "question" where they ask one; each statement is also
    asked again with a question after it, so that about half the texts have two labels."""
    asks = (" Can you help?", " Could you check?", " What should I do?")
    table = pd.read_csv(SAMPLE)
    rows = []
    for i, (text, label) in enumerate(zip(table.text, table.label)):
        rows.append((text, label + (";question" if "?" in text else "")))
        if "?" not in text:
            rows.append((text.rstrip(".") + "." + asks[i % len(asks)], label + ";question"))
    path = folder / "tickets_with_questions.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def multi_run(tiny_models, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("multi")
    table = pd.read_csv(SAMPLE)
    table["label"] = [label + (";question" if "?" in text else "") for text, label in zip(table.text, table.label)]
    table.to_csv(folder / "tickets.csv", index=False)
    done = run_cli(
        "--data", str(folder / "tickets.csv"), "--model", str(tiny_models["text_classification"]),
        "--output", str(folder / "run"), "--epochs", "2", "--batch-size", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "micro F1" in done.stdout
    return folder / "run"


def test_a_multi_label_run_reports_micro_and_macro_f1_subset_accuracy_and_thresholds(multi_run):
    metrics = json.loads((multi_run / "metrics.json").read_text())["metrics"]
    assert metrics["multi_label"] and metrics["labels"] == ["billing", "question", "shipping", "technical"]
    assert set(metrics) >= {"f1_micro", "f1_macro", "subset_accuracy", "per_class", "thresholds", "micro", "macro"}
    assert all(0.05 <= t <= 0.95 for t in metrics["thresholds"].values())
    config = json.loads((multi_run / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert "Subset accuracy" in (multi_run / "README.md").read_text()


def test_the_served_model_gives_the_labels_the_run_predicted(multi_run):
    from tasks import text_classification

    rows = [json.loads(line) for line in (multi_run / "predictions.jsonl").read_text().splitlines()]
    classifier = text_classification.load(str(multi_run), "cpu")
    answers = text_classification.predict(classifier, [row["item"] for row in rows])
    for row, answer in zip(rows, answers):
        given = {label for label, score in answer.items() if score >= 0.5}
        assert given == set(filter(None, row["predicted"].split(";")))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_batch_run_gives_each_text_its_labels_and_scores_them_as_sets(multi_run, config_file, tmp_path, suffix):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    from batch.evaluate import main
    from tasks import text_classification

    table = pd.read_csv(multi_run.parent / "tickets.csv")
    data = tmp_path / f"tickets{suffix}"
    if suffix == ".jsonl":  # label sets as JSON lists
        table.assign(label=[cell.split(";") for cell in table.label]).to_json(data, orient="records", lines=True)
    else:
        table.to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["--task", "text_classification", "--data", str(data), "--text-column", "text"]
    args += ["--reference-column", "label", "--model", str(multi_run), "--output", str(out), "--cpu"]
    assert main([*args, "--config", str(config_file)]) == 0

    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    classifier = text_classification.load(str(multi_run), "cpu")
    for predicted, answer in zip(results.prediction, text_classification.predict(classifier, list(results.text))):
        given = [label for label, score in answer.items() if score >= 0.5]
        assert (predicted.split(";") if predicted else []) == given
    truth = [cell.split(";") for cell in table.label]
    guessed = [cell.split(";") if cell else [] for cell in results.prediction]
    binarizer = MultiLabelBinarizer().fit(truth + guessed)
    y, p = binarizer.transform(truth), binarizer.transform(guessed)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["multi_label"] and report["scored_rows"] == len(table)
    assert report["f1_micro"] == pytest.approx(f1_score(y, p, average="micro", zero_division=0), abs=1e-4)
    assert report["f1_macro"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0), abs=1e-4)
    assert report["subset_accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-4)
    assert set(report["per_class"]) >= {"billing", "question", "shipping", "technical"}
    shown = (out / "report.md").read_text(encoding="utf-8")
    assert shown.startswith("**") and "**Micro F1" in shown and "| question |" in shown
    assert (out / "confusion_matrix.png").stat().st_size > 1000
