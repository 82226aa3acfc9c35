"""Fix the data, retrain, compare, promote: a run records what it was trained on (the file's hash and the label
corrections that made it), runs compare side by side, and a run made the default answers in its tab and after a
restart."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from finetune.checking import corrected
from finetune.compare import compare, run_record
from finetune.report import PREDICTIONS_FILE
from studio.runs import DEFAULTS_FILE
from tests.conftest import ROOT
from tests.test_runs import start

SAMPLE = ROOT / "assets" / "support_tickets.csv"
FASHION = ROOT / "assets" / "fashion_sample.zip"
# Three tickets with a wrong label each: row in the file, wrong label, right label.
FLIPS = {0: ("shipping", "billing"), 20: ("billing", "technical"), 40: ("billing", "shipping")}


def noisy_tickets(folder: Path) -> Path:
    rows = list(csv.reader(SAMPLE.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    for row, (wrong, right) in FLIPS.items():
        assert body[row][1] == right
        body[row][1] = wrong
    path = folder / "noisy_tickets.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *body])
    return path


def edits(rows: list[tuple[int, str, bool]]) -> pd.DataFrame:
    """A check's preview as a user leaves it: row, then the label to use and whether to drop (the columns between
    do not matter to the correction)."""
    return pd.DataFrame(
        [[row, "", "", "", "", "", use, drop] for row, use, drop in rows],
        columns=["row", "text", "label", "suggested", "confidence", "suspect", "use", "drop"],
    )


def test_corrections_of_a_table_are_applied_and_recorded(tmp_path):
    noisy = noisy_tickets(tmp_path)
    table = edits([(0, "billing", False), (20, "technical", False), (40, "", True), (5, "billing", False)])
    path, record = corrected(noisy, "label", table, tmp_path / "fixed.csv")
    fixed = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(fixed) == 44  # row 40 dropped
    assert fixed[0]["label"] == "billing" and fixed[20]["label"] == "technical"
    assert record["of"]["file"] == "noisy_tickets.csv" and len(record["of"]["sha256"]) == 64
    # Row 5 already said billing: not a change.
    assert record["changed"] == [
        {"row": 0, "from": "shipping", "to": "billing"},
        {"row": 20, "from": "billing", "to": "technical"},
    ]
    assert record["dropped"] == [40]


def test_corrections_of_a_picture_zip_make_a_zip_with_a_labels_table(tmp_path):
    from studio.files.pictures import read_images

    before = read_images(FASHION, training=False)
    relabelled = next(label for label in before.label_names if label != before.labels[3])
    path, record = corrected(FASHION, "", edits([(3, relabelled, False), (7, "", True)]), tmp_path / "fixed.zip")
    after = read_images(path, training=False)
    assert len(after.files) == len(before.files) - 1 and before.files[7] not in after.files
    assert after.labels[after.files.index(before.files[3])] == relabelled
    with zipfile.ZipFile(path) as archive:
        assert "labels.csv" in archive.namelist()
    assert record["changed"] == [{"row": 3, "from": before.labels[3], "to": relabelled}]


def test_a_row_that_is_not_in_the_file_is_refused(tmp_path):
    with pytest.raises(Exception, match="Row 99 is not in the file"):
        corrected(SAMPLE, "label", edits([(99, "billing", False)]), tmp_path / "x.csv")


@pytest.fixture(scope="module")
def loop(tiny_models, tmp_path_factory):
    """The app with two runs trained over HTTP: one on the noisy tickets, one on them as a check corrected them."""
    folder = tmp_path_factory.mktemp("loop")
    noisy = noisy_tickets(folder)
    demo, studio, url, client = start(folder, tiny_models)
    settings = dict(base_model="", epochs=2, learning_rate=0, batch_size=8, max_length=64, val_split=0.3, seed=1)
    first = client.predict(handle_file(str(noisy)), "text", "label", *settings.values(), None, api_name="/finetune")
    fixes = edits([(row, right, False) for row, (_, right) in FLIPS.items()])
    second = client.predict(
        handle_file(str(noisy)), "text", "label", *settings.values(), None,
        {"headers": list(fixes.columns), "data": fixes.values.tolist()},
        api_name="/finetune_corrected",
    )  # fmt: skip
    yield studio, client, folder, first[-2], second[-2]
    demo.close()


def test_a_run_records_its_data_and_every_validation_prediction(loop):
    studio, _, folder, original, fixed = loop
    runs = Path(studio.config.runs_dir)
    first, second = run_record(runs / original), run_record(runs / fixed)
    assert first.data.startswith("noisy_tickets.csv (") and first.corrections is None
    assert second.data.startswith("noisy_tickets-corrected.csv (")
    assert second.corrections["of"]["file"] == "noisy_tickets.csv"
    assert [change["to"] for change in second.corrections["changed"]] == ["billing", "technical", "shipping"]
    assert first.epochs_run == 2 and first.epochs_max == 2 and first.kept_epoch in (1, 2)
    assert first.headline[0] == "accuracy"
    metrics = json.loads((runs / original / "metrics.json").read_text())
    predictions = (runs / original / PREDICTIONS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(predictions) == metrics["metrics"]["validation_rows"] > 0
    assert set(json.loads(predictions[0])) == {"item", "true", "predicted"}


def test_a_finished_run_is_checked_again_from_its_own_copy_of_the_data(loop):
    import shutil

    from finetune.tab import checkable_run
    from studio.errors import UserError

    studio, _, _, _, fixed = loop
    run, config, data = checkable_run(studio, fixed)
    assert data == run / "training_data" / "data" / "noisy_tickets-corrected.csv"
    trained_on = pd.read_csv(data)
    assert len(trained_on) == 45 and [trained_on["label"][row] for row in FLIPS] == [r for _, r in FLIPS.values()]
    assert (config["task"], config["text_column"], config["label_column"]) == ("text", "text", "label")
    older = run.with_name("a-run-from-before-runs-kept-their-data")
    shutil.copytree(run, older, ignore=shutil.ignore_patterns("training_data"))
    try:
        with pytest.raises(UserError, match="keeps no copy of its data"):
            checkable_run(studio, older.name)
        metadata = json.loads((older / "metrics.json").read_text())
        (older / "metrics.json").write_text(json.dumps({**metadata, "optimised_from": fixed}))
        with pytest.raises(UserError, match="is a faster copy"):
            checkable_run(studio, older.name)
    finally:
        shutil.rmtree(older)
    with pytest.raises(UserError, match="There is no run named"):
        checkable_run(studio, "../../etc")


def test_compare_puts_runs_side_by_side(loop):
    studio, client, _, original, fixed = loop
    runs = Path(studio.config.runs_dir)
    comparison = compare([runs / original, runs / fixed])
    assert comparison.runs == [original, fixed]
    assert [row[0] for row in comparison.metrics][:3] == ["accuracy", "weighted F1", "macro F1"]
    assert {row[0] for row in comparison.per_label} == {"billing", "shipping", "technical"}
    assert comparison.compared_rows > 0  # the same seed splits both files alike, bar the corrected rows
    for row in comparison.changed:
        assert len(row) == 4 and row[2] != row[3]

    summary, scores, per_label, changed, pictures = client.predict(f"{original}, {fixed}", api_name="/compare_runs")
    assert "validation rows were seen by every run" in summary
    assert scores["headers"] == ["Metric", original, fixed]
    assert [row[0] for row in scores["data"]][0] == "accuracy"
    assert per_label["headers"][0] == "Label (F1)" and len(per_label["data"]) == 3
    assert changed["headers"][:2] == ["Validation row", "Label (last run's data)"]
    assert [picture["caption"] for picture in pictures] == [original, fixed]
    assert all(Path(picture["image"]).is_file() for picture in pictures)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ("", "Choose two or more runs to compare."),
        ("nope, other", "There is no run named 'nope'"),
    ],
)
def test_bad_compare_requests_get_a_clear_error(loop, runs, message):
    with pytest.raises(AppError, match=message):
        loop[1].predict(runs, api_name="/compare_runs")


def test_a_run_made_default_answers_in_its_tab_and_after_a_restart(loop, tiny_models):
    studio, client, folder, _, fixed = loop
    said, text_models, image_models, entity_models = client.predict(fixed, api_name="/make_default")
    assert said.startswith(f"**{fixed}** now answers by default in the Text classification tab")
    assert text_models["value"] == fixed
    # A request that names no model gets the run: its labels are the tickets' teams.
    answer = client.predict("I was charged twice this month", "", api_name="/classify_text")
    assert {score["label"] for score in answer["confidences"]} == {"billing", "shipping", "technical"}
    assert json.loads((Path(studio.config.runs_dir) / DEFAULTS_FILE).read_text()) == {"text_classification": fixed}

    from studio.config import load_config
    from studio.runtime import Studio

    again = Studio(load_config(folder / "models.toml"))
    again.add_runs()
    assert again.default("text_classification") == str(Path(studio.config.runs_dir) / fixed)


# ---- Label next: the texts a run is least sure of, labelled and added to the training file ----


def test_margin_ranks_a_coin_toss_first():
    from finetune.label_next import least_sure, margin

    assert margin({"a": 0.5, "b": 0.5}) == 0 and margin({"a": 0.9, "b": 0.1}) == pytest.approx(0.8)
    scores = {"sure": {"a": 0.95, "b": 0.05}, "toss": {"b": 0.51, "a": 0.49}, "mid": {"a": 0.7, "b": 0.3}}
    ranked = least_sure([4, 7, 9], list(scores), lambda texts: [scores[t] for t in texts], count=2)
    assert [(c.row, c.text, c.predicted) for c in ranked] == [(7, "toss", "b"), (9, "mid", "a")]


def test_labelled_rows_are_added_to_the_training_table(tmp_path):
    from finetune.label_next import add_labelled

    path = add_labelled(SAMPLE, "", "", [("Where is my refund?", "billing")], tmp_path / "plus.csv", 1000)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 46 and rows[-1] == {"text": "Where is my refund?", "label": "billing"}


def test_labelled_pictures_are_added_to_the_training_zip(tmp_path):
    from finetune.label_next import add_labelled_pictures, unlabelled_pictures
    from studio.files.pictures import read_images

    fashion = ROOT / "assets" / "fashion_sample.zip"
    training = read_images(fashion)
    names = unlabelled_pictures(fashion, 1000)
    assert names == sorted(training.files) and len(names) == 48
    # Two pictures labelled by hand: added under labelled-next/, so a name the training zip has too never clashes.
    labelled = [(names[0], "Bag"), (names[5], "Sneaker")]
    plus = add_labelled_pictures(fashion, fashion, labelled, tmp_path / "plus.zip", 1000)
    grown = read_images(plus)
    assert len(grown.files) == 50 and grown.files[:48] == training.files and grown.labels[:48] == training.labels
    assert dict(zip(grown.files[48:], grown.labels[48:])) == {
        f"labelled-next/{names[0]}": "Bag",
        f"labelled-next/{names[5]}": "Sneaker",
    }
    with zipfile.ZipFile(plus) as archive, zipfile.ZipFile(fashion) as source:
        assert archive.read(f"labelled-next/{names[5]}") == source.read(names[5])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a zip", "is not a zip archive"), (None, "holds no pictures")],
)
def test_a_zip_of_pictures_to_label_that_is_not_one_is_refused(tmp_path, content, message):
    from finetune.label_next import unlabelled_pictures
    from studio.errors import DataError

    path = tmp_path / "to_label.zip"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "no pictures here")
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        unlabelled_pictures(path, 1000)


def test_label_next_over_http_ranks_an_unlabelled_file_by_the_run(loop, tmp_path):
    _, client, _, _, fixed = loop
    unlabelled = tmp_path / "new_tickets.csv"
    texts = ["My card was declined", "The parcel is late", "The app crashes on start", "Hello", "Invoice missing"]
    unlabelled.write_text("text\n" + "\n".join(texts) + "\n", encoding="utf-8")
    table = client.predict(handle_file(str(unlabelled)), fixed, "", 5, api_name="/label_next")
    assert table["headers"] == ["Row", "Text", "The run's guess", "Margin", "Your label"]
    assert sorted(row[0] for row in table["data"]) == [0, 1, 2, 3, 4]
    margins = [row[3] for row in table["data"]]
    assert margins == sorted(margins) and all(0 <= m <= 1 for m in margins)
    assert {row[2] for row in table["data"]} <= {"billing", "shipping", "technical"}
    assert all(texts[row[0]] == row[1] and row[4] == "" for row in table["data"])
    with pytest.raises(AppError, match="There is no fine-tuned text classifier named 'nope'"):
        client.predict(handle_file(str(unlabelled)), "nope", api_name="/label_next")
